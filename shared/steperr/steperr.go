// Package steperr defines the errors a workflow step fails with. Step
// Functions routes on the error's name: aws-lambda-go reports the returned
// error's type name as errorType, which becomes the Task's Error. So each
// routable failure is its own type here, and every function maps its error
// once, at the handler boundary, with Map.
//
// Names used by the state machine's Retry and Catch must be one of Names.
package steperr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// InvalidRequest: the request cannot be provisioned as given (bad syntax, a
// resource that does not exist or does not fit). Not retried.
type InvalidRequest struct{ Message string }

// Conflict: something exists that autostop does not own and will not change
// (an ALB of the same name, a foreign DNS record). Not retried.
type Conflict struct{ Message string }

// NotFound: a resource the step needs is missing.
type NotFound struct{ Message string }

// Throttled: AWS asked us to slow down. Retried with backoff.
type Throttled struct{ Message string }

// AccessDenied: the function's role may not make a call. Not retried.
type AccessDenied struct{ Message string }

// RollbackIncomplete: the rollback could not delete everything this
// execution created; the message lists what is left and the original error.
type RollbackIncomplete struct{ Message string }

// DeletionIncomplete: a load balancer's deletion could not delete
// everything autostop created for it; the message lists what is left and
// why. Running the deletion again finishes the job.
type DeletionIncomplete struct{ Message string }

// CheckFailed: new code failed the check it must pass before it serves
// (the proxy's new version answered its test invocation with a function
// error or a 5xx). Not retried: the update stops, the alias stays (or is
// put back).
type CheckFailed struct{ Message string }

// NotReady: a workload did not become ready within its bound (instances
// not running, targets not healthy). Not retried: the wake ends and the
// next request starts another.
type NotReady struct{ Message string }

// NotStopped: a rule's instances did not stop within the sleep's bound (or
// one stayed pending through every try to stop it). Not retried: the sleep
// ends with the rule stopped (its host rule is gone) and the reason as its
// last error; the next request wakes it as usual.
type NotStopped struct{ Message string }

// NotPropagated: what this execution just created or changed is not
// visible to another service yet (AWS is eventually consistent: a new
// certificate for Elastic Load Balancing, a new invoke permission for a
// Lambda target). Retried by the state machine for minutes.
type NotPropagated struct{ Message string }

// Internal: anything else (an unexpected AWS error, a bug). Retried a few
// times: most are transient.
type Internal struct{ Message string }

// StillInUse: a delete has to wait because AWS still holds the resource
// (a security group the deleted ALB's network interfaces still use, a
// certificate a listener released moments ago). Kind and ID name the
// resource. The rollback reports it as waiting and the state machine tries
// again after a Wait; it never reaches Step Functions as an error name.
type StillInUse struct {
	Kind, ID string
	Message  string
}

func (e *StillInUse) Error() string { return e.Message }

// InUse returns a StillInUse for the resource kind/id.
func InUse(kind, id, format string, a ...any) error {
	return &StillInUse{Kind: kind, ID: id, Message: sprintf(format, a...)}
}

// SplitInUse walks err (joined errors included) and separates the
// StillInUse errors from the rest; rest is nil when every error waits.
func SplitInUse(err error) (inUse []*StillInUse, rest error) {
	if err == nil {
		return nil, nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var others []error
		for _, e := range joined.Unwrap() {
			in, r := SplitInUse(e)
			inUse = append(inUse, in...)
			if r != nil {
				others = append(others, r)
			}
		}

		return inUse, errors.Join(others...)
	}
	var siu *StillInUse
	if errors.As(err, &siu) {
		return []*StillInUse{siu}, nil
	}

	return nil, err
}

func (e *InvalidRequest) Error() string { return e.Message }
func (e *Conflict) Error() string       { return e.Message }
func (e *NotFound) Error() string       { return e.Message }
func (e *Throttled) Error() string      { return e.Message }
func (e *AccessDenied) Error() string   { return e.Message }
func (e *Internal) Error() string       { return e.Message }
func (e *NotReady) Error() string       { return e.Message }
func (e *NotStopped) Error() string     { return e.Message }
func (e *NotPropagated) Error() string  { return e.Message }

func (e *RollbackIncomplete) Error() string { return e.Message }
func (e *DeletionIncomplete) Error() string { return e.Message }
func (e *CheckFailed) Error() string        { return e.Message }

// Names lists every error name a step can fail with.
var Names = []string{"InvalidRequest", "Conflict", "NotFound", "Throttled", "AccessDenied", "Internal", "RollbackIncomplete", "DeletionIncomplete", "CheckFailed", "NotReady", "NotStopped", "NotPropagated"}

// Invalid returns an InvalidRequest error.
func Invalid(format string, a ...any) error { return &InvalidRequest{Message: sprintf(format, a...)} }

// Conflicting returns a Conflict error.
func Conflicting(format string, a ...any) error { return &Conflict{Message: sprintf(format, a...)} }

// NotReadyYet returns a NotReady error.
func NotReadyYet(format string, a ...any) error { return &NotReady{Message: sprintf(format, a...)} }

// NotPropagatedYet returns a NotPropagated error.
func NotPropagatedYet(format string, a ...any) error {
	return &NotPropagated{Message: sprintf(format, a...)}
}

// NotStoppedYet returns a NotStopped error.
func NotStoppedYet(format string, a ...any) error { return &NotStopped{Message: sprintf(format, a...)} }

// Missing returns a NotFound error.
func Missing(format string, a ...any) error { return &NotFound{Message: sprintf(format, a...)} }

// throttlingCodes are the AWS error codes that mean "slow down".
var throttlingCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestLimitExceeded": true,
	"TooManyRequestsException": true, "RequestThrottled": true, "RequestThrottledException": true,
	"PriorRequestNotComplete": true, "SlowDown": true, "ProvisionedThroughputExceededException": true,
}

var accessCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true, "AuthFailure": true,
}

// Map turns any error into one of this package's types, keeping its full
// message (with the context it was wrapped in). A typed error anywhere in
// the chain wins; AWS throttling and access errors are recognised by code.
func Map(err error) error {
	if err == nil {
		return nil
	}

	var (
		inv *InvalidRequest
		con *Conflict
		nf  *NotFound
		thr *Throttled
		ad  *AccessDenied
		in  *Internal
		ri  *RollbackIncomplete
		di  *DeletionIncomplete
		cf  *CheckFailed
		nr  *NotReady
		ns  *NotStopped
		np  *NotPropagated
	)
	msg := err.Error()
	switch {
	case errors.As(err, &inv):
		return &InvalidRequest{Message: msg}
	case errors.As(err, &con):
		return &Conflict{Message: msg}
	case errors.As(err, &nf):
		return &NotFound{Message: msg}
	case errors.As(err, &thr):
		return &Throttled{Message: msg}
	case errors.As(err, &ad):
		return &AccessDenied{Message: msg}
	case errors.As(err, &in):
		return &Internal{Message: msg}
	case errors.As(err, &ri):
		return &RollbackIncomplete{Message: msg}
	case errors.As(err, &di):
		return &DeletionIncomplete{Message: msg}
	case errors.As(err, &cf):
		return &CheckFailed{Message: msg}
	case errors.As(err, &nr):
		return &NotReady{Message: msg}
	case errors.As(err, &ns):
		return &NotStopped{Message: msg}
	case errors.As(err, &np):
		return &NotPropagated{Message: msg}
	}

	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch {
		case throttlingCodes[apiErr.ErrorCode()]:
			return &Throttled{Message: msg}
		case accessCodes[apiErr.ErrorCode()]:
			return &AccessDenied{Message: msg}
		}
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusTooManyRequests {
		return &Throttled{Message: msg}
	}
	return &Internal{Message: msg}
}

// Handler wraps a step's logic so every error it returns is mapped.
func Handler[In, Out any](fn func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		out, err := fn(ctx, in)
		if err != nil {
			var zero Out
			return zero, Map(err)
		}

		return out, nil
	}
}

// Logged is Handler that also logs each invocation as one JSON line: "step
// done" with the result, or "step failed" with the mapped error, each with
// the step's name and the fields its input names (the execution, the rule
// …), so that a function's log reads like its workflow's history.
func Logged[In, Out any](log *slog.Logger, name string, fields func(In) []any, fn func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	mapped := Handler(fn)

	return func(ctx context.Context, in In) (Out, error) {
		l := log.With(append([]any{"step", name}, fields(in)...)...)
		out, err := mapped(ctx, in)
		if err != nil {
			l.Error("step failed", "error", err.Error())
			return out, err
		}
		l.Info("step done", "result", out)
		return out, nil
	}
}

// MaxReasonLength bounds a reason made by Reason.
const MaxReasonLength = 1000

// Reason turns an error a Catch caught (its name and cause) into a
// sentence for a rule's lastError: the function's errorMessage when the
// cause is a Lambda error document, else the cause, prefixed with the
// error's name; fallback when both are empty. At most MaxReasonLength
// bytes, never cut inside a rune.
func Reason(name, cause, fallback string) string {
	msg := cause
	var lambdaErr struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &lambdaErr) == nil && lambdaErr.ErrorMessage != "" {
		msg = lambdaErr.ErrorMessage
	}
	msg = strings.TrimSpace(msg)
	switch {
	case msg == "" && name == "":
		msg = fallback
	case msg == "":
		msg = name
	case name != "" && !strings.HasPrefix(msg, name):
		msg = name + ": " + msg
	}
	if len(msg) > MaxReasonLength {
		cut := MaxReasonLength
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}

	return msg
}

func sprintf(format string, a ...any) string {
	if len(a) == 0 {
		return format
	}

	return fmt.Sprintf(format, a...)
}

// ErrorCode returns the AWS error code in err's chain ("Throttling",
// "LoadBalancerNotFound", …), or "" when err carries none.
func ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}

	return ""
}

// HasCode reports whether err carries one of the AWS error codes.
func HasCode(err error, codes ...string) bool {
	code := ErrorCode(err)

	return code != "" && slices.Contains(codes, code)
}
