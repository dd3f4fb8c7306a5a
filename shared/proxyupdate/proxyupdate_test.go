package proxyupdate

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/autostop/autostop/shared/steperr"
)

func request() Input {
	return Input{Request: Request{Name: "web", CodeSha256: "sha-new"}, Execution: "up-1", Timing: Timing{WaitSeconds: 1, MaxAttempts: 3}}
}

// errName is the name Step Functions would see.
func errName(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", steperr.Map(err)), "*steperr.")
}

func TestLocate(t *testing.T) {
	tests := []struct {
		name         string
		in           func() Input
		elb          func(*fakeELB)
		wantErr      string
		wantListener string
	}{
		{name: "HTTPS listener on 443", wantListener: httpsARN},
		{name: "HTTP only", elb: func(f *fakeELB) {
			f.listeners = f.listeners[:1]
			f.listeners[0].DefaultActions = []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}
		}, wantListener: httpARN},
		{name: "no such load balancer", in: func() Input { in := request(); in.Request.Name = "nope"; return in }, wantErr: "InvalidRequest"},
		{name: "no code", in: func() Input { in := request(); in.Request.CodeSha256 = ""; return in }, wantErr: "InvalidRequest"},
		{name: "a foreign target group", elb: func(f *fakeELB) { f.tgTags = map[string]string{} }, wantErr: "InvalidRequest"},
		{name: "two targets", elb: func(f *fakeELB) { f.targets = append(f.targets, "other") }, wantErr: "InvalidRequest"},
		{name: "not an alias", elb: func(f *fakeELB) {
			f.targets = []string{"arn:aws:lambda:us-east-1:123456789012:function:autostop-proxy"}
		}, wantErr: "InvalidRequest"},
		{name: "nothing forwards", elb: func(f *fakeELB) { f.listeners = f.listeners[:1] }, wantErr: "InvalidRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, l := newFakeELB(), newFakeLambda()
			if tt.elb != nil {
				tt.elb(e)
			}
			in := request()
			if tt.in != nil {
				in = tt.in()
			}
			got, err := Locate(context.Background(), e, l, in)
			if errName(err) != tt.wantErr {
				t.Fatalf("error %v (%s), want %s", err, errName(err), tt.wantErr)
			}
			if err != nil {
				return
			}
			want := Located{LoadBalancerARN: lbARN, ListenerARN: tt.wantListener, TargetGroupARN: tgARN, Domain: "a.example.com",
				FunctionName: "autostop-proxy", Alias: "live", AliasARN: aliasARN, PreviousVersion: "1", AliasRevisionID: "rev-1"}
			if got != want {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func located() *Located {
	return &Located{TargetGroupARN: tgARN, Domain: "a.example.com", FunctionName: "autostop-proxy", Alias: "live", AliasARN: aliasARN,
		PreviousVersion: "1", AliasRevisionID: "rev-1"}
}

func TestPublish(t *testing.T) {
	tests := []struct {
		name      string
		fn        func(*fakeLambda)
		prev      *Published
		wantState string
		wantErr   string
	}{
		{name: "active at once", wantState: StateActive},
		{name: "pending: wait", fn: func(f *fakeLambda) { f.publishState = lambdatypes.StatePending }, wantState: "Pending"},
		{name: "still pending at the bound", fn: func(f *fakeLambda) { f.publishState = lambdatypes.StatePending }, prev: &Published{Attempts: 2}, wantErr: "NotReady"},
		{name: "$LATEST still updating: wait", fn: func(f *fakeLambda) { f.updateStatus = lambdatypes.LastUpdateStatusInProgress }, wantState: StateUpdating},
		{name: "$LATEST update failed", fn: func(f *fakeLambda) { f.updateStatus = lambdatypes.LastUpdateStatusFailed }, wantErr: "CheckFailed"},
		{name: "someone changed the code since", fn: func(f *fakeLambda) { f.latestSha = "sha-other" }, wantErr: "Conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newFakeLambda()
			if tt.fn != nil {
				tt.fn(l)
			}
			in := request()
			in.Located, in.Published = located(), tt.prev
			got, err := Publish(context.Background(), l, in)
			if errName(err) != tt.wantErr || got.State != tt.wantState {
				t.Fatalf("got %+v, %v (%s); want state %q, error %q", got, err, errName(err), tt.wantState, tt.wantErr)
			}
			if err == nil && tt.wantState != StateUpdating && got.Version != "2" {
				t.Errorf("version %q, want 2", got.Version)
			}
		})
	}
}

func TestInvokes(t *testing.T) {
	tests := []struct {
		name    string
		answer  fakeAnswer
		alias   string // where the alias points for Verify
		wantErr string
	}{
		{name: "the proxy's 404 for an unknown host", answer: fakeAnswer{status: 404}, alias: "2"},
		{name: "a function error", answer: fakeAnswer{functionError: "Unhandled"}, alias: "2", wantErr: "CheckFailed"},
		{name: "a 502", answer: fakeAnswer{status: 502}, alias: "2", wantErr: "CheckFailed"},
		{name: "not an ALB response", answer: fakeAnswer{raw: `"hello"`}, alias: "2", wantErr: "CheckFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, l := newFakeELB(), newFakeLambda()
			l.answers["2"] = tt.answer
			l.alias = tt.alias
			in := request()
			in.Located = located()
			in.Published = &Published{Version: "2", VersionARN: "arn:aws:lambda:us-east-1:123456789012:function:autostop-proxy:2", State: StateActive}
			got, err := TestInvoke(context.Background(), l, in)
			if errName(err) != tt.wantErr {
				t.Fatalf("TestInvoke: %+v, %v; want %q", got, err, tt.wantErr)
			}
			if err == nil && (got.ExecutedVersion != "2" || got.StatusCode != 404) {
				t.Errorf("TestInvoke: %+v", got)
			}
			got, err = Verify(context.Background(), e, l, in)
			if errName(err) != tt.wantErr {
				t.Fatalf("Verify: %+v, %v; want %q", got, err, tt.wantErr)
			}
		})
	}

	t.Run("Verify: the target group's alias still runs the old version", func(t *testing.T) {
		e, l := newFakeELB(), newFakeLambda()
		in := request()
		in.Located = located()
		in.Published = &Published{Version: "2"}
		if _, err := Verify(context.Background(), e, l, in); errName(err) != "CheckFailed" || !strings.Contains(err.Error(), "ran version 1, want 2") {
			t.Errorf("error %v", err)
		}
	})
}

func TestMoveAlias(t *testing.T) {
	in := request()
	in.Located = located()
	in.Published = &Published{Version: "2"}

	l := newFakeLambda()
	moved, err := MoveAlias(context.Background(), l, in)
	if err != nil || l.alias != "2" || moved.From != "1" || moved.To != "2" || len(moved.Resources) != 1 {
		t.Fatalf("move: %+v, %v; alias at %s", moved, err, l.alias)
	}
	// A re-run (the answer was lost): the alias is on the new version.
	if _, err := MoveAlias(context.Background(), l, in); err != nil || len(l.updates) != 1 {
		t.Errorf("re-run: %v, %d updates", err, len(l.updates))
	}
	// Someone else moved it meanwhile.
	other := newFakeLambda()
	other.alias, other.revision = "3", 2
	if _, err := MoveAlias(context.Background(), other, in); errName(err) != "Conflict" || other.alias != "3" {
		t.Errorf("concurrent move: %v, alias at %s", err, other.alias)
	}
}

func TestMoveAliasBack(t *testing.T) {
	in := request()
	in.Located = located()
	in.Published = &Published{Version: "2"}
	tests := []struct {
		name      string
		at        string
		wantAt    string
		wantErr   string
		wantMoves int
	}{
		{name: "on the new version: back", at: "2", wantAt: "1", wantMoves: 1},
		{name: "never moved", at: "1", wantAt: "1"},
		{name: "moved by someone else: left", at: "3", wantAt: "3", wantErr: "Conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newFakeLambda()
			l.alias = tt.at
			_, err := MoveAliasBack(context.Background(), l, in)
			if errName(err) != tt.wantErr || l.alias != tt.wantAt || len(l.updates) != tt.wantMoves {
				t.Errorf("error %v, alias at %s after %d moves; want %q, %s, %d", err, l.alias, len(l.updates), tt.wantErr, tt.wantAt, tt.wantMoves)
			}
		})
	}
}
