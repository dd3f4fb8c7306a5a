package proxypage

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// UnavailableBody is the JSON body of Unavailable and TooBusy, for clients
// that prefer JSON (see Unavailable).
type UnavailableBody struct {
	// Error says what happened and what to do, in a sentence.
	Error             string `json:"error"`
	Rule              string `json:"rule"`
	Phase             Phase  `json:"phase"`
	RetryAfterSeconds int    `json:"retryAfterSeconds"`
}

// Unavailable answers an API request (KindAPI) that was held while its rule
// woke and is still not served when the hold ends, or that came in after the
// wake failed: 503 with Retry-After, X-Autostop ("unavailable; phase=…") and
// a short body, never HTML. The body is an UnavailableBody as JSON when the
// client prefers JSON (Accept names application/json or a +json type at
// least as high as text/plain, or the request was JSON and Accept names no
// text type), else the same message as text/plain.
func Unavailable(req events.ALBTargetGroupRequest, w Wake) events.ALBTargetGroupResponse {
	var msg string
	if w.Phase.normal() == PhaseFailed {
		msg = "waking the app behind rule " + strconv.Quote(w.Rule) + " failed: " + w.errorText() +
			"; the next request retries"
	} else {
		msg = "the app behind rule " + strconv.Quote(w.Rule) + " is waking up (" + phaseText(w.Phase) +
			"); retry after " + w.retryAfter() + " seconds"
	}

	return unavailable(req, w, "unavailable", msg)
}

// TooBusy answers at once, without holding it, an API request that comes
// while its rule already holds as many requests as it may: 503 as
// Unavailable, with X-Autostop "too-busy; phase=…" and a message saying so.
func TooBusy(req events.ALBTargetGroupRequest, w Wake) events.ALBTargetGroupResponse {
	msg := "too many requests are waiting for the app behind rule " + strconv.Quote(w.Rule) +
		" to wake up; retry after " + w.retryAfter() + " seconds"

	return unavailable(req, w, "too-busy", msg)
}

// unavailable writes a 503 with msg in the body shape the client prefers.
func unavailable(req events.ALBTargetGroupRequest, w Wake, answer, msg string) events.ALBTargetGroupResponse {
	contentType, body := textOrJSON(req, msg, UnavailableBody{
		Error: msg, Rule: w.Rule, Phase: w.Phase.normal(), RetryAfterSeconds: w.retryAfterSeconds(),
	})
	if req.HTTPMethod == http.MethodHead {
		body = ""
	}

	return respond(req, http.StatusServiceUnavailable, body,
		header{hContentType, contentType},
		header{hRetryAfter, w.retryAfter()},
		header{hAutostop, w.autostopValue(answer)},
	)
}

// phaseText is the phase's label in lower case, for a sentence.
func phaseText(p Phase) string {
	l := p.Label()

	return strings.ToLower(l[:1]) + l[1:]
}

// textOrJSON is the body of an answer to a client that is not a browser:
// doc as JSON when the client prefers JSON (see Unavailable), else msg as
// text/plain. doc holds strings and numbers only, so encoding cannot fail.
func textOrJSON(req events.ALBTargetGroupRequest, msg string, doc any) (contentType, body string) {
	if !prefersJSON(headerList(req, "accept"), headerValue(req, "content-type")) {
		return ctText, msg + "\n"
	}
	b, _ := json.Marshal(doc)

	return ctJSON, string(b)
}
