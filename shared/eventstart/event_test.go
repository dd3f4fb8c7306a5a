package eventstart

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/autostop/autostop/shared/steperr"
)

func TestParseEvent(t *testing.T) {
	newLB := sampleEvent(t, sampleNew)
	existing := sampleEvent(t, sampleExisting)

	set := func(path, key string, v any) func(map[string]any) {
		return func(d map[string]any) { obj(d, path)[key] = v }
	}
	del := func(path, key string) func(map[string]any) {
		return func(d map[string]any) { delete(obj(d, path), key) }
	}
	raw := func(detail string) events.EventBridgeEvent {
		ev := newLB
		ev.Detail = []byte(detail)
		return ev
	}

	tests := []struct {
		name string
		ev   events.EventBridgeEvent
		// wantErr is a part of the InvalidRequest message; "" for success.
		wantErr string
	}{
		{name: "sample: new load balancer", ev: newLB},
		{name: "sample: existing load balancer", ev: existing},
		{name: "health check optional", ev: withDetail(t, newLB, del("rule", "healthCheck"))},

		// Envelope.
		{name: "other source", ev: func() events.EventBridgeEvent { e := newLB; e.Source = "aws.ec2"; return e }(), wantErr: `source: "aws.ec2"`},
		{name: "other detail-type", ev: func() events.EventBridgeEvent { e := newLB; e.DetailType = "AutoStopping Rule Updated"; return e }(), wantErr: "detail-type"},
		{name: "a created rule's detail under the deleted detail-type", ev: func() events.EventBridgeEvent { e := newLB; e.DetailType = DetailTypeRuleDeleted; return e }(), wantErr: `unknown field "rule"`},
		{name: "no id", ev: func() events.EventBridgeEvent { e := newLB; e.ID = ""; return e }(), wantErr: "id: required"},
		{name: "no detail", ev: raw(""), wantErr: "detail: required"},
		{name: "null detail", ev: raw("null"), wantErr: "detail: required"},
		{name: "detail not an object", ev: raw(`"x"`), wantErr: "cannot unmarshal"},
		{name: "trailing data after detail", ev: raw(`{"rule":{},"loadBalancer":{}} {}`), wantErr: "unexpected data"},

		// Unknown fields, at every depth.
		{name: "unknown field in detail", ev: withDetail(t, newLB, set("", "rules", 1)), wantErr: `unknown field "rules"`},
		{name: "unknown field in rule", ev: withDetail(t, newLB, set("rule", "idleMinute", 5)), wantErr: `unknown field "idleMinute"`},
		{name: "unknown field in healthCheck", ev: withDetail(t, newLB, set("rule.healthCheck", "interval", 5)), wantErr: `unknown field "interval"`},
		{name: "unknown field in loadBalancer", ev: withDetail(t, newLB, set("loadBalancer", "arn", "x")), wantErr: `unknown field "arn"`},
		{name: "unknown field in spec", ev: withDetail(t, newLB, set("loadBalancer.spec", "subnets", []string{})), wantErr: `unknown field "subnets"`},
		{name: "unknown field in spec.dns", ev: withDetail(t, newLB, set("loadBalancer.spec.dns", "zone", "Z1")), wantErr: `unknown field "zone"`},
		{name: "wrong type", ev: withDetail(t, newLB, set("rule", "port", "8080")), wantErr: "cannot unmarshal string"},

		// Load balancer reference.
		{name: "name and spec", ev: withDetail(t, newLB, set("loadBalancer", "name", "autostop-demo")), wantErr: "exactly one of name or spec"},
		{name: "neither name nor spec", ev: withDetail(t, newLB, del("loadBalancer", "spec")), wantErr: "loadBalancer: give exactly one"},
		{name: "bad load balancer name", ev: withDetail(t, existing, set("loadBalancer", "name", "-bad")), wantErr: "loadBalancer.name"},
		{name: "spec fails Check", ev: withDetail(t, newLB, set("loadBalancer.spec", "vpcId", "vpc-XYZ")), wantErr: "loadBalancer.spec.vpcId"},
		{name: "spec without name", ev: withDetail(t, newLB, del("loadBalancer.spec", "name")), wantErr: "loadBalancer.spec.name: required"},

		// Rule.
		{name: "no rule", ev: withDetail(t, newLB, del("", "rule")), wantErr: "rule.name: required"},
		{name: "bad rule name", ev: withDetail(t, newLB, set("rule", "name", "my_app")), wantErr: "rule.name"},
		{name: "wildcard host", ev: withDetail(t, newLB, set("rule", "host", "*.example.com")), wantErr: "rule.host"},
		{name: "host optional (default <name>.<domain>)", ev: withDetail(t, newLB, del("rule", "host"))},
		{name: "host not under the spec's domain", ev: withDetail(t, newLB, set("rule", "host", "app.example.com")), wantErr: `rule.host: "app.example.com" is not one label under the load balancer's domain "autostop.example.com"`},
		{name: "host two labels deep", ev: withDetail(t, newLB, set("rule", "host", "a.b.autostop.example.com")), wantErr: "cover *.autostop.example.com only"},
		{name: "host case and trailing dot", ev: withDetail(t, newLB, set("rule", "host", "App.AutoStop.example.com."))},
		{name: "grace too long", ev: withDetail(t, newLB, set("rule", "graceSeconds", 601)), wantErr: "rule.graceSeconds: 601 is not within 0–600"},
		{name: "hold past the ALB idle timeout", ev: withDetail(t, newLB, set("rule", "holdSeconds", 51)), wantErr: "rule.holdSeconds: 51 is not within 1–50"},
		{name: "held cap too large", ev: withDetail(t, newLB, set("rule", "maxHeldRequests", 1001)), wantErr: "rule.maxHeldRequests"},
		{name: "reserved tag key", ev: withDetail(t, newLB, set("rule", "tags", map[string]string{"autostop:x": "1"})), wantErr: `rule.tags["autostop:x"]: keys starting with aws: or autostop: are reserved`},
		{name: "timeout not below the default interval", ev: withDetail(t, newLB, func(d map[string]any) { obj(d, "rule")["healthCheck"] = map[string]any{"timeoutSeconds": 30} }), wantErr: "30 must be less than intervalSeconds (30)"},
		{name: "no instances", ev: withDetail(t, newLB, set("rule", "instanceIds", []string{})), wantErr: "rule.instanceIds: at least one"},
		{name: "bad instance id", ev: withDetail(t, newLB, set("rule", "instanceIds", []string{"i-XYZ"})), wantErr: "rule.instanceIds[0]"},
		{name: "instance twice", ev: withDetail(t, newLB, set("rule", "instanceIds", []string{"i-0abc", "i-0abc"})), wantErr: "given twice"},
		{name: "port 0", ev: withDetail(t, newLB, del("rule", "port")), wantErr: "rule.port"},
		{name: "port too large", ev: withDetail(t, newLB, set("rule", "port", 70000)), wantErr: "rule.port"},
		{name: "idle minutes 0", ev: withDetail(t, newLB, set("rule", "idleMinutes", 0)), wantErr: "rule.idleMinutes"},
		{name: "health path relative", ev: withDetail(t, newLB, set("rule.healthCheck", "path", "healthz")), wantErr: "rule.healthCheck.path"},
		{name: "interval too short", ev: withDetail(t, newLB, set("rule.healthCheck", "intervalSeconds", 1)), wantErr: "rule.healthCheck.intervalSeconds"},
		{name: "timeout not below interval", ev: withDetail(t, newLB, set("rule.healthCheck", "timeoutSeconds", 15)), wantErr: "less than intervalSeconds"},
		{name: "threshold too high", ev: withDetail(t, newLB, set("rule.healthCheck", "healthyThresholdCount", 11)), wantErr: "healthyThresholdCount"},
		{name: "bad success codes", ev: withDetail(t, newLB, set("rule.healthCheck", "successCodes", "2xx")), wantErr: "successCodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseEvent(tt.ev)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseEvent: %v", err)
				}
				if d.Created == nil || d.Deleted != nil || d.Created.Rule.Name == "" || d.Created.LoadBalancer.LoadBalancerName() == "" {
					t.Errorf("parsed detail lacks the rule or load balancer name: %+v", d)
				}
				return
			}

			var inv *steperr.InvalidRequest
			if !errors.As(err, &inv) {
				t.Fatalf("ParseEvent error %v (%T), want InvalidRequest", err, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if tt.ev.ID != "" && !strings.Contains(err.Error(), tt.ev.ID) {
				t.Errorf("error %q does not name the event %s", err, tt.ev.ID)
			}
		})
	}
}

func TestParseEventListsEveryProblem(t *testing.T) {
	ev := withDetail(t, sampleEvent(t, sampleNew), func(d map[string]any) {
		obj(d, "rule")["port"] = 0
		obj(d, "rule")["idleMinutes"] = 0
		obj(d, "loadBalancer.spec")["vpcId"] = ""
	})
	_, err := ParseEvent(ev)
	for _, want := range []string{"rule.port", "rule.idleMinutes", "loadBalancer.spec.vpcId: required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not report %s", err, want)
		}
	}
}

func TestParseDeletedEvent(t *testing.T) {
	deleted := sampleEvent(t, sampleDeleted)
	withRaw := func(detail string) events.EventBridgeEvent {
		ev := deleted
		ev.Detail = []byte(detail)
		return ev
	}

	tests := []struct {
		name     string
		ev       events.EventBridgeEvent
		wantHost string
		wantErr  string
	}{
		{name: "sample", ev: deleted, wantHost: "app.autostop.example.com"},
		{name: "host only, normalized", ev: withRaw(`{"host":"App.AutoStop.Example.com."}`), wantHost: "app.autostop.example.com"},
		{name: "no host", ev: withRaw(`{"name":"app"}`), wantErr: "host: required"},
		{name: "wildcard host", ev: withRaw(`{"host":"*.autostop.example.com"}`), wantErr: "is not a host name"},
		{name: "bad name", ev: withRaw(`{"host":"app.autostop.example.com","name":"my_app"}`), wantErr: "name: \"my_app\""},
		{name: "unknown field", ev: withRaw(`{"host":"app.autostop.example.com","rule":{}}`), wantErr: `unknown field "rule"`},
		{name: "null detail", ev: withRaw(`null`), wantErr: "detail: required"},
		{name: "every problem", ev: withRaw(`{"host":"","name":"-x"}`), wantErr: "host: required; name:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseEvent(tt.ev)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseEvent: %v", err)
				}
				if d.Deleted == nil || d.Created != nil || d.Deleted.Host != tt.wantHost {
					t.Errorf("parsed %+v, want a deleted rule for host %s", d, tt.wantHost)
				}
				return
			}
			var inv *steperr.InvalidRequest
			if !errors.As(err, &inv) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.ev.ID) {
				t.Errorf("error %v, want an InvalidRequest naming the event and containing %q", err, tt.wantErr)
			}
		})
	}
}
