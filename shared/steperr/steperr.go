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
	"errors"
	"fmt"
	"net/http"
	"slices"

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

// NotReady: a workload did not become ready within its bound (instances
// not running, targets not healthy). Not retried: the wake ends and the
// next request starts another.
type NotReady struct{ Message string }

// Internal: anything else (an unexpected AWS error, a bug). Retried a few
// times: most are transient.
type Internal struct{ Message string }

func (e *InvalidRequest) Error() string { return e.Message }
func (e *Conflict) Error() string       { return e.Message }
func (e *NotFound) Error() string       { return e.Message }
func (e *Throttled) Error() string      { return e.Message }
func (e *AccessDenied) Error() string   { return e.Message }
func (e *Internal) Error() string       { return e.Message }
func (e *NotReady) Error() string       { return e.Message }

func (e *RollbackIncomplete) Error() string { return e.Message }

// Names lists every error name a step can fail with.
var Names = []string{"InvalidRequest", "Conflict", "NotFound", "Throttled", "AccessDenied", "Internal", "RollbackIncomplete", "NotReady"}

// Invalid returns an InvalidRequest error.
func Invalid(format string, a ...any) error { return &InvalidRequest{Message: sprintf(format, a...)} }

// Conflicting returns a Conflict error.
func Conflicting(format string, a ...any) error { return &Conflict{Message: sprintf(format, a...)} }

// NotReadyYet returns a NotReady error.
func NotReadyYet(format string, a ...any) error { return &NotReady{Message: sprintf(format, a...)} }

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
		nr  *NotReady
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
	case errors.As(err, &nr):
		return &NotReady{Message: msg}
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
