package proxypage

import (
	"strconv"
	"strings"
)

// mediaRange is one element of an Accept header (RFC 9110 §12.5.1).
type mediaRange struct {
	// typ is "type/subtype" as sent, trimmed; compare it case-insensitively.
	typ string
	// q is the weight, 0 to 1 (1 when absent).
	q float64
}

// nextMediaRange parses the first element of an Accept header value and
// returns it and the rest of the value. ok is false for an element to skip:
// an empty one (",,"), or one whose q is not a number from 0 to 1. Commas and
// semicolons inside quoted parameter values do not split.
func nextMediaRange(s string) (r mediaRange, rest string, ok bool) {
	elem, rest := cutUnquoted(s, ',')
	typ, params := cutUnquoted(elem, ';')
	r = mediaRange{typ: strings.TrimSpace(typ), q: 1}
	if r.typ == "" {
		return r, rest, false
	}
	for params != "" {
		var p string
		p, params = cutUnquoted(params, ';')
		name, value, found := strings.Cut(p, "=")
		if !found || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return r, rest, false
		}
		r.q = q
		// The accept-ext parameters after q do not change the weight.
		break
	}

	return r, rest, true
}

// cutUnquoted cuts s around the first sep outside a quoted string.
func cutUnquoted(s string, sep byte) (before, after string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			return s[:i], s[i+1:]
		}
	}

	return s, ""
}

// acceptsHTML tells whether an Accept header names text/html with a weight
// above 0. Wildcards do not count: curl and most API clients send */*, and
// they must not get a page. When text/html comes several times (e.g. with
// and without a level parameter) the highest weight counts.
func acceptsHTML(accept string) bool {
	best := -1.0
	for s := accept; s != ""; {
		r, rest, ok := nextMediaRange(s)
		s = rest
		if ok && strings.EqualFold(r.typ, "text/html") {
			best = max(best, r.q)
		}
	}

	return best > 0
}

// prefersJSON tells whether a held API request should get its error as
// JSON rather than text/plain: when its Accept header names JSON
// (application/json, or a +json type such as application/problem+json)
// with a weight above 0 and at least that of text/plain (from text/plain,
// else text/*, else */*); or, when Accept names no JSON type, when the
// request itself was JSON (Content-Type) and Accept names no text type.
// So curl's */* gets text, unless curl sent JSON.
func prefersJSON(accept, contentType string) bool {
	jsonQ, plainQ, textQ, anyQ := -1.0, -1.0, -1.0, -1.0
	for s := accept; s != ""; {
		r, rest, ok := nextMediaRange(s)
		s = rest
		if !ok {
			continue
		}
		switch {
		case isJSONType(r.typ):
			jsonQ = max(jsonQ, r.q)
		case strings.EqualFold(r.typ, "text/plain"):
			plainQ = max(plainQ, r.q)
		case strings.EqualFold(r.typ, "text/*"):
			textQ = max(textQ, r.q)
		case r.typ == "*/*":
			anyQ = max(anyQ, r.q)
		}
	}
	if jsonQ >= 0 {
		// The most specific range matching text/plain gives its weight.
		for _, q := range []float64{plainQ, textQ, anyQ} {
			if q >= 0 {
				return jsonQ > 0 && jsonQ >= q
			}
		}

		return jsonQ > 0
	}
	mediaType, _, _ := strings.Cut(contentType, ";")

	return plainQ < 0 && textQ < 0 && isJSONType(strings.TrimSpace(mediaType))
}

// isJSONType tells whether a media type is JSON: application/json or
// application/<anything>+json.
func isJSONType(typ string) bool {
	if len(typ) < len("application/json") || !strings.EqualFold(typ[:len("application/")], "application/") {
		return false
	}
	sub := typ[len("application/"):]

	return strings.EqualFold(sub, "json") ||
		(len(sub) > len("+json") && strings.EqualFold(sub[len(sub)-len("+json"):], "+json"))
}
