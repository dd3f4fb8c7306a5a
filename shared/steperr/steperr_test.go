package steperr

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/smithy-go"
)

// errorType is how aws-lambda-go names a returned error (its errorType,
// which Step Functions reports as the Task's Error).
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Ptr {
		return t.Elem().Name()
	}

	return t.Name()
}

func TestMap(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"typed error is kept", Invalid("name %q is too long", "x"), "InvalidRequest"},
		{"wrapped typed error", fmt.Errorf("validate: %w", Conflicting("taken")), "Conflict"},
		{"not found", fmt.Errorf("get function: %w", Missing("no autostop-proxy")), "NotFound"},
		{"AWS throttling", fmt.Errorf("create listener: %w", &smithy.GenericAPIError{Code: "Throttling"}), "Throttled"},
		{"EC2 throttling", &smithy.GenericAPIError{Code: "RequestLimitExceeded"}, "Throttled"},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDeniedException"}, "AccessDenied"},
		{"other AWS error", &smithy.GenericAPIError{Code: "ValidationError"}, "Internal"},
		{"plain error", errors.New("boom"), "Internal"},
		{"rollback incomplete", &RollbackIncomplete{Message: "left x"}, "RollbackIncomplete"},
		{"deletion incomplete", fmt.Errorf("delete: %w", &DeletionIncomplete{Message: "left x"}), "DeletionIncomplete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Map(tt.err)
			if errorType(got) != tt.want {
				t.Errorf("Map(%v) reports as %s, want %s", tt.err, errorType(got), tt.want)
			}
			if got.Error() != tt.err.Error() {
				t.Errorf("message %q, want the full %q", got.Error(), tt.err.Error())
			}
		})
	}
	if Map(nil) != nil {
		t.Error("Map(nil) != nil")
	}
}

func TestNamesAreTheTypes(t *testing.T) {
	types := []error{&InvalidRequest{}, &Conflict{}, &NotFound{}, &Throttled{}, &AccessDenied{}, &Internal{}, &RollbackIncomplete{}, &DeletionIncomplete{}, &CheckFailed{}, &NotReady{}, &NotStopped{}, &NotPropagated{}}
	if len(types) != len(Names) {
		t.Fatalf("%d types, %d names", len(types), len(Names))
	}
	for i, e := range types {
		if errorType(e) != Names[i] {
			t.Errorf("type %d reports as %s, Names says %s", i, errorType(e), Names[i])
		}
	}
}

func TestHandlerMapsErrors(t *testing.T) {
	h := Handler(func(_ context.Context, in int) (int, error) {
		if in < 0 {
			return 0, fmt.Errorf("negative: %w", &smithy.GenericAPIError{Code: "ThrottlingException"})
		}
		return in * 2, nil
	})
	if out, err := h(context.Background(), 2); out != 4 || err != nil {
		t.Fatalf("h(2) = %d, %v", out, err)
	}
	if _, err := h(context.Background(), -1); errorType(err) != "Throttled" {
		t.Fatalf("h(-1) error reports as %s", errorType(err))
	}
}

func TestErrorCode(t *testing.T) {
	err := fmt.Errorf("describe: %w", &smithy.GenericAPIError{Code: "LoadBalancerNotFound"})
	if got := ErrorCode(err); got != "LoadBalancerNotFound" {
		t.Errorf("ErrorCode = %q", got)
	}
	if !HasCode(err, "TargetGroupNotFound", "LoadBalancerNotFound") || HasCode(err, "Throttling") {
		t.Error("HasCode does not match the chain's code")
	}
	if ErrorCode(errors.New("plain")) != "" || HasCode(nil, "") {
		t.Error("no code expected")
	}
}
