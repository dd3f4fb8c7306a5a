package listener

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	lbARN   = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/0123456789abcdef"
	tgARN   = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-proxy/0123456789abcdef"
	certARN = "arn:aws:acm:eu-west-1:123456789012:certificate/new"
	oldCert = "arn:aws:acm:eu-west-1:123456789012:certificate/old"
)

func input(cert string) step.Input {
	return step.Input{
		Spec:      spec.LoadBalancerSpec{Name: "web", Region: "eu-west-1", Tags: map[string]string{"team": "a"}},
		Execution: "exec-1",
		Results: step.Results{
			LoadBalancer: &step.LoadBalancerResult{ARN: lbARN},
			ProxyTarget:  &step.ProxyTargetResult{TargetGroupARN: tgARN},
			Certificate:  &step.CertificateResult{ARN: cert},
		},
	}
}

var (
	forwardAction = types.Action{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}
	// As a user or an older version might have written it: components left
	// out, which AWS fills in with their defaults.
	redirectAction = types.Action{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
		Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: types.RedirectActionStatusCodeEnumHttp301,
	}}
	ours    = ownership.Tags("web", "exec-0", nil)
	foreign = map[string]string{"team": "a"}
)

func TestEnsure(t *testing.T) {
	tests := []struct {
		name         string
		cert         string
		setup        func(f *fakeELB)
		wantMutating []string
		wantActions  map[int32]string // port → Resource action
		wantErr      error            // a steperr type to match with errors.As
	}{
		{
			name:         "fresh with certificate: HTTPS and redirect",
			cert:         certARN,
			wantMutating: []string{"CreateListener", "CreateListener"},
			wantActions:  map[int32]string{443: step.Created, 80: step.Created},
		},
		{
			name:         "fresh without certificate: HTTP forward",
			wantMutating: []string{"CreateListener"},
			wantActions:  map[int32]string{80: step.Created},
		},
		{
			name: "everything in place: no mutating call",
			cert: certARN,
			setup: func(f *fakeELB) {
				f.add(lbARN, 443, types.ProtocolEnumHttps, certARN, SSLPolicy, forwardAction, ours)
				f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", redirectAction, ours)
			},
			wantActions: map[int32]string{443: step.Adopted, 80: step.Adopted},
		},
		{
			name: "HTTP only in place: no mutating call",
			setup: func(f *fakeELB) {
				f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", forwardAction, ours)
			},
			wantActions: map[int32]string{80: step.Adopted},
		},
		{
			name: "drifted own listeners are modified",
			cert: certARN,
			setup: func(f *fakeELB) {
				f.add(lbARN, 443, types.ProtocolEnumHttps, oldCert, "ELBSecurityPolicy-2016-08", forwardAction, ours)
				f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", types.Action{Type: types.ActionTypeEnumRedirect,
					RedirectConfig: &types.RedirectActionConfig{Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: types.RedirectActionStatusCodeEnumHttp302}}, ours)
			},
			wantMutating: []string{"AddTags", "ModifyListener", "AddTags", "ModifyListener"},
			wantActions:  map[int32]string{443: step.Updated, 80: step.Updated},
		},
		{
			name: "own listener forwarding elsewhere is modified",
			cert: certARN,
			setup: func(f *fakeELB) {
				f.add(lbARN, 443, types.ProtocolEnumHttps, certARN, SSLPolicy, types.Action{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN + "-old")}, ours)
				f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", redirectAction, ours)
			},
			wantMutating: []string{"AddTags", "ModifyListener"},
			wantActions:  map[int32]string{443: step.Updated, 80: step.Adopted},
		},
		{
			name: "HTTP only upgraded to HTTPS: create 443 first, then redirect 80",
			cert: certARN,
			setup: func(f *fakeELB) {
				f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", forwardAction, ours)
			},
			wantMutating: []string{"CreateListener", "AddTags", "ModifyListener"},
			wantActions:  map[int32]string{443: step.Created, 80: step.Updated},
		},
		{
			name: "foreign listener on 443 is a conflict",
			cert: certARN,
			setup: func(f *fakeELB) {
				f.add(lbARN, 443, types.ProtocolEnumHttps, oldCert, SSLPolicy, forwardAction, foreign)
			},
			wantErr: &steperr.Conflict{},
		},
		{
			name: "foreign listener on 80 is a conflict, even when it matches",
			setup: func(f *fakeELB) {
				f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", forwardAction, nil)
			},
			wantErr: &steperr.Conflict{},
		},
		{
			name: "foreign listener on 80 stops the step before 443 is created",
			cert: certARN,
			setup: func(f *fakeELB) {
				f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", redirectAction, foreign)
			},
			wantErr: &steperr.Conflict{},
		},
		{
			name: "listener of another autostop load balancer is a conflict",
			setup: func(f *fakeELB) {
				f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", forwardAction, ownership.Tags("api", "exec-0", nil))
			},
			wantErr: &steperr.Conflict{},
		},
		{
			name: "listeners on other ports are left alone",
			setup: func(f *fakeELB) {
				f.add(lbARN, 8080, types.ProtocolEnumHttp, "", "", forwardAction, foreign)
			},
			wantMutating: []string{"CreateListener"},
			wantActions:  map[int32]string{80: step.Created},
		},
		{
			name:    "missing load balancer",
			setup:   func(f *fakeELB) { delete(f.lbs, lbARN) },
			wantErr: &steperr.NotFound{},
		},
		{
			// A certificate just issued: retried by the state machine.
			name: "certificate not found (not propagated yet)",
			cert: certARN,
			setup: func(f *fakeELB) {
				f.fail["CreateListener"] = &types.CertificateNotFoundException{Message: aws.String("no")}
			},
			wantMutating: []string{"CreateListener"},
			wantErr:      &steperr.NotPropagated{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(lbARN)
			before := map[string]types.Listener{}
			if tt.setup != nil {
				tt.setup(f)
				for _, l := range f.listeners {
					before[aws.ToString(l.ListenerArn)] = l
				}
			}
			in := input(tt.cert)

			got, err := Ensure(context.Background(), f, in)

			if !slices.Equal(f.mutating(), tt.wantMutating) {
				t.Errorf("mutating calls = %v, want %v", f.mutating(), tt.wantMutating)
			}
			if tt.wantErr != nil {
				if err == nil || !errorsAsType(err, tt.wantErr) {
					t.Fatalf("err = %v, want %T", err, tt.wantErr)
				}
				if mapped := steperr.Map(err); !errorsAsType(mapped, tt.wantErr) {
					t.Errorf("steperr.Map(err) = %T", mapped)
				}
				for arn, l := range before { // nothing changed
					if i := f.find(arn); i < 0 || !sameListener(f.listeners[i], l) {
						t.Errorf("listener %s changed", arn)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			checkState(t, f, in, got, tt.wantActions)
		})
	}
}

// checkState verifies the listeners the fake holds after Ensure, and the
// result, independently of the code under test.
func checkState(t *testing.T, f *fakeELB, in step.Input, got step.ListenersResult, wantActions map[int32]string) {
	t.Helper()
	cert := in.Results.Certificate.ARN

	http, ok := f.byPort(lbARN, 80)
	if !ok || http.Protocol != types.ProtocolEnumHttp || len(http.DefaultActions) != 1 {
		t.Fatalf("HTTP listener = %+v", http)
	}
	if got.HTTPListenerARN != aws.ToString(http.ListenerArn) {
		t.Errorf("HTTPListenerARN = %q, want %q", got.HTTPListenerARN, aws.ToString(http.ListenerArn))
	}
	a := awsShape(http.DefaultActions)[0] // as DescribeListeners returns it
	if cert == "" {
		if a.Type != types.ActionTypeEnumForward || aws.ToString(a.TargetGroupArn) != tgARN {
			t.Errorf("HTTP action = %+v, want forward to %s", a, tgARN)
		}
		if _, ok := f.byPort(lbARN, 443); ok || got.HTTPSListenerARN != "" {
			t.Errorf("HTTPS listener without a certificate: %q", got.HTTPSListenerARN)
		}
	} else {
		rc := a.RedirectConfig
		if a.Type != types.ActionTypeEnumRedirect || rc == nil || aws.ToString(rc.Protocol) != "HTTPS" || aws.ToString(rc.Port) != "443" ||
			aws.ToString(rc.Host) != "#{host}" || aws.ToString(rc.Path) != "/#{path}" || aws.ToString(rc.Query) != "#{query}" ||
			rc.StatusCode != types.RedirectActionStatusCodeEnumHttp301 {
			t.Errorf("HTTP action = %+v (redirect %+v), want a 301 redirect to HTTPS 443", a, rc)
		}
		https, ok := f.byPort(lbARN, 443)
		if !ok || https.Protocol != types.ProtocolEnumHttps || aws.ToString(https.SslPolicy) != SSLPolicy ||
			len(https.Certificates) != 1 || aws.ToString(https.Certificates[0].CertificateArn) != cert {
			t.Fatalf("HTTPS listener = %+v", https)
		}
		if len(https.DefaultActions) != 1 || https.DefaultActions[0].Type != types.ActionTypeEnumForward ||
			aws.ToString(https.DefaultActions[0].TargetGroupArn) != tgARN {
			t.Errorf("HTTPS actions = %+v", https.DefaultActions)
		}
		if got.HTTPSListenerARN != aws.ToString(https.ListenerArn) {
			t.Errorf("HTTPSListenerARN = %q, want %q", got.HTTPSListenerARN, aws.ToString(https.ListenerArn))
		}
	}

	gotActions := map[int32]string{}
	for _, r := range got.Resources {
		if r.Kind != Kind {
			t.Errorf("resource kind %q", r.Kind)
		}
		i := f.find(r.ID)
		if i < 0 {
			t.Fatalf("resource %s does not exist", r.ID)
		}
		port := aws.ToInt32(f.listeners[i].Port)
		gotActions[port] = r.Action
		if r.Action == step.Created && !maps.Equal(f.tags[r.ID], ownership.Tags("web", "exec-1", in.Spec.Tags)) {
			t.Errorf("created listener %s tags = %v", r.ID, f.tags[r.ID])
		}
	}
	if !maps.Equal(gotActions, wantActions) {
		t.Errorf("resource actions = %v, want %v", gotActions, wantActions)
	}
}

func TestEnsureRerunSameExecution(t *testing.T) {
	for _, cert := range []string{certARN, ""} {
		f := newFake(lbARN)
		in := input(cert)
		first, err := Ensure(context.Background(), f, in)
		if err != nil {
			t.Fatal(err)
		}
		f.calls = nil

		second, err := Ensure(context.Background(), f, in)
		if err != nil {
			t.Fatal(err)
		}
		if m := f.mutating(); len(m) != 0 {
			t.Errorf("cert %q: re-run made mutating calls %v", cert, m)
		}
		// Listeners this execution created stay "created" in the audit.
		if !slices.Equal(first.Resources, second.Resources) || first.HTTPListenerARN != second.HTTPListenerARN ||
			first.HTTPSListenerARN != second.HTTPSListenerARN {
			t.Errorf("cert %q: re-run result %+v, first %+v", cert, second, first)
		}
	}
}

func TestEnsureInvalidInput(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*step.Input)
	}{
		{"no load balancer result", func(in *step.Input) { in.Results.LoadBalancer = nil }},
		{"no proxy target result", func(in *step.Input) { in.Results.ProxyTarget = nil }},
		{"empty target group ARN", func(in *step.Input) { in.Results.ProxyTarget.TargetGroupARN = "" }},
		{"no execution", func(in *step.Input) { in.Execution = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(lbARN)
			in := input(certARN)
			tt.mutate(&in)
			_, err := Ensure(context.Background(), f, in)
			var inv *steperr.InvalidRequest
			if !errors.As(err, &inv) {
				t.Fatalf("err = %v, want InvalidRequest", err)
			}
			if len(f.calls) != 0 {
				t.Errorf("calls = %v", f.calls)
			}
		})
	}
}

func TestEnsureNoCertificateResultMeansHTTPOnly(t *testing.T) {
	f := newFake(lbARN)
	in := input("")
	in.Results.Certificate = nil
	got, err := Ensure(context.Background(), f, in)
	if err != nil || got.HTTPSListenerARN != "" || got.HTTPListenerARN == "" {
		t.Fatalf("Ensure = %+v, %v", got, err)
	}
}

func TestSameAction(t *testing.T) {
	single := types.Action{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
		TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: aws.String(tgARN), Weight: aws.Int32(1)}},
	}}
	weighted := types.Action{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
		TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: aws.String(tgARN)}, {TargetGroupArn: aws.String(tgARN + "-b")}},
	}}
	sticky := types.Action{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN), ForwardConfig: &types.ForwardActionConfig{
		TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: aws.String(tgARN)}},
		TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(60)},
	}}
	want := desired(tgARN, certARN)
	fullRedirect := want[1].action
	tests := []struct {
		name      string
		got, want types.Action
		same      bool
	}{
		{"TargetGroupArn", forwardAction, forwardAction, true},
		{"single-group ForwardConfig", single, forwardAction, true},
		{"both forms", awsShape([]types.Action{forwardAction})[0], forwardAction, true},
		{"two groups", weighted, forwardAction, false},
		{"stickiness on", sticky, forwardAction, false},
		{"other group", types.Action{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String("x")}, forwardAction, false},
		{"redirect with defaults omitted", redirectAction, fullRedirect, true},
		{"redirect as described", awsShape([]types.Action{redirectAction})[0], fullRedirect, true},
		{"redirect 302", types.Action{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
			Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: types.RedirectActionStatusCodeEnumHttp302}}, fullRedirect, false},
		{"redirect to another host", types.Action{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
			Protocol: aws.String("HTTPS"), Port: aws.String("443"), Host: aws.String("example.com"), StatusCode: types.RedirectActionStatusCodeEnumHttp301}}, fullRedirect, false},
		{"forward vs redirect", forwardAction, fullRedirect, false},
		{"fixed response vs forward", types.Action{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}, forwardAction, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameAction(tt.got, tt.want); got != tt.same {
				t.Errorf("sameAction = %v, want %v", got, tt.same)
			}
		})
	}
}

// errorsAsType reports whether err's chain holds an error of target's type.
func errorsAsType(err, target error) bool {
	switch target.(type) {
	case *steperr.Conflict:
		var e *steperr.Conflict
		return errors.As(err, &e)
	case *steperr.NotFound:
		var e *steperr.NotFound
		return errors.As(err, &e)
	case *steperr.InvalidRequest:
		var e *steperr.InvalidRequest
		return errors.As(err, &e)
	case *steperr.NotPropagated:
		var e *steperr.NotPropagated
		return errors.As(err, &e)
	}

	return false
}

func sameListener(a, b types.Listener) bool {
	return a.Protocol == b.Protocol && aws.ToString(a.SslPolicy) == aws.ToString(b.SslPolicy) &&
		slices.Equal(defaultCertificateARNs(a.Certificates), defaultCertificateARNs(b.Certificates)) &&
		len(a.DefaultActions) == len(b.DefaultActions) && sameAction(a.DefaultActions[0], b.DefaultActions[0])
}
