package ruletarget

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	testLB   = "web"
	testExec = "evt-1"
	testHost = "app.autostop.example.test"
	testVPC  = "vpc-0123"
	i1, i2   = "i-0000000000000000a", "i-0000000000000000b"
)

func validated() *ruledoc.Validated {
	r := rule.Rule{
		Name: "app", InstanceIDs: []string{i1, i2}, Port: 8080, IdleMinutes: 15,
		HealthCheck: &rule.HealthCheck{Path: "/healthz", IntervalSeconds: 10, HealthyThresholdCount: 2, SuccessCodes: "200-399"},
		Tags:        map[string]string{"team": "a"},
	}.WithDefaults("autostop.example.test")

	return &ruledoc.Validated{
		Rule:         r,
		LoadBalancer: ruledoc.LoadBalancer{Name: testLB, VPCID: testVPC, Region: fakeRegion, Domain: "autostop.example.test"},
		Instances:    []ruledoc.Instance{{ID: i1, State: "stopped"}, {ID: i2, State: "stopped"}},
	}
}

func attachInput() ruledoc.AttachInput {
	return ruledoc.AttachInput{Execution: testExec, Validated: validated()}
}

// ruleTG creates the rule's target group as an execution would have.
func ruleTG(f *fake, execution string, change func(*elbtypes.TargetGroup)) *fakeTG {
	v := validated()
	d := desiredFor(*v, execution)
	tg := elbtypes.TargetGroup{
		TargetGroupName: aws.String(d.name), TargetType: elbtypes.TargetTypeEnumInstance, Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(8080), VpcId: aws.String(testVPC), HealthCheckPath: aws.String("/healthz"),
		HealthCheckIntervalSeconds: aws.Int32(10), HealthCheckTimeoutSeconds: aws.Int32(5), HealthyThresholdCount: aws.Int32(2),
		UnhealthyThresholdCount: aws.Int32(2), Matcher: &elbtypes.Matcher{HttpCode: aws.String("200-399")},
	}
	if change != nil {
		change(&tg)
	}

	return f.addTG(tg, d.tags)
}

func byKind(res []step.Resource) map[string][]string {
	out := map[string][]string{}
	for _, r := range res {
		out[r.Kind] = append(out[r.Kind], r.ID+"="+r.Action)
	}

	return out
}

func TestEnsure(t *testing.T) {
	name := TargetGroupName("app", testHost)
	fresh := []string{"CreateTargetGroup", "RegisterTargets", "CreateTags"}

	tests := []struct {
		name      string
		setup     func(f *fake)
		wantErr   any
		wantText  string
		wantMut   []string
		wantKinds map[string][]string
		check     func(t *testing.T, f *fake, res ruledoc.TargetResult)
	}{
		{
			name:    "fresh: target group with the health check and tags, targets, instance tags",
			wantMut: fresh,
			wantKinds: map[string][]string{
				ruledoc.KindTarget:      {i1 + ":8080=created", i2 + ":8080=created"},
				ruledoc.KindInstanceTag: {i1 + "=created", i2 + "=created"},
			},
			check: func(t *testing.T, f *fake, res ruledoc.TargetResult) {
				tg := f.tgByName(name)
				if tg == nil || aws.ToString(tg.tg.TargetGroupArn) != res.TargetGroupARN || res.TargetGroupName != name {
					t.Fatalf("target group %s: %+v, result %+v", name, tg, res)
				}
				g := tg.tg
				if g.Protocol != elbtypes.ProtocolEnumHttp || aws.ToInt32(g.Port) != 8080 || aws.ToString(g.VpcId) != testVPC || g.TargetType != elbtypes.TargetTypeEnumInstance {
					t.Errorf("target group %+v: want HTTP 8080 instance in %s", g, testVPC)
				}
				if aws.ToString(g.HealthCheckPath) != "/healthz" || aws.ToInt32(g.HealthCheckIntervalSeconds) != 10 || aws.ToInt32(g.HealthCheckTimeoutSeconds) != 5 ||
					aws.ToInt32(g.HealthyThresholdCount) != 2 || aws.ToInt32(g.UnhealthyThresholdCount) != 2 || aws.ToString(g.Matcher.HttpCode) != "200-399" {
					t.Errorf("health check %+v", g)
				}
				if !ownership.CreatedBy(tg.tags, testLB, testExec) || tg.tags[ownership.RuleKey] != testHost || tg.tags["team"] != "a" {
					t.Errorf("target group tags %v", tg.tags)
				}
				if got := tg.targetIDs(); !slices.Equal(got, []string{i1 + ":8080", i2 + ":8080"}) {
					t.Errorf("targets %v", got)
				}
				for _, id := range []string{i1, i2} {
					if f.instances[id].tags[ownership.RuleKey] != testHost {
						t.Errorf("instance %s tags %v", id, f.instances[id].tags)
					}
				}
				if byKind(res.Resources)[ruledoc.KindTargetGroup][0] != res.TargetGroupARN+"=created" {
					t.Errorf("resources %+v", res.Resources)
				}
			},
		},
		{
			name: "everything in place from an earlier execution: adopted, 0 mutating calls",
			setup: func(f *fake) {
				tg := ruleTG(f, "evt-0", nil)
				tg.targets = []elbtypes.TargetDescription{{Id: aws.String(i1), Port: aws.Int32(8080)}, {Id: aws.String(i2), Port: aws.Int32(8080)}}
				f.instances[i1].tags[ownership.RuleKey] = testHost
				f.instances[i2].tags[ownership.RuleKey] = testHost
			},
			wantKinds: map[string][]string{
				ruledoc.KindTarget:      {i1 + ":8080=adopted", i2 + ":8080=adopted"},
				ruledoc.KindInstanceTag: {i1 + "=adopted", i2 + "=adopted"},
			},
			check: func(t *testing.T, f *fake, res ruledoc.TargetResult) {
				if got := byKind(res.Resources)[ruledoc.KindTargetGroup]; len(got) != 1 || !strings.HasSuffix(got[0], "=adopted") {
					t.Errorf("target group %v, want adopted", got)
				}
			},
		},
		{
			name: "a target that is not the rule's: deregistered",
			setup: func(f *fake) {
				tg := ruleTG(f, testExec, nil)
				tg.targets = []elbtypes.TargetDescription{{Id: aws.String(i1), Port: aws.Int32(8080)}, {Id: aws.String("i-0000000000000000c"), Port: aws.Int32(8080)}, {Id: aws.String(i2), Port: aws.Int32(9090)}}
			},
			wantMut: []string{"RegisterTargets", "DeregisterTargets", "CreateTags"},
			wantKinds: map[string][]string{
				ruledoc.KindTarget:      {i1 + ":8080=adopted", i2 + ":8080=created", i2 + ":9090=deleted", "i-0000000000000000c:8080=deleted"},
				ruledoc.KindInstanceTag: {i1 + "=created", i2 + "=created"},
			},
		},
		{
			name:     "foreign target group of the same name: Conflict, nothing changed",
			setup:    func(f *fake) { ruleTG(f, testExec, nil).tags = map[string]string{"owner": "someone"} },
			wantErr:  new(*steperr.Conflict),
			wantText: "is not autostop's",
		},
		{
			name:     "target group of another host: Conflict",
			setup:    func(f *fake) { ruleTG(f, testExec, nil).tags[ownership.RuleKey] = "other.autostop.example.test" },
			wantErr:  new(*steperr.Conflict),
			wantText: "other.autostop.example.test",
		},
		{
			name: "the rule's target group with another health check: Conflict naming the difference",
			setup: func(f *fake) {
				ruleTG(f, "evt-0", func(g *elbtypes.TargetGroup) { g.HealthCheckPath = aws.String("/") })
			},
			wantErr:  new(*steperr.Conflict),
			wantText: "health check path /, the rule's /healthz",
		},
		{
			name:     "an instance in another rule: Conflict naming its host",
			setup:    func(f *fake) { f.instances[i2].tags[ownership.RuleKey] = "other.autostop.example.test" },
			wantErr:  new(*steperr.Conflict),
			wantText: "instance " + i2 + " is in the AutoStopping rule of host other.autostop.example.test",
			// The target group and targets came first.
			wantMut: []string{"CreateTargetGroup", "RegisterTargets"},
		},
		{
			name:     "an instance gone: InvalidRequest",
			setup:    func(f *fake) { delete(f.instances, i2) },
			wantErr:  new(*steperr.InvalidRequest),
			wantText: i2,
			wantMut:  []string{"CreateTargetGroup", "RegisterTargets"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.addInstance(i1, "stopped", testVPC, nil)
			f.addInstance(i2, "running", testVPC, nil)
			if tt.setup != nil {
				tt.setup(f)
			}
			res, err := Ensure(t.Context(), f.clients(), attachInput())
			if tt.wantErr != nil {
				if err == nil || !errors.As(steperr.Map(err), tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("err = %v, want %T containing %q", err, tt.wantErr, tt.wantText)
				}
				if got := f.mutating(); !slices.Equal(got, tt.wantMut) {
					t.Errorf("mutating calls %v, want %v", got, tt.wantMut)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if got := f.mutating(); !slices.Equal(got, tt.wantMut) {
				t.Errorf("mutating calls %v, want %v", got, tt.wantMut)
			}
			got := byKind(res.Resources)
			for kind, want := range tt.wantKinds {
				g := append([]string(nil), got[kind]...)
				slices.Sort(g)
				w := append([]string(nil), want...)
				slices.Sort(w)
				if !slices.Equal(g, w) {
					t.Errorf("%s: %v, want %v", kind, g, w)
				}
			}
			if tt.check != nil {
				tt.check(t, f, res)
			}

			// A re-run changes nothing.
			f.calls = nil
			again, err := Ensure(t.Context(), f.clients(), attachInput())
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if m := f.mutating(); len(m) != 0 {
				t.Errorf("re-run made mutating calls %v", m)
			}
			if again.TargetGroupARN != res.TargetGroupARN {
				t.Errorf("re-run target group %s, first %s", again.TargetGroupARN, res.TargetGroupARN)
			}
		})
	}
}

func TestEnsureNeedsValidation(t *testing.T) {
	_, err := Ensure(t.Context(), newFake().clients(), ruledoc.AttachInput{Execution: testExec})
	var inv *steperr.InvalidRequest
	if !errors.As(err, &inv) {
		t.Fatalf("err = %v, want InvalidRequest", err)
	}
}

func TestTargetGroupName(t *testing.T) {
	tests := []struct {
		rule, host string
		wantPrefix string
	}{
		{"app", testHost, "app-"},
		{"App", "APP.autostop.example.test.", "app-"},
		{"a-very-long-rule-name-that-goes-on-and-on", testHost, "a-very-long-rule-name-t-"},
		{"abcdefghijklmnopqrstuvw-xyz", testHost, "abcdefghijklmnopqrstuvw-"},
		{"abcdefghijklmnopqrstuv-xyz", testHost, "abcdefghijklmnopqrstuv-"}, // the cut ends on a hyphen: dropped
		{"internal-tools", testHost, "r-internal-tools-"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		got := TargetGroupName(tt.rule, tt.host)
		if !strings.HasPrefix(got, tt.wantPrefix) || len(got) > 32 || !NameRE.MatchString(got) || strings.Contains(got, "--") {
			t.Errorf("TargetGroupName(%q, %q) = %q (%d chars), want prefix %q, ≤ 32, matching %s", tt.rule, tt.host, got, len(got), tt.wantPrefix, NamePattern)
		}
		seen[got] = true
	}
	if TargetGroupName("app", testHost) != TargetGroupName("APP", "App.AutoStop.Example.Test.") {
		t.Error("the name depends on case or a trailing dot")
	}
	if TargetGroupName("app", testHost) == TargetGroupName("app", "app.other.example.test") {
		t.Error("two hosts of the same rule name share a target group name")
	}
}
