package proxypage

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Redirect answers a held API request once its rule's traffic has been
// switched back to the instances: 307 Temporary Redirect to the same path and
// query (RequestURI), so the client repeats the method and the body, and the
// ALB now sends the repeat to the app.
func Redirect(req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	loc := RequestURI(req)
	body := "the app is ready: repeat the request at " + loc + "\n"
	if req.HTTPMethod == http.MethodHead {
		body = ""
	}

	return respond(req, http.StatusTemporaryRedirect, body,
		header{hLocation, loc},
		header{hContentType, ctText},
		header{hAutostop, "redirect"},
	)
}

// RequestURI rebuilds the path and query the client asked for from an ALB
// request, as a relative reference for a Location header.
//
// The ALB passes the path and the query parameters as the client sent them,
// without decoding them (AWS documents it for the query); so this keeps each
// %XX escape as it is and percent-encodes only the bytes that may not appear
// raw (a space, a non-ASCII byte, a stray %, a # …), never encoding twice.
// Query parameters come from MultiValueQueryStringParameters when the target
// group sends them, else from QueryStringParameters, sorted by name (the
// ALB's maps lose the client's order; values of one name keep theirs); a
// name sent without "=" comes back as "name=". A path starting with "//"
// gets a "/." prefix, so the Location cannot name another host.
func RequestURI(req events.ALBTargetGroupRequest) string {
	var b strings.Builder
	b.Grow(len(req.Path) + 64)
	path := req.Path
	switch {
	case path == "":
		path = "/"
	case strings.HasPrefix(path, "//"):
		b.WriteString("/.")
	case path[0] != '/':
		b.WriteByte('/')
	}
	writeEscaped(&b, path, pathByte)

	sep := byte('?')
	param := func(k, v string) {
		b.WriteByte(sep)
		sep = '&'
		writeEscaped(&b, k, queryKeyByte)
		b.WriteByte('=')
		writeEscaped(&b, v, queryValueByte)
	}
	if len(req.MultiValueQueryStringParameters) > 0 {
		for _, k := range slices.Sorted(maps.Keys(req.MultiValueQueryStringParameters)) {
			for _, v := range req.MultiValueQueryStringParameters[k] {
				param(k, v)
			}
		}
	} else if len(req.QueryStringParameters) > 0 {
		for _, k := range slices.Sorted(maps.Keys(req.QueryStringParameters)) {
			param(k, req.QueryStringParameters[k])
		}
	}

	return b.String()
}

// writeEscaped writes s, percent-encoding every byte ok refuses, except a %
// that starts a valid %XX escape, which stays.
func writeEscaped(b *strings.Builder, s string, ok func(byte) bool) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		case c != '%' && ok(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unreserved and sub-delimiter bytes of RFC 3986 (§2.3, §2.2).
func unreservedOrSubDelim(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}

	return strings.IndexByte("-._~!$&'()*+,;=", c) >= 0
}

// pathByte: pchar and "/" (RFC 3986 §3.3).
func pathByte(c byte) bool {
	return unreservedOrSubDelim(c) || c == ':' || c == '@' || c == '/'
}

// queryValueByte: query bytes (RFC 3986 §3.4) but "&", which would split
// the value. A "+" stays as sent: it may mean a space to the app.
func queryValueByte(c byte) bool {
	return c != '&' && (pathByte(c) || c == '?')
}

// queryKeyByte: queryValueByte but "=", which would end the name.
func queryKeyByte(c byte) bool {
	return c != '=' && queryValueByte(c)
}
