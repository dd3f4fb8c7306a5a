package validate

import (
	"encoding/json"

	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// DecodeInput decodes the step's input document. The request under "spec"
// is decoded strictly (spec.Parse: an unknown field, such as a misspelt
// one, is an InvalidRequest, not silently ignored); the rest of the
// document is the state machine's own and decoded as step.Input.
//
// The Lambda runtime's decoder would ignore unknown fields, and its own
// strict mode would fail before the handler runs, with an error name the
// state machine cannot route; so the function takes the raw document.
func DecodeInput(raw json.RawMessage) (step.Input, error) {
	var in step.Input
	if err := json.Unmarshal(raw, &in); err != nil {
		return step.Input{}, steperr.Invalid("decode step input: %v", err)
	}
	var doc struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Spec) == 0 || string(doc.Spec) == "null" {
		return step.Input{}, steperr.Invalid("decode step input: no load balancer spec under \"spec\"")
	}
	s, err := spec.Parse(doc.Spec)
	if err != nil {
		return step.Input{}, steperr.Invalid("%v", err)
	}
	in.Spec = s

	return in, nil
}
