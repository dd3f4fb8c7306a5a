package rule

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/autostop/autostop/shared/steperr"
)

func validRule() Rule {
	return Rule{Name: "app", InstanceIDs: []string{"i-0123456789abcdef0"}, Port: 8080, IdleMinutes: 15}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Rule)
		want   []string // each a part of one problem, in order; nil = valid
	}{
		{name: "minimal rule", change: func(*Rule) {}},
		{name: "every field", change: func(r *Rule) {
			r.Host = "App.autostop.example.com."
			r.HealthCheck = &HealthCheck{Path: "/healthz?full=1", IntervalSeconds: 10, TimeoutSeconds: 3, HealthyThresholdCount: 2, UnhealthyThresholdCount: 3, SuccessCodes: "200-299,302"}
			r.GraceSeconds, r.HideProgressPage, r.HoldSeconds, r.MaxHeldRequests = 600, true, 50, 1000
			r.Tags = map[string]string{"team": "platform"}
		}},
		{name: "no name", change: func(r *Rule) { r.Name = "" }, want: []string{"rule.name: required"}},
		{name: "name not a label", change: func(r *Rule) { r.Name = "my_app" }, want: []string{`rule.name: "my_app" must be a DNS label`}},
		{name: "wildcard host", change: func(r *Rule) { r.Host = "*.example.com" }, want: []string{`rule.host: "*.example.com" is not a host name`}},
		{name: "no instances", change: func(r *Rule) { r.InstanceIDs = nil }, want: []string{"rule.instanceIds: at least one instance is required"}},
		{name: "instance twice and malformed", change: func(r *Rule) { r.InstanceIDs = []string{"i-0abc", "I-XYZ", "i-0abc"} },
			want: []string{`rule.instanceIds[1]: "I-XYZ" is not an instance ID`, `rule.instanceIds[2]: "i-0abc" is given twice`}},
		{name: "too many instances", change: func(r *Rule) {
			r.InstanceIDs = nil
			for i := range 101 {
				r.InstanceIDs = append(r.InstanceIDs, fmt.Sprintf("i-%017x", i))
			}
		}, want: []string{"rule.instanceIds: 101 given, at most 100 are allowed"}},
		{name: "port and idle minutes out of range", change: func(r *Rule) { r.Port, r.IdleMinutes = 0, 1441 },
			want: []string{"rule.port: 0 is not within 1–65535", "rule.idleMinutes: 1441 is not within 1–1440"}},
		{name: "negative grace", change: func(r *Rule) { r.GraceSeconds = -1 }, want: []string{"rule.graceSeconds: -1 is not within 0–600"}},
		{name: "hold past the ALB idle timeout", change: func(r *Rule) { r.HoldSeconds = 51 }, want: []string{"rule.holdSeconds: 51 is not within 1–50"}},
		{name: "negative held cap", change: func(r *Rule) { r.MaxHeldRequests = -5 }, want: []string{"rule.maxHeldRequests: -5 is not within 1–1000"}},
		{name: "health check bounds", change: func(r *Rule) {
			r.HealthCheck = &HealthCheck{Path: "healthz", IntervalSeconds: 301, TimeoutSeconds: 1, HealthyThresholdCount: 1, UnhealthyThresholdCount: 11, SuccessCodes: "2xx"}
		}, want: []string{"rule.healthCheck.path", "rule.healthCheck.intervalSeconds: 301", "rule.healthCheck.timeoutSeconds: 1",
			"rule.healthCheck.healthyThresholdCount: 1", "rule.healthCheck.unhealthyThresholdCount: 11", "rule.healthCheck.successCodes"}},
		{name: "timeout not below the interval given", change: func(r *Rule) { r.HealthCheck = &HealthCheck{IntervalSeconds: 10, TimeoutSeconds: 10} },
			want: []string{"rule.healthCheck.timeoutSeconds: 10 must be less than intervalSeconds (10)"}},
		{name: "interval not above the default timeout", change: func(r *Rule) { r.HealthCheck = &HealthCheck{IntervalSeconds: 5} },
			want: []string{"rule.healthCheck.timeoutSeconds: 5 must be less than intervalSeconds (5)"}},
		{name: "reserved and malformed tags", change: func(r *Rule) { r.Tags = map[string]string{"aws:x": "1", "ok": "bad<value>"} },
			want: []string{`rule.tags["aws:x"]: keys starting with aws: or autostop: are reserved`, `rule.tags["ok"]: a value may hold`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRule()
			tt.change(&r)
			got := r.Problems("rule.")
			if len(got) != len(tt.want) {
				t.Fatalf("Problems = %q, want %d problems like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}

			err := r.Check()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Check: %v", err)
				}
				return
			}
			var inv *steperr.InvalidRequest
			if !errors.As(err, &inv) || !strings.Contains(err.Error(), strings.Join(got, "; ")) {
				t.Errorf("Check = %v, want an InvalidRequest listing every problem", err)
			}
		})
	}
}

func TestHostProblem(t *testing.T) {
	tests := []struct {
		host, domain string
		ok           bool
	}{
		{"app.autostop.example.com", "autostop.example.com", true},
		{"APP.AutoStop.Example.com.", "autostop.example.com.", true},
		{"autostop.example.com", "autostop.example.com", false},
		{"a.b.autostop.example.com", "autostop.example.com", false},
		{"app.other.example.com", "autostop.example.com", false},
		{"app-.autostop.example.com", "autostop.example.com", false},
	}
	for _, tt := range tests {
		msg := HostProblem(tt.host, tt.domain)
		if (msg == "") != tt.ok {
			t.Errorf("HostProblem(%q, %q) = %q, want ok=%v", tt.host, tt.domain, msg, tt.ok)
		}
		if !tt.ok && !strings.Contains(msg, "*."+strings.TrimSuffix(strings.ToLower(tt.domain), ".")) {
			t.Errorf("HostProblem(%q, %q) = %q: does not name the wildcard it must fit", tt.host, tt.domain, msg)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	r := validRule()
	r.Tags = map[string]string{"team": "a"}
	r.HealthCheck = &HealthCheck{Path: "/healthz", HealthyThresholdCount: 2}

	got := r.WithDefaults("autostop.example.test")
	want := Rule{
		Name: "app", Host: "app.autostop.example.test", InstanceIDs: []string{"i-0123456789abcdef0"}, Port: 8080, IdleMinutes: 15,
		HealthCheck: &HealthCheck{Path: "/healthz", IntervalSeconds: 30, TimeoutSeconds: 5, HealthyThresholdCount: 2, UnhealthyThresholdCount: 2, SuccessCodes: "200"},
		HoldSeconds: 25, MaxHeldRequests: 50, Tags: map[string]string{"team": "a"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WithDefaults =\n%+v (hc %+v)\nwant\n%+v (hc %+v)", got, *got.HealthCheck, want, *want.HealthCheck)
	}
	if p := got.Problems(""); len(p) > 0 {
		t.Errorf("a rule with defaults has problems: %q", p)
	}

	// The result shares nothing with the input.
	got.InstanceIDs[0], got.Tags["team"], got.HealthCheck.Path = "i-f", "b", "/x"
	if r.InstanceIDs[0] != "i-0123456789abcdef0" || r.Tags["team"] != "a" || r.HealthCheck.Path != "/healthz" {
		t.Errorf("WithDefaults shares state with its input: %+v", r)
	}

	// An explicit host is normalized, kept otherwise; explicit values stay.
	r.Host, r.HoldSeconds, r.MaxHeldRequests = "Web.AutoStop.Example.Test.", 5, 3
	got = r.WithDefaults("autostop.example.test")
	if got.Host != "web.autostop.example.test" || got.HoldSeconds != 5 || got.MaxHeldRequests != 3 {
		t.Errorf("WithDefaults changed explicit values: host %q hold %d cap %d", got.Host, got.HoldSeconds, got.MaxHeldRequests)
	}
}
