// Package proxypage builds the answers the proxy-manager function gives ALB
// requests: the 404 page for hosts without a rule, and, while a rule wakes,
// the self-reloading progress page for browsers, the poll answer that page
// reads, and the 503 and 307 answers for held API requests.
//
// Every answer is an events.ALBTargetGroupResponse with Cache-Control:
// no-store and an X-Autostop header saying what answered; its headers go in
// MultiValueHeaders when the request came with MultiValueHeaders (the target
// group enables them), else in Headers.
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

	return respond(req, http.StatusNotFound, body.String(),
		header{hContentType, ctHTML},
		header{hAutostop, "not-found"},
	)
}
