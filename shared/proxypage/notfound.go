// Package proxypage renders the pages the proxy-manager function answers ALB
// requests with.
package proxypage

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

var notFoundPage = template.Must(template.New("notfound").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>No AutoStopping rule for {{.Host}}</title></head>
<body><h1>No AutoStopping rule for {{.Host}}</h1>
<p>This load balancer is managed by autostop, but no rule routes the host <code>{{.Host}}</code> yet.</p>
</body></html>
`))

// NotFound answers a request for a host that has no AutoStopping rule with a
// 404 HTML page naming the host (escaped: the Host header is client input).
func NotFound(req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	host := headerValue(req, "host")
	if host == "" {
		host = "(no Host header)"
	}

	var body strings.Builder
	_ = notFoundPage.Execute(&body, struct{ Host string }{host})

	resp := events.ALBTargetGroupResponse{
		StatusCode:        http.StatusNotFound,
		StatusDescription: "404 Not Found",
		Body:              body.String(),
	}
	headers := map[string]string{"content-type": "text/html; charset=utf-8", "cache-control": "no-store"}
	// The ALB reads multi-value headers when the target group enables them,
	// and then ignores the single-value map.
	if req.MultiValueHeaders != nil {
		resp.MultiValueHeaders = map[string][]string{}
		for k, v := range headers {
			resp.MultiValueHeaders[k] = []string{v}
		}
	} else {
		resp.Headers = headers
	}

	return resp
}

// headerValue reads a request header from whichever map the ALB filled.
// ALB lower-cases header names.
func headerValue(req events.ALBTargetGroupRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	if vs := req.MultiValueHeaders[name]; len(vs) > 0 {
		return vs[len(vs)-1]
	}

	return ""
}
