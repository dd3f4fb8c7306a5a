package targetrepair

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	testHost   = "app.autostop.example.test"
	testRegion = "eu-west-1"
	testLBARN  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/0123456789abcdef"
	testTG     = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef"
)

var errBoom = errors.New("boom")

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (fake)", Fault: smithy.FaultClient}
}

// stepError names the error the state machine would see for err ("" for nil).
func stepError(err error) string {
	if err == nil {
		return ""
	}

	return strings.TrimPrefix(fmt.Sprintf("%T", steperr.Map(err)), "*steperr.")
}

// fakeRules holds one rule.
type fakeRules struct {
	item         rulestore.Item
	exists       bool
	getErr       error
	eventualGets int
}

func (f *fakeRules) Get(_ context.Context, host string, consistent bool) (rulestore.Item, error) {
	if !consistent {
		f.eventualGets++
	}
	if f.getErr != nil {
		return rulestore.Item{}, f.getErr
	}
	if !f.exists || host != f.item.Host {
		return rulestore.Item{}, fmt.Errorf("get rule %s: %w", host, rulestore.ErrNotFound)
	}

	return f.item, nil
}

// fakeELB records the RegisterTargets calls as "<tg> <id>:<port> …".
type fakeELB struct {
	calls []string
	err   error
}

func (f *fakeELB) RegisterTargets(_ context.Context, in *elbv2.RegisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	call := aws.ToString(in.TargetGroupArn)
	for _, t := range in.Targets {
		call += fmt.Sprintf(" %s:%d", aws.ToString(t.Id), aws.ToInt32(t.Port))
	}
	f.calls = append(f.calls, call)
	if f.err != nil {
		return nil, f.err
	}

	return &elbv2.RegisterTargetsOutput{}, nil
}

func TestRegisterTargets(t *testing.T) {
	tests := []struct {
		name      string
		item      func(it *rulestore.Item)
		ids       []string // the input's; i-1 when nil
		setup     func(r *fakeRules, e *fakeELB)
		want      Result
		wantErr   string
		wantIn    []string
		wantCode  string
		wantCalls []string
	}{
		{
			name:      "the missing instances registered on the rule's port",
			ids:       []string{"i-2", "i-1"},
			want:      Result{TargetGroupARN: testTG, Registered: []string{"i-2:8080", "i-1:8080"}},
			wantCalls: []string{testTG + " i-2:8080 i-1:8080"},
		},
		{
			name:      "instances not the rule's: ignored and named; an ID given twice: once",
			ids:       []string{"i-9", "i-1", "i-1"},
			want:      Result{TargetGroupARN: testTG, Registered: []string{"i-1:8080"}, NotRuleMembers: []string{"i-9"}},
			wantCalls: []string{testTG + " i-1:8080"},
		},
		{
			name: "none of them the rule's: skipped",
			ids:  []string{"i-8", "i-9"},
			want: Result{Skipped: true, Reason: "none of the instances is the rule's", TargetGroupARN: testTG, NotRuleMembers: []string{"i-8", "i-9"}},
		},
		{
			name: "no instances given: skipped",
			ids:  []string{},
			want: Result{Skipped: true, Reason: "none of the instances is the rule's", TargetGroupARN: testTG},
		},
		{
			name: "the rule stopping: skipped",
			item: func(it *rulestore.Item) { it.State = rulestore.Stopping },
			want: Result{Skipped: true, Reason: "the rule is stopping, not running"},
		},
		{
			name: "the rule stopped: skipped",
			item: func(it *rulestore.Item) { it.State = rulestore.Stopped },
			want: Result{Skipped: true, Reason: "the rule is stopped, not running"},
		},
		{
			name:  "the rule detached: skipped",
			setup: func(r *fakeRules, _ *fakeELB) { r.exists = false },
			want:  Result{Skipped: true, Reason: "the host has no rule any more"},
		},
		{
			name:    "the rule unreadable: the error",
			setup:   func(r *fakeRules, _ *fakeELB) { r.getErr = errBoom },
			wantErr: "Internal", wantIn: []string{"read rule " + testHost, "boom"},
		},
		{
			name:    "the target group gone: NotFound",
			setup:   func(_ *fakeRules, e *fakeELB) { e.err = apiErr("TargetGroupNotFound") },
			wantErr: "NotFound", wantIn: []string{testTG, "rule app", "attach the rule again"},
			wantCalls: []string{testTG + " i-1:8080"},
		},
		{
			name:    "an instance that cannot be a target (terminated): InvalidRequest",
			setup:   func(_ *fakeRules, e *fakeELB) { e.err = apiErr("InvalidTarget") },
			wantErr: "InvalidRequest", wantIn: []string{"register [i-1:8080] with the target group " + testTG + " of rule app", "InvalidTarget"},
			wantCalls: []string{testTG + " i-1:8080"},
		},
		{
			name:    "RegisterTargets throttled: Throttled, wrapped",
			setup:   func(_ *fakeRules, e *fakeELB) { e.err = apiErr("Throttling") },
			wantErr: "Throttled", wantIn: []string{"register [i-1:8080] with the target group " + testTG}, wantCode: "Throttling",
			wantCalls: []string{testTG + " i-1:8080"},
		},
		{
			name:    "RegisterTargets denied: AccessDenied",
			setup:   func(_ *fakeRules, e *fakeELB) { e.err = apiErr("AccessDenied") },
			wantErr: "AccessDenied", wantCode: "AccessDenied",
			wantCalls: []string{testTG + " i-1:8080"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := rulestore.Item{
				Host: testHost, Rule: rule.Rule{Name: "app", Host: testHost, InstanceIDs: []string{"i-1", "i-2", "i-3"}, Port: 8080},
				LoadBalancerARN: testLBARN, TargetGroupARN: testTG, State: rulestore.Running,
			}
			if tt.item != nil {
				tt.item(&it)
			}
			rules, elb := &fakeRules{item: it, exists: true}, &fakeELB{}
			if tt.setup != nil {
				tt.setup(rules, elb)
			}
			var regions []string
			d := Deps{Rules: rules, ELBv2: func(region string) ELBv2 {
				regions = append(regions, region)
				return elb
			}}
			in := Input{Host: testHost, InstanceIDs: tt.ids, Execution: "repair-app-1"}
			if tt.ids == nil {
				in.InstanceIDs = []string{"i-1"}
			}

			got, err := RegisterTargets(context.Background(), d, in)

			if name := stepError(err); name != tt.wantErr {
				t.Fatalf("err = %v (%s), want %q", err, name, tt.wantErr)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if tt.wantCode != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
					t.Errorf("error %v does not keep the code %s", err, tt.wantCode)
				}
			}
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RegisterTargets = %+v,\n want %+v", got, tt.want)
			}
			if !slices.Equal(elb.calls, tt.wantCalls) {
				t.Errorf("RegisterTargets calls %q, want %q", elb.calls, tt.wantCalls)
			}
			if len(tt.wantCalls) > 0 && !slices.Equal(regions, []string{testRegion}) {
				t.Errorf("clients made for %v, want the load balancer's region %s", regions, testRegion)
			}
			if len(tt.wantCalls) == 0 && len(regions) != 0 {
				t.Errorf("clients made for %v, want none", regions)
			}
			if rules.eventualGets != 0 {
				t.Errorf("%d eventually consistent reads of the rule", rules.eventualGets)
			}
		})
	}
}

// TestNewDeps: the ELBv2 client is made for the region asked for.
func TestNewDeps(t *testing.T) {
	d := NewDeps(aws.Config{Region: "us-east-1"}, rulestore.New(nil, "autostop-rules"))
	c, ok := d.ELBv2(testRegion).(*elbv2.Client)
	if !ok || d.Rules == nil {
		t.Fatalf("NewDeps = %+v, ELBv2 client %T", d, d.ELBv2(testRegion))
	}
	if r := c.Options().Region; r != testRegion {
		t.Errorf("client for %s, want %s", r, testRegion)
	}
}
