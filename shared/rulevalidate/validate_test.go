package rulevalidate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/ruletarget"
	"github.com/autostop/autostop/shared/steperr"
)

// detail is a valid "AutoStopping Rule Created" detail on the fake's load
// balancer, by name.
func detail() map[string]any {
	return map[string]any{
		"rule": map[string]any{
			"name": "app", "instanceIds": []string{i1, i2}, "port": 8080, "idleMinutes": 15,
			"healthCheck": map[string]any{"path": "/healthz", "healthyThresholdCount": 2},
		},
		"loadBalancer": map[string]any{"name": lbName},
	}
}

func rawInput(t *testing.T, d map[string]any, extra map[string]any) json.RawMessage {
	t.Helper()
	doc := map[string]any{"detail": d, "execution": execution, "stateMachine": "arn:aws:states:us-east-1:000000000000:stateMachine:autostop-attach-rule", "results": map[string]any{}}
	for k, v := range extra {
		doc[k] = v
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}

	return raw
}

func run(t *testing.T, f *fake, raw json.RawMessage) (ruledoc.Validated, error) {
	t.Helper()
	in, d, err := Decode(raw)
	if err != nil {
		return ruledoc.Validated{}, err
	}

	return Validate(t.Context(), f.deps(), in, d)
}

func ruleOf(d map[string]any) map[string]any { return d["rule"].(map[string]any) }

func TestValidate(t *testing.T) {
	otherItem := func(host string) rulestore.Item {
		r := rule.Rule{Name: "other", InstanceIDs: []string{"i-00000000000000077"}, Port: 80, IdleMinutes: 5}.WithDefaults(domain)
		r.Host = host
		return rulestore.Item{Host: host, Rule: r, LoadBalancer: lbName, AttachedBy: "evt-0", State: rulestore.Stopped}
	}

	tests := []struct {
		name   string
		setup  func(f *fake)
		detail func(d map[string]any)
		extra  map[string]any
		// wantErr: "" for success, else the error's type name; wantText
		// lists parts of its message.
		wantErr  string
		wantText []string
		check    func(t *testing.T, v ruledoc.Validated)
	}{
		{
			name: "valid: defaults filled, load balancer resolved",
			check: func(t *testing.T, v ruledoc.Validated) {
				if v.Rule.Host != "app."+domain || v.Rule.HoldSeconds != rule.DefaultHoldSeconds || v.Rule.HealthCheck.IntervalSeconds != 30 || v.Rule.HealthCheck.Path != "/healthz" {
					t.Errorf("rule %+v (hc %+v): want defaults filled", v.Rule, *v.Rule.HealthCheck)
				}
				want := ruledoc.LoadBalancer{Name: lbName, ARN: lbARN, Region: region, VPCID: vpc, Domain: domain, ListenerARN: httpsARN, ProxyTargetGroupARN: proxyARN}
				if v.LoadBalancer != want {
					t.Errorf("load balancer\n%+v\nwant\n%+v", v.LoadBalancer, want)
				}
				if !slices.Equal(v.Instances, []ruledoc.Instance{{ID: i1, State: "stopped"}, {ID: i2, State: "stopped"}}) || v.Existing != "" || v.Rules != 1 {
					t.Errorf("instances %+v, existing %q, rules %d", v.Instances, v.Existing, v.Rules)
				}
			},
		},
		{
			name: "HTTP only: host rules go on port 80",
			setup: func(f *fake) {
				f.listeners = []elbtypes.Listener{{ListenerArn: aws.String(httpARN), LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
					DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(proxyARN)}}}}}}}
			},
			check: func(t *testing.T, v ruledoc.Validated) {
				if v.LoadBalancer.ListenerARN != httpARN || v.LoadBalancer.ProxyTargetGroupARN != proxyARN {
					t.Errorf("listener %s, proxy %s", v.LoadBalancer.ListenerARN, v.LoadBalancer.ProxyTargetGroupARN)
				}
			},
		},
		{
			name:   "explicit host in another case: normalized",
			detail: func(d map[string]any) { ruleOf(d)["host"] = "App.AutoStop.Example.Test." },
			check: func(t *testing.T, v ruledoc.Validated) {
				if v.Rule.Host != "app."+domain {
					t.Errorf("host %q", v.Rule.Host)
				}
			},
		},
		{
			name:  "nested provisioning's output names the load balancer by ARN",
			extra: map[string]any{"provisioned": map[string]any{"executionArn": "arn:x", "status": "SUCCEEDED", "output": map[string]any{"name": lbName, "results": map[string]any{"loadBalancer": map[string]any{"arn": lbARN}}}}},
			detail: func(d map[string]any) {
				d["loadBalancer"] = map[string]any{"spec": map[string]any{"name": lbName, "vpcId": vpc, "domain": domain, "dns": map[string]any{"provider": "other"}}}
			},
			check: func(t *testing.T, v ruledoc.Validated) {
				if v.LoadBalancer.ARN != lbARN || v.LoadBalancer.Domain != domain {
					t.Errorf("load balancer %+v", v.LoadBalancer)
				}
			},
		},
		{
			name: "an item of this execution: a retry",
			setup: func(f *fake) {
				it := otherItem("app." + domain)
				it.AttachedBy = execution
				f.items[it.Host] = it
			},
			check: func(t *testing.T, v ruledoc.Validated) {
				if v.Existing != ruledoc.ExistingThisExecution {
					t.Errorf("existing %q", v.Existing)
				}
			},
		},
		{
			name: "an identical rule attached by another execution: nothing to do",
			setup: func(f *fake) {
				_, d, _ := Decode(rawInput(t, detail(), nil))
				r := d.Rule.WithDefaults(domain)
				f.items[r.Host] = rulestore.Item{Host: r.Host, Rule: r, LoadBalancer: lbName, AttachedBy: "evt-0"}
			},
			check: func(t *testing.T, v ruledoc.Validated) {
				if v.Existing != ruledoc.ExistingIdenticalRule {
					t.Errorf("existing %q", v.Existing)
				}
			},
		},
		{
			name: "an earlier attempt's own target group does not count",
			setup: func(f *fake) {
				for i := range 98 {
					f.addRuleTG(fmt.Sprintf("r%d-%08x", i, i), lbName, fmt.Sprintf("r%d.%s", i, domain))
				}
				f.addRuleTG(ruletarget.TargetGroupName("app", "app."+domain), lbName, "app."+domain)
			},
			check: func(t *testing.T, v ruledoc.Validated) {
				if v.Rules != 99 {
					t.Errorf("rules %d, want 99", v.Rules)
				}
			},
		},

		// Static problems.
		{name: "bad rule: every problem", detail: func(d map[string]any) { ruleOf(d)["port"] = 0; ruleOf(d)["name"] = "my_app" },
			wantErr: "InvalidRequest", wantText: []string{"rule.port", "rule.name"}},
		{name: "unknown field", detail: func(d map[string]any) { ruleOf(d)["idleMinute"] = 3 }, wantErr: "InvalidRequest", wantText: []string{`unknown field "idleMinute"`}},

		// The load balancer.
		{name: "load balancer missing", detail: func(d map[string]any) { d["loadBalancer"] = map[string]any{"name": "nope"} },
			wantErr: "InvalidRequest", wantText: []string{`load balancer "nope" does not exist in us-east-1`}},
		{name: "load balancer without listeners", setup: func(f *fake) { f.listeners = nil },
			wantErr: "InvalidRequest", wantText: []string{"no HTTPS 443 or HTTP 80 listener"}},
		{name: "listener forwarding elsewhere: not autostop's", setup: func(f *fake) { f.tags[proxyARN] = map[string]string{"team": "x"} },
			wantErr: "Conflict", wantText: []string{"is not an autostop load balancer", proxyARN}},
		{name: "proxy target group of another load balancer", setup: func(f *fake) { f.tags[proxyARN]["autostop:load-balancer"] = "other" },
			wantErr: "Conflict", wantText: []string{"is not an autostop load balancer"}},
		{name: "listener redirecting only", setup: func(f *fake) {
			f.listeners[1].DefaultActions = []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}
		},
			wantErr: "Conflict", wantText: []string{"does not forward"}},
		{name: "no domain tag", setup: func(f *fake) { delete(f.tags[proxyARN], ownership.DomainKey) },
			wantErr: "InvalidRequest", wantText: []string{"carries no autostop:domain tag", "provision the load balancer again"}},

		// The rule on this load balancer.
		{name: "host not under the domain", detail: func(d map[string]any) { ruleOf(d)["host"] = "app.example.test" },
			wantErr: "InvalidRequest", wantText: []string{"rule.host", "*." + domain}},
		{name: "instances missing, terminated, in another VPC: all listed", setup: func(f *fake) {
			f.addInstance(i2, "terminated", vpc, nil)
			f.addInstance("i-0000000000000000c", "running", otherVPC, nil)
		}, detail: func(d map[string]any) {
			ruleOf(d)["instanceIds"] = []string{"i-00000000000000dead", i2, "i-0000000000000000c"}
		},
			wantErr: "InvalidRequest", wantText: []string{"instance i-00000000000000dead does not exist", "instance " + i2 + " is terminated", `instance i-0000000000000000c is in VPC "` + otherVPC + `"`}},
		{name: "instance in another rule: Conflict naming it", setup: func(f *fake) {
			f.addInstance(i2, "running", vpc, map[string]string{"autostop:rule": "other." + domain})
			f.items["other."+domain] = otherItem("other." + domain)
		}, wantErr: "Conflict", wantText: []string{"instance " + i2 + " is in the AutoStopping rule of host other." + domain, `"other" on load balancer ` + lbName, "one rule at most"}},
		{name: "instance tagged by an attach that did not complete", setup: func(f *fake) {
			f.addInstance(i2, "running", vpc, map[string]string{"autostop:rule": "gone." + domain})
		}, wantErr: "Conflict", wantText: []string{"no rule item holds that host", "detach host gone." + domain}},
		{name: "host taken by another rule", setup: func(f *fake) { f.items["app."+domain] = otherItem("app." + domain) },
			wantErr: "Conflict", wantText: []string{"host app." + domain + ` already has the AutoStopping rule "other"`, "attached by evt-0"}},
		{name: "host taken by the same rule with other settings", setup: func(f *fake) {
			_, d, _ := Decode(rawInput(t, detail(), nil))
			r := d.Rule.WithDefaults(domain)
			r.Port = 9090
			f.items[r.Host] = rulestore.Item{Host: r.Host, Rule: r, LoadBalancer: lbName, AttachedBy: "evt-0"}
		}, wantErr: "Conflict", wantText: []string{"already has the AutoStopping rule \"app\""}},
		{name: "99 rules already: no room, and why", setup: func(f *fake) {
			for i := range 99 {
				f.addRuleTG(fmt.Sprintf("r%d-%08x", i, i), lbName, fmt.Sprintf("r%d.%s", i, domain))
			}
			f.addRuleTG("x-0000beef", "other-lb", "x.other.test") // another load balancer's: not counted
		}, wantErr: "Conflict", wantText: []string{"uses 100 target groups (the proxy's and 99 AutoStopping rules')", "at most 100 target groups and one is the proxy's", "at most 99 rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			d := detail()
			if tt.detail != nil {
				tt.detail(d)
			}
			v, err := run(t, f, rawInput(t, d, tt.extra))
			if m := f.mutating(); len(m) != 0 {
				t.Errorf("mutating calls %v", m)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if tt.check != nil {
					tt.check(t, v)
				}
				return
			}
			if got := errName(err); got != tt.wantErr {
				t.Fatalf("err = %v (%s), want %s", err, got, tt.wantErr)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadBalancerVPCFallsBackToItsVpcId(t *testing.T) {
	f := newFake()
	f.subnets = nil // subnets not readable: trust the load balancer's VpcId
	f.addInstance(i1, "stopped", "vpc-madeup", nil)
	f.addInstance(i2, "running", "vpc-madeup", nil)
	v, err := run(t, f, rawInput(t, detail(), nil))
	if err != nil || v.LoadBalancer.VPCID != "vpc-madeup" {
		t.Fatalf("Validate = %+v, %v", v.LoadBalancer, err)
	}
}

func errName(err error) string {
	var (
		inv *steperr.InvalidRequest
		con *steperr.Conflict
	)
	switch m := steperr.Map(err); {
	case err == nil:
		return ""
	case errors.As(m, &inv):
		return "InvalidRequest"
	case errors.As(m, &con):
		return "Conflict"
	default:
		return fmt.Sprintf("%T: %v", m, m)
	}
}
