package proxypage

import (
	"html"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// NotFound answers a request for a host that has no AutoStopping rule (or
// whose rule is being removed): 404 with X-Autostop "not-found", naming the
// host (escaped: the Host header is client input). Browsers get a short
// HTML page; every other client a JSON or text/plain body, as Unavailable
// chooses — never HTML.
func NotFound(req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	host := headerValue(req, "host")
	if host == "" {
		host = "(no Host header)"
	}
	msg := "no AutoStopping rule for host " + host

	if Classify(req) != KindBrowser {
		contentType, body := textOrJSON(req, msg, struct {
			Error string `json:"error"`
			Host  string `json:"host"`
		}{msg, host})
		return respond(req, http.StatusNotFound, body, header{hContentType, contentType}, header{hAutostop, "not-found"})
	}

	h := html.EscapeString(host)
	body := `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>No AutoStopping rule for ` + h + `</title></head>
<body><h1>No AutoStopping rule for ` + h + `</h1>
<p>This load balancer is managed by autostop, but no rule routes the host <code>` + h + `</code> yet.</p>
</body></html>
`

	return respond(req, http.StatusNotFound, body, header{hContentType, ctHTML}, header{hAutostop, "not-found"})
}
