package proxypage

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// HeaderAutostop names every answer of this package: its value says what
// answered and, during a wake, in which phase (e.g. "progress; phase=starting").
// An answer without it came from the app, not from the proxy.
const HeaderAutostop = "X-Autostop"

// Response header names as the answers write them. The ALB sends them on
// as they are; HTTP header names are case-insensitive.
const (
	hAutostop    = "x-autostop"
	hCache       = "cache-control"
	hContentType = "content-type"
	hRetryAfter  = "retry-after"
	hLocation    = "location"
	hCSP         = "content-security-policy"
	hNoSniff     = "x-content-type-options"
)

// Content types of the answers.
const (
	ctHTML = "text/html; charset=utf-8"
	ctJSON = "application/json"
	ctText = "text/plain; charset=utf-8"
)

// header is one response header.
type header struct{ name, value string }

// respond builds an ALB answer carrying Cache-Control: no-store, nosniff and
// hs. The ALB reads multi-value headers when the target group enables them
// (it then sends the request's headers in MultiValueHeaders) and ignores the
// single-value map, so the answer fills the map the request came with.
func respond(req events.ALBTargetGroupRequest, status int, body string, hs ...header) events.ALBTargetGroupResponse {
	resp := events.ALBTargetGroupResponse{
		StatusCode:        status,
		StatusDescription: statusDescription(status),
		Body:              body,
	}
	if req.MultiValueHeaders != nil {
		// One backing array for every value keeps this to two allocations.
		values := make([]string, len(hs)+2)
		resp.MultiValueHeaders = make(map[string][]string, len(hs)+2)
		put := func(i int, name, value string) {
			values[i] = value
			resp.MultiValueHeaders[name] = values[i : i+1 : i+1]
		}
		put(0, hCache, "no-store")
		put(1, hNoSniff, "nosniff")
		for i, h := range hs {
			put(i+2, h.name, h.value)
		}

		return resp
	}
	resp.Headers = make(map[string]string, len(hs)+2)
	resp.Headers[hCache] = "no-store"
	resp.Headers[hNoSniff] = "nosniff"
	for _, h := range hs {
		resp.Headers[h.name] = h.value
	}

	return resp
}

// statusDescription is the ALB's status line text, e.g. "503 Service Unavailable".
func statusDescription(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "503 Service Unavailable"
	case http.StatusTemporaryRedirect:
		return "307 Temporary Redirect"
	case http.StatusNotFound:
		return "404 Not Found"
	}

	return strconv.Itoa(status) + " " + http.StatusText(status)
}

// headerValue reads a request header from whichever map the ALB filled: the
// last value when the header came several times. ALB lower-cases header
// names; other senders (tests, a local front) may not, so a miss falls back
// to a case-insensitive look-up.
func headerValue(req events.ALBTargetGroupRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	if vs := headerValues(req, name); len(vs) > 0 {
		return vs[len(vs)-1]
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}

	return ""
}

// headerList reads a list-valued request header (e.g. Accept): every value
// the client sent, joined with commas as RFC 9110 allows.
func headerList(req events.ALBTargetGroupRequest, name string) string {
	if req.Headers == nil {
		if vs := headerValues(req, name); len(vs) > 1 {
			return strings.Join(vs, ",")
		}
	}

	return headerValue(req, name)
}

// headerValues reads a header from MultiValueHeaders (nil when absent).
func headerValues(req events.ALBTargetGroupRequest, name string) []string {
	if vs, ok := req.MultiValueHeaders[name]; ok {
		return vs
	}
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, name) {
			return vs
		}
	}

	return nil
}
