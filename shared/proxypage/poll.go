package proxypage

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// PollStatus is the JSON body of Poll, read by the progress page.
type PollStatus struct {
	Rule           string `json:"rule"`
	Phase          Phase  `json:"phase"`
	ElapsedSeconds int    `json:"elapsedSeconds"`
	// Error is Wake.Error for PhaseFailed, else empty.
	Error string `json:"error"`
}

// Poll answers the progress page's poll (IsPoll) at once: 503 with
// X-Autostop ("poll; phase=…"), Retry-After and a PollStatus as JSON. The page
// updates the phase and error it shows from it; it reloads itself when a
// poll's answer is not a 503 or has no X-Autostop, i.e. once the app
// answers.
func Poll(req events.ALBTargetGroupRequest, w Wake) events.ALBTargetGroupResponse {
	st := PollStatus{Rule: w.Rule, Phase: w.Phase.normal(), ElapsedSeconds: w.elapsedSeconds()}
	if st.Phase == PhaseFailed {
		st.Error = w.errorText()
	}
	body, _ := json.Marshal(st) // cannot fail: strings and an int

	return respond(req, http.StatusServiceUnavailable, string(body),
		header{hContentType, ctJSON},
		header{hRetryAfter, w.retryAfter()},
		header{hAutostop, w.autostopValue("poll")},
	)
}
