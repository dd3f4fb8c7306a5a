package loadbalancer

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
)

// shortNewGroupDelays makes the waits for a new security group short for
// the test.
func shortNewGroupDelays(t *testing.T) {
	t.Helper()
	saved := newGroupDelays
	newGroupDelays = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	t.Cleanup(func() { newGroupDelays = saved })
}

// TestEnsureNewGroupNotFoundYet: EC2 is eventually consistent, so the
// security group Ensure has just created may be InvalidGroup.NotFound for a
// moment; authorizing its rules is retried, within bounds, and only then.
func TestEnsureNewGroupNotFoundYet(t *testing.T) {
	shortNewGroupDelays(t)
	notFound := func(n int) []error {
		errs := make([]error, n)
		for i := range errs {
			errs[i] = apiErr(codeGroupNotFound)
		}
		return errs
	}
	const authorizeOp = "AuthorizeSecurityGroupIngress"

	tests := []struct {
		name          string
		setup         func(f *fakeAWS)
		ctx           func() context.Context
		wantErr       string // Step Functions error name, "" for success
		wantAuthorize int    // AuthorizeSecurityGroupIngress calls
		want          []string
	}{
		{
			name:          "found at once",
			wantAuthorize: 1,
			want:          []string{"security-group:created", "load-balancer:created"},
		},
		{
			name:          "not found once, then found",
			setup:         func(f *fakeAWS) { f.errs[authorizeOp] = notFound(1) },
			wantAuthorize: 2,
			want:          []string{"security-group:created", "load-balancer:created"},
		},
		{
			name:          "not found until the last attempt",
			setup:         func(f *fakeAWS) { f.errs[authorizeOp] = notFound(3) },
			wantAuthorize: 4,
			want:          []string{"security-group:created", "load-balancer:created"},
		},
		{
			name:          "never found: bounded, no ALB",
			setup:         func(f *fakeAWS) { f.errs[authorizeOp] = notFound(10) },
			wantErr:       "Internal",
			wantAuthorize: 4,
		},
		{
			name:          "another error is not retried",
			setup:         func(f *fakeAWS) { f.errs[authorizeOp] = []error{apiErr("UnauthorizedOperation")} },
			wantErr:       "AccessDenied",
			wantAuthorize: 1,
		},
		{
			name:  "context ends while waiting",
			setup: func(f *fakeAWS) { f.errs[authorizeOp] = notFound(10) },
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			wantErr:       "Internal",
			wantAuthorize: 1,
		},
		{
			name: "an existing group's NotFound is not retried (it was deleted)",
			setup: func(f *fakeAWS) {
				f.addGroup("autostop-web", testVPC, ownership.Tags("web", "exec-0", nil))
				f.errs[authorizeOp] = notFound(1)
			},
			wantErr:       "Internal",
			wantAuthorize: 1,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}

			res, err := Ensure(ctx, f.clients(), step.Input{Spec: testSpec(), Execution: testExec})
			if got := errName(err); got != tt.wantErr {
				t.Fatalf("Ensure: error %v (%s), want %q", err, got, tt.wantErr)
			}
			calls := 0
			for _, c := range f.calls {
				if c == authorizeOp {
					calls++
				}
			}
			if calls != tt.wantAuthorize {
				t.Errorf("%d AuthorizeSecurityGroupIngress calls, want %d (calls %v)", calls, tt.wantAuthorize, f.calls)
			}
			if tt.wantErr != "" {
				if f.lbByName("web") != nil {
					t.Error("an ALB was created without its security group's rules")
				}
				return
			}
			if got := actions(res.Resources); !slices.Equal(got, tt.want) {
				t.Errorf("resources %v, want %v", got, tt.want)
			}
			if m := missingIngress(f.groups[0].IpPermissions, false); len(m) != 0 {
				t.Errorf("the group lacks rules %+v", m)
			}
		})
	}
}
