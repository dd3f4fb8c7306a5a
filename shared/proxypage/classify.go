package proxypage

import (
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// HeaderPoll marks the progress page's own polls: it fetches its URL every
// PollInterval with this header set to "1".
const HeaderPoll = "X-Autostop-Poll"

// Kind is what kind of client sent a request, which decides how the proxy
// answers it while a rule wakes (DESIGN.md, "Proxy decision table").
type Kind int

const (
	// KindAPI is any request that is neither KindBrowser nor KindPoll: it is
	// held while the rule wakes, then answered with Redirect or Unavailable
	// (TooBusy when the rule holds too many already).
	KindAPI Kind = iota
	// KindBrowser is a browser navigating: GET or HEAD with an Accept header
	// naming text/html with a weight above 0. It gets the Progress page at
	// once.
	KindBrowser
	// KindPoll is the progress page polling (IsPoll). It gets Poll at once:
	// never hold it, never answer it with a page.
	KindPoll
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case KindBrowser:
		return "browser"
	case KindPoll:
		return "poll"
	}

	return "api"
}

// Classify tells which kind of client sent req. Only an explicit text/html
// counts: wildcards (curl's */*, fetch's default) classify as KindAPI, and so
// does any method other than GET and HEAD, whatever its Accept says, since a
// page cannot repeat a POST's body.
func Classify(req events.ALBTargetGroupRequest) Kind {
	switch {
	case IsPoll(req):
		return KindPoll
	case isGetOrHead(req.HTTPMethod) && acceptsHTML(headerList(req, "accept")):
		return KindBrowser
	}

	return KindAPI
}

// IsPoll tells whether req is the progress page polling: a GET or HEAD
// carrying X-Autostop-Poll: 1. Answer it with Poll.
func IsPoll(req events.ALBTargetGroupRequest) bool {
	return isGetOrHead(req.HTTPMethod) && headerValue(req, "x-autostop-poll") == "1"
}

func isGetOrHead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}
