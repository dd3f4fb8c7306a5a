package localalb

import (
	"encoding/base64"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// albEvent builds the event the ALB sends to tg's Lambda target for req,
// whose body has been read. With multi-value headers enabled on the target
// group, headers and query parameters go in the multi-value maps with every
// value; otherwise in the single-value maps with the last value of each.
// Header names are lower-cased; query keys and values are passed as
// received, not decoded, as the ALB passes them.
func albEvent(req *request, tg *targetGroup, body []byte) events.ALBTargetGroupRequest {
	ev := events.ALBTargetGroupRequest{
		HTTPMethod:     req.r.Method,
		Path:           req.rawPath,
		RequestContext: events.ALBTargetGroupRequestContext{ELB: events.ELBContext{TargetGroupArn: tg.arn}},
	}
	headers, query := eventHeaders(req), rawQueryValues(req.rawQuery)
	if tg.multiValue {
		ev.MultiValueHeaders, ev.MultiValueQueryStringParameters = headers, query
	} else {
		ev.Headers, ev.QueryStringParameters = lastValues(headers), lastValues(query)
	}
	ev.Body, ev.IsBase64Encoded = eventBody(req.r.Header, body)

	return ev
}

// eventHeaders are the request's headers, names lower-cased, with the
// headers the ALB sets: host (the evaluated host), x-forwarded-for (the
// client's address appended), x-forwarded-proto and x-forwarded-port (the
// evaluated listener's), x-amzn-trace-id.
func eventHeaders(req *request) map[string][]string {
	h := make(map[string][]string, len(req.r.Header)+5)
	for k, vs := range req.r.Header {
		lk := strings.ToLower(k)
		h[lk] = append(h[lk], vs...)
	}
	h["host"] = []string{req.host}
	h["x-forwarded-for"] = []string{req.forwardedFor()}
	h["x-forwarded-proto"] = []string{req.scheme()}
	h["x-forwarded-port"] = []string{req.forwardedPort()}
	h["x-amzn-trace-id"] = []string{req.traceID()}

	return h
}

// rawQueryValues splits a raw query into its parameters, in order, keys and
// values left encoded ("a" alone is a key with an empty value).
func rawQueryValues(raw string) map[string][]string {
	q := map[string][]string{}
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		q[k] = append(q[k], v)
	}

	return q
}

func lastValues(m map[string][]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, vs := range m {
		if len(vs) > 0 {
			out[k] = vs[len(vs)-1]
		}
	}

	return out
}

// eventBody is the body as the ALB passes it: as text when the content type
// is text/*, application/json, application/javascript or application/xml
// (and the body is not content-encoded, and is valid UTF-8), otherwise
// base64-encoded with isBase64Encoded set. An empty body is "".
func eventBody(h http.Header, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	if isTextContent(h) && utf8.Valid(body) {
		return string(body), false
	}

	return base64.StdEncoding.EncodeToString(body), true
}

func isTextContent(h http.Header) bool {
	if enc := h.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return false
	}
	ct := h.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(ct)), ";")
	}
	switch {
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/json", mt == "application/javascript", mt == "application/xml":
		return true
	default:
		return false
	}
}
