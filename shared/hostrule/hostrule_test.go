package hostrule

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/steperr"
)

// stepError names the error the state machine would see for err
// ("Conflict", "NotFound", "Internal", …).
func stepError(err error) string {
	if err == nil {
		return ""
	}

	return strings.TrimPrefix(fmt.Sprintf("%T", steperr.Map(err)), "*steperr.")
}

// wrapHost is a host whose first priority is the last one (checked below).
const wrapHost = "h980.autostop.example.test"

func TestPriority(t *testing.T) {
	// The hash must not change between versions: a re-run finds a rule
	// where an older version put it.
	for host, want := range map[string]int{testHost: 14206, wrapHost: MaxPriority} {
		if got := Priority(host); got != want {
			t.Errorf("Priority(%s) = %d, want %d", host, got, want)
		}
	}
	if a, b := Priority("App.AutoStop.Example.TEST"), Priority(testHost); a != b {
		t.Errorf("Priority depends on case: %d and %d", a, b)
	}

	seen := map[int]bool{}
	for i := range 20000 {
		host := fmt.Sprintf("rule-%d.autostop.example.test", i)
		p := Priority(host)
		if p < MinPriority || p > MaxPriority {
			t.Fatalf("Priority(%s) = %d, outside %d–%d", host, p, MinPriority, MaxPriority)
		}
		if again := Priority(host); again != p {
			t.Fatalf("Priority(%s) = %d then %d", host, p, again)
		}
		seen[p] = true
	}
	if len(seen) < 15000 { // ~16000 expected for 20000 hosts over 50000 slots
		t.Errorf("20000 hosts share only %d priorities", len(seen))
	}
}

func TestEnsure(t *testing.T) {
	p := Priority(testHost)

	tests := []struct {
		name  string
		host  string // testHost when empty
		setup func(f *fakeELB)
		// listener asked for; testListener when empty.
		listener    string
		want        Result // ARN "new" means the rule CreateRule made
		wantTried   []int  // priorities of the CreateRule calls
		wantErr     string // the steperr name
		wantErrIn   []string
		wantAPICode string // an AWS error code kept in the chain
		wantMarkers []string
	}{
		{
			name: "autostop's rule for the host: reused, no CreateRule",
			setup: func(f *fakeELB) {
				f.add("other.autostop.example.test", 3, ourTags("other.autostop.example.test"))
				f.add(testHost, 7, ourTags(testHost))
			},
			want: Result{ARN: "rule-2", Priority: 7},
		},
		{
			name: "autostop's rule for the host forwarding to another target group: pointed at the rule's",
			setup: func(f *fakeELB) {
				f.add(testHost, 7, ourTags(testHost))
				f.rules[0].Actions[0].TargetGroupArn = aws.String(testTG + "-old")
			},
			want: Result{ARN: "rule-1", Priority: 7, Modified: true},
		},
		{
			name: "ModifyRule failing: the error, wrapped",
			setup: func(f *fakeELB) {
				f.add(testHost, 7, ourTags(testHost))
				f.rules[0].Actions[0].TargetGroupArn = aws.String(testTG + "-old")
				f.errs["ModifyRule"] = []error{apiErr("AccessDenied")}
			},
			wantErr: "AccessDenied", wantAPICode: "AccessDenied", wantErrIn: []string{"point host rule"},
		},
		{
			name:  "the host matched whatever its case",
			host:  "App.Autostop.Example.Test",
			setup: func(f *fakeELB) { f.add(testHost, 7, ourTags(testHost)) },
			want:  Result{ARN: "rule-1", Priority: 7},
		},
		{
			name: "a rule described with the legacy Values only: found",
			setup: func(f *fakeELB) {
				f.add(testHost, 7, ourTags(testHost))
				f.rules[0].Conditions[0].HostHeaderConfig = nil
			},
			want: Result{ARN: "rule-1", Priority: 7},
		},
		{
			name:      "a rule for the host without autostop's tags: Conflict naming it",
			setup:     func(f *fakeELB) { f.add(testHost, 7, map[string]string{"team": "a"}) },
			wantErr:   "Conflict",
			wantErrIn: []string{"rule-1", testHost, testListener},
		},
		{
			name:      "autostop's rule tagged for another host: Conflict",
			setup:     func(f *fakeELB) { f.add(testHost, 7, ourTags("other.autostop.example.test")) },
			wantErr:   "Conflict",
			wantErrIn: []string{"rule-1"},
		},
		{
			name: "autostop:rule without managed-by: Conflict",
			setup: func(f *fakeELB) {
				f.add(testHost, 7, map[string]string{ownership.RuleKey: testHost, ownership.ManagedByKey: "someone-else"})
			},
			wantErr: "Conflict",
		},
		{
			name:      "no rule: created at Priority(host)",
			want:      Result{ARN: "new", Priority: p, Created: true},
			wantTried: []int{p},
		},
		{
			name: "rules of other hosts and the default rule do not count",
			setup: func(f *fakeELB) {
				f.add("other.autostop.example.test", 3, ourTags("other.autostop.example.test"))
				f.add("app.autostop.example.test.evil", 4, nil)
				f.add(testHost, 5, ourTags(testHost))
				f.rules[2].Conditions[0] = elbtypes.RuleCondition{ // path-pattern = app.autostop.example.test
					Field: aws.String("path-pattern"), Values: []string{testHost},
				}
				f.add(testHost, 6, ourTags(testHost))
				f.rules[3].Conditions = append(f.rules[3].Conditions, elbtypes.RuleCondition{ // and a path
					Field: aws.String("path-pattern"), Values: []string{"/admin/*"},
				})
			},
			want:      Result{ARN: "new", Priority: p, Created: true},
			wantTried: []int{p},
		},
		{
			name: "priority taken by a listed rule: the next free one",
			setup: func(f *fakeELB) {
				f.add("a.autostop.example.test", p, nil)
				f.add("b.autostop.example.test", p+1, nil)
			},
			want:      Result{ARN: "new", Priority: p + 2, Created: true},
			wantTried: []int{p + 2},
		},
		{
			name: "priorities wrap from 50000 to 1",
			host: wrapHost,
			setup: func(f *fakeELB) {
				f.add("a.autostop.example.test", MaxPriority, nil)
				f.add("b.autostop.example.test", MinPriority, nil)
			},
			want:      Result{ARN: "new", Priority: 2, Created: true},
			wantTried: []int{2},
		},
		{
			name:      "PriorityInUse from CreateRule (raced): the next one",
			setup:     func(f *fakeELB) { f.taken[p], f.taken[p+1] = true, true },
			want:      Result{ARN: "new", Priority: p + 2, Created: true},
			wantTried: []int{p, p + 1, p + 2},
		},
		{
			name: "raced at 50000: wraps to 1",
			host: wrapHost,
			setup: func(f *fakeELB) {
				f.taken[MaxPriority] = true
			},
			want:      Result{ARN: "new", Priority: 1, Created: true},
			wantTried: []int{MaxPriority, 1},
		},
		{
			name: "PriorityInUse at every try: gives up",
			setup: func(f *fakeELB) {
				for range maxProbes {
					f.errs["CreateRule"] = append(f.errs["CreateRule"], apiErr("PriorityInUse"))
				}
			},
			wantTried: seq(p, maxProbes),
			wantErr:   "Internal",
			wantErrIn: []string{"no free priority"},
		},
		{
			name: "rules on several pages: the host's rule on the last page is reused",
			setup: func(f *fakeELB) {
				f.pageSize = 2
				for i := range 4 {
					f.add(fmt.Sprintf("r%d.autostop.example.test", i), 10+i, nil)
				}
				f.add(testHost, 20, ourTags(testHost))
			},
			want:        Result{ARN: "rule-5", Priority: 20},
			wantMarkers: []string{"", "2", "4"},
		},
		{
			name: "rules on several pages: priorities on every page are skipped",
			setup: func(f *fakeELB) {
				f.pageSize = 1
				f.add("a.autostop.example.test", 1, nil)
				f.add("b.autostop.example.test", 2, nil)
				f.add("c.autostop.example.test", p, nil)
			},
			want:        Result{ARN: "new", Priority: p + 1, Created: true},
			wantTried:   []int{p + 1},
			wantMarkers: []string{"", "1", "2", "3"},
		},
		{
			name:      "listener gone: NotFound",
			listener:  testListener + "-gone",
			wantErr:   "NotFound",
			wantErrIn: []string{testListener + "-gone"},
		},
		{
			name:        "DescribeRules failing otherwise: wrapped",
			setup:       func(f *fakeELB) { f.errs["DescribeRules"] = []error{apiErr("Throttling")} },
			wantErr:     "Throttled",
			wantErrIn:   []string{"describe rules of " + testListener},
			wantAPICode: "Throttling",
		},
		{
			name: "DescribeTags failing: wrapped",
			setup: func(f *fakeELB) {
				f.add(testHost, 7, ourTags(testHost))
				f.errs["DescribeTags"] = []error{apiErr("AccessDenied")}
			},
			wantErr:     "AccessDenied",
			wantErrIn:   []string{"describe tags of"},
			wantAPICode: "AccessDenied",
		},
		{
			name:        "CreateRule failing otherwise: wrapped with the priority",
			setup:       func(f *fakeELB) { f.errs["CreateRule"] = []error{apiErr("TooManyRules")} },
			wantTried:   []int{p},
			wantErr:     "Internal",
			wantErrIn:   []string{"create host rule for " + testHost, fmt.Sprintf("priority %d", p)},
			wantAPICode: "TooManyRules",
		},
		{
			name:      "CreateRule naming no rule: an error",
			setup:     func(f *fakeELB) { f.noRuleInAnswer = true },
			wantTried: []int{p},
			wantErr:   "Internal",
			wantErrIn: []string{"names no rule"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			host := cmp.Or(tt.host, testHost)
			spec := Spec{
				ListenerARN: cmp.Or(tt.listener, testListener), Host: host, TargetGroupARN: testTG,
				Tags: ownership.Tags("web", "wake-1", map[string]string{"team": "a"}),
			}
			specTags := maps.Clone(spec.Tags)
			before := len(f.rules)

			got, err := Ensure(context.Background(), f, spec)

			if tt.wantTried != nil || tt.wantErr == "" {
				if tried := f.tried(); !slices.Equal(tried, tt.wantTried) {
					t.Errorf("CreateRule at priorities %v, want %v", tried, tt.wantTried)
				}
			}
			if tt.wantMarkers != nil && !slices.Equal(f.markers, tt.wantMarkers) {
				t.Errorf("DescribeRules markers %q, want %q", f.markers, tt.wantMarkers)
			}
			if !maps.Equal(spec.Tags, specTags) {
				t.Errorf("Ensure changed the spec's tags: %v", spec.Tags)
			}
			if tt.wantErr != "" {
				if name := stepError(err); name != tt.wantErr {
					t.Fatalf("err = %v (%s), want %s", err, name, tt.wantErr)
				}
				for _, w := range tt.wantErrIn {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				if tt.wantAPICode != "" && steperr.ErrorCode(err) != tt.wantAPICode {
					t.Errorf("error code %q in %v, want %q kept", steperr.ErrorCode(err), err, tt.wantAPICode)
				}
				if len(f.rules) != before && !f.noRuleInAnswer {
					t.Errorf("%d rules created on error", len(f.rules)-before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}

			want := tt.want
			if want.ARN == "new" {
				if len(f.rules) != before+1 {
					t.Fatalf("%d rules created, want 1", len(f.rules)-before)
				}
				want.ARN = aws.ToString(f.rules[len(f.rules)-1].RuleArn)
			} else {
				want.ARN = strings.Replace(testListener, ":listener/", ":listener-rule/", 1) + "/" + want.ARN
			}
			if got != want {
				t.Errorf("Ensure = %+v, want %+v", got, want)
			}
			if n := f.count("ModifyRule"); (n == 1) != want.Modified || n > 1 {
				t.Errorf("%d ModifyRule calls, modified %v", n, want.Modified)
			}
			if i := f.find(got.ARN); i < 0 || !forwardsTo(f.rules[i], testTG) {
				t.Errorf("the host rule does not forward to %s alone afterwards", testTG)
			}
			if !want.Created {
				if n := f.count("CreateRule"); n != 0 {
					t.Errorf("%d CreateRule calls for an existing rule", n)
				}
				return
			}

			in := f.creates[len(f.creates)-1]
			if aws.ToString(in.ListenerArn) != testListener {
				t.Errorf("created on %s", aws.ToString(in.ListenerArn))
			}
			if len(in.Conditions) != 1 || aws.ToString(in.Conditions[0].Field) != "host-header" ||
				in.Conditions[0].HostHeaderConfig == nil || !slices.Equal(in.Conditions[0].HostHeaderConfig.Values, []string{host}) {
				t.Errorf("conditions %+v, want host-header = %s", in.Conditions, host)
			}
			if len(in.Actions) != 1 || in.Actions[0].Type != elbtypes.ActionTypeEnumForward || aws.ToString(in.Actions[0].TargetGroupArn) != testTG {
				t.Errorf("actions %+v, want forward to %s", in.Actions, testTG)
			}
			wantTags := maps.Clone(specTags)
			wantTags[ownership.RuleKey] = host
			var keys []string
			gotTags := map[string]string{}
			for _, tag := range in.Tags {
				keys = append(keys, aws.ToString(tag.Key))
				gotTags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			if !maps.Equal(gotTags, wantTags) || !slices.IsSorted(keys) {
				t.Errorf("tags %v (keys %v), want %v sorted", gotTags, keys, wantTags)
			}

			// A second Ensure finds what the first created.
			again, err := Ensure(context.Background(), f, spec)
			if err != nil || again.ARN != got.ARN || again.Priority != got.Priority || again.Created {
				t.Errorf("second Ensure = %+v, %v; want %s at %d, not created", again, err, got.ARN, got.Priority)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	ruleARN := func(n int) string {
		return fmt.Sprintf("%s/rule-%d", strings.Replace(testListener, ":listener/", ":listener-rule/", 1), n)
	}

	tests := []struct {
		name        string
		host        string
		listener    string
		setup       func(f *fakeELB)
		want        string // the ARN returned
		wantDeleted []string
		wantCalls   int // DeleteRule calls
		wantErr     string
		wantErrIn   string
	}{
		{
			name: "autostop's rule for the host: deleted, other rules left",
			setup: func(f *fakeELB) {
				f.add("other.autostop.example.test", 3, ourTags("other.autostop.example.test"))
				f.add(testHost, 7, ourTags(testHost))
			},
			want: ruleARN(2), wantDeleted: []string{ruleARN(2)}, wantCalls: 1,
		},
		{
			name:  "the host matched whatever its case",
			host:  "APP.autostop.example.test",
			setup: func(f *fakeELB) { f.add(testHost, 7, ourTags(testHost)) },
			want:  ruleARN(1), wantDeleted: []string{ruleARN(1)}, wantCalls: 1,
		},
		{
			name:  "a foreign rule for the host: left alone",
			setup: func(f *fakeELB) { f.add(testHost, 7, map[string]string{"team": "a"}) },
		},
		{
			name:  "autostop's rule tagged for another host: left alone",
			setup: func(f *fakeELB) { f.add(testHost, 7, ourTags("other.autostop.example.test")) },
		},
		{
			name: "a foreign rule and autostop's for the host: only autostop's deleted",
			setup: func(f *fakeELB) {
				f.add(testHost, 5, nil)
				f.add(testHost, 9, ourTags(testHost))
			},
			want: ruleARN(2), wantDeleted: []string{ruleARN(2)}, wantCalls: 1,
		},
		{
			name:  "no rule for the host: nothing, no call",
			setup: func(f *fakeELB) { f.add("other.autostop.example.test", 3, ourTags("other.autostop.example.test")) },
		},
		{
			name: "the rule on a later page",
			setup: func(f *fakeELB) {
				f.pageSize = 1
				f.add("other.autostop.example.test", 3, nil)
				f.add(testHost, 7, ourTags(testHost))
			},
			want: ruleARN(2), wantDeleted: []string{ruleARN(2)}, wantCalls: 1,
		},
		{
			name: "RuleNotFound on delete (deleted meanwhile): not an error",
			setup: func(f *fakeELB) {
				f.add(testHost, 7, ourTags(testHost))
				f.errs["DeleteRule"] = []error{apiErr("RuleNotFound")}
			},
			want: ruleARN(1), wantCalls: 1,
		},
		{
			name: "DeleteRule failing otherwise: wrapped",
			setup: func(f *fakeELB) {
				f.add(testHost, 7, ourTags(testHost))
				f.errs["DeleteRule"] = []error{apiErr("Throttling")}
			},
			wantCalls: 1, wantErr: "Throttled", wantErrIn: "delete host rule " + ruleARN(1),
		},
		{
			name: "DescribeTags failing: wrapped",
			setup: func(f *fakeELB) {
				f.add(testHost, 7, ourTags(testHost))
				f.errs["DescribeTags"] = []error{apiErr("InternalFailure")}
			},
			wantErr: "Internal", wantErrIn: "describe tags of " + ruleARN(1),
		},
		{name: "listener gone: NotFound", listener: testListener + "-gone", wantErr: "NotFound", wantErrIn: testListener + "-gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			got, err := Delete(context.Background(), f, cmp.Or(tt.listener, testListener), cmp.Or(tt.host, testHost))

			if n := f.count("DeleteRule"); n != tt.wantCalls {
				t.Errorf("%d DeleteRule calls, want %d", n, tt.wantCalls)
			}
			if !slices.Equal(f.deleted, tt.wantDeleted) {
				t.Errorf("deleted %v, want %v", f.deleted, tt.wantDeleted)
			}
			if tt.wantErr != "" {
				if name := stepError(err); name != tt.wantErr || !strings.Contains(err.Error(), tt.wantErrIn) {
					t.Fatalf("err = %v (%s), want %s naming %q", err, name, tt.wantErr, tt.wantErrIn)
				}
				var apiErr smithy.APIError
				if tt.wantErr != "NotFound" && !errors.As(err, &apiErr) {
					t.Errorf("the AWS error is not kept in %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if got != tt.want {
				t.Errorf("Delete = %q, want %q", got, tt.want)
			}
		})
	}
}

// seq is n priorities from p on.
func seq(p, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = p + i
	}

	return out
}
