package localalb

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold       bool
		want       bool
	}{
		{"demo.example.test", "demo.example.test", true, true},
		{"demo.example.test", "DEMO.Example.TEST", true, true},
		{"demo.example.test", "DEMO.example.test", false, false},
		{"*.example.test", "demo.example.test", true, true},
		{"*.example.test", "a.b.example.test", true, true},
		{"*.example.test", "example.test", true, false},
		{"d?mo.example.test", "demo.example.test", true, true},
		{"d?mo.example.test", "dmo.example.test", true, false},
		{"d?mo.example.test", "deemo.example.test", true, false},
		{"/api/*", "/api/", false, true},
		{"/api/*", "/api/v1/users", false, true},
		{"/api/*", "/API/v1", false, false},
		{"/api/*", "/api", false, false},
		{"*", "", false, true},
		{"/a*b*c", "/aXXbYYc", false, true},
		{"/a*b*c", "/aXXbYY", false, false},
		{"/img/*.png", "/img/a/b.png", false, true},
		{"/img/*.png", "/img/a/b.jpg", false, false},
		{"/é?", "/éx", false, true},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.s, tt.fold); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q, fold=%v) = %v, want %v", tt.pattern, tt.s, tt.fold, got, tt.want)
		}
	}
}

func TestEvaluatedHost(t *testing.T) {
	tests := []struct {
		in        string
		want      string
		localhost bool
	}{
		{"demo.autostop.example.test", "demo.autostop.example.test", false},
		{"demo.autostop.example.test:8080", "demo.autostop.example.test", false},
		{"demo.autostop.example.test.localhost:8080", "demo.autostop.example.test", true},
		{"Demo.Autostop.Example.Test.LOCALHOST:8080", "Demo.Autostop.Example.Test", true},
		{"demo.autostop.example.test.localhost.", "demo.autostop.example.test", true},
		{"localhost:8080", "localhost", false},
		{"127.0.0.1:8080", "127.0.0.1", false},
		{"[::1]:8080", "::1", false},
		{"[::1]", "::1", false},
	}
	for _, tt := range tests {
		got, local := evaluatedHost(tt.in)
		if got != tt.want || local != tt.localhost {
			t.Errorf("evaluatedHost(%q) = %q, %v; want %q, %v", tt.in, got, local, tt.want, tt.localhost)
		}
	}
}

func TestChooseListener(t *testing.T) {
	https443 := listener("https443", types.ProtocolEnumHttps, 443)
	http80 := listener("http80", types.ProtocolEnumHttp, 80)
	https8443 := listener("https8443", types.ProtocolEnumHttps, 8443)
	http8080 := listener("http8080", types.ProtocolEnumHttp, 8080)
	http81 := listener("http81", types.ProtocolEnumHttp, 81)
	tcp := listener("tcp", types.ProtocolEnumTcp, 443)

	tests := []struct {
		name string
		in   []types.Listener
		want string
	}{
		{"HTTPS 443 over the HTTP 80 redirect", []types.Listener{http80, https443}, "https443"},
		{"HTTP 80 alone (HTTP-only load balancer)", []types.Listener{http80}, "http80"},
		{"HTTP 80 over other HTTPS ports", []types.Listener{https8443, http80}, "http80"},
		{"other HTTPS over other HTTP", []types.Listener{http8080, https8443}, "https8443"},
		{"lowest HTTP port", []types.Listener{http8080, http81}, "http81"},
		{"not TCP", []types.Listener{tcp}, ""},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := chooseListener(tt.in)
			if aws.ToString(got.ListenerArn) != tt.want || ok != (tt.want != "") {
				t.Errorf("chose %q (%v), want %q", aws.ToString(got.ListenerArn), ok, tt.want)
			}
		})
	}
}

func TestRuleEvaluation(t *testing.T) {
	cond := func(field string, values ...string) types.RuleCondition {
		return types.RuleCondition{Field: aws.String(field), Values: values}
	}
	rule := func(arn, priority string, conds ...types.RuleCondition) types.Rule {
		return types.Rule{RuleArn: aws.String(arn), Priority: aws.String(priority), Conditions: conds, Actions: []types.Action{fixed("200", arn)}}
	}
	rules := []types.Rule{
		defaultRule(fixed("404", "default")), // listed first: must still be last
		rule("wildcard", "50", types.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"*.autostop.example.test"}}}),
		rule("exact", "5", types.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"demo.autostop.example.test", "other.example.test"}}}),
		rule("legacy-and-path", "3", cond("host-header", "api.autostop.example.test"), cond("path-pattern", "/v?/*")),
		rule("path-only", "40", types.RuleCondition{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/static/*"}}}),
		rule("regex-host", "45", types.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{RegexValues: []string{`^r[0-9]+\.example\.test$`}}}),
		rule("header", "20", types.RuleCondition{Field: aws.String("http-header"), HttpHeaderConfig: &types.HttpHeaderConditionConfig{HttpHeaderName: aws.String("X-Canary"), Values: []string{"on*"}}}),
		rule("method", "21", types.RuleCondition{Field: aws.String("http-request-method"), HttpRequestMethodConfig: &types.HttpRequestMethodConditionConfig{Values: []string{"DELETE"}}}),
		rule("query", "22", types.RuleCondition{Field: aws.String("query-string"), QueryStringConfig: &types.QueryStringConditionConfig{Values: []types.QueryStringKeyValuePair{{Key: aws.String("debug"), Value: aws.String("tru?")}}}}),
		rule("source", "23", types.RuleCondition{Field: aws.String("source-ip"), SourceIpConfig: &types.SourceIpConditionConfig{Values: []string{"10.0.0.0/8"}}}),
		rule("bad-regex", "1", types.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{RegexValues: []string{"("}}}),
		rule("unknown-field", "2", cond("no-such-field", "x")),
		rule("bad-priority", "high", cond("host-header", "*")),
	}
	snap := &snapshot{rules: compileRules(rules, nil, slog.New(slog.DiscardHandler))}

	tests := []struct {
		name, method, target, host, remote string
		header                             map[string]string
		want                               string
	}{
		{name: "exact host wins over wildcard by priority", host: "demo.autostop.example.test", want: "exact"},
		{name: "second value of a condition", host: "other.example.test", want: "exact"},
		{name: "host case-insensitive", host: "DEMO.AutoStop.example.TEST", want: "exact"},
		{name: ".localhost suffix stripped", host: "demo.autostop.example.test.localhost:8123", want: "exact"},
		{name: "port stripped", host: "demo.autostop.example.test:8123", want: "exact"},
		{name: "wildcard host", host: "zzz.autostop.example.test", want: "wildcard"},
		{name: "wildcard host through .localhost", host: "zzz.autostop.example.test.localhost:1", want: "wildcard"},
		{name: "legacy values and path, both match", host: "api.autostop.example.test", target: "/v1/users", want: "legacy-and-path"},
		{name: "legacy host matches, path does not: next rule", host: "api.autostop.example.test", target: "/users", want: "wildcard"},
		{name: "path pattern case-sensitive", host: "x.test", target: "/STATIC/a.css", want: "default"},
		{name: "path pattern", host: "x.test", target: "/static/a.css?v=1", want: "path-only"},
		{name: "regex host", host: "r42.example.test", want: "regex-host"},
		{name: "http header with wildcard, case-insensitive", host: "x.test", header: map[string]string{"X-Canary": "ON-please"}, want: "header"},
		{name: "method", method: "DELETE", host: "x.test", want: "method"},
		{name: "query string", host: "x.test", target: "/?a=1&debug=TRUE", want: "query"},
		{name: "source ip", host: "x.test", remote: "10.1.2.3:5555", want: "source"},
		{name: "nothing matches: default", host: "nothing.example.org", want: "default"},
		{name: "no host", host: "", want: "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.method == "" {
				tt.method = "GET"
			}
			if tt.target == "" {
				tt.target = "/"
			}
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r.Host = tt.host
			if tt.remote != "" {
				r.RemoteAddr = tt.remote
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			got := snap.match(newRequest(r, listenerView{protocol: types.ProtocolEnumHttps, port: 443}))
			if got == nil {
				t.Fatal("no rule matched")
			}
			if body := aws.ToString(got.action.FixedResponseConfig.MessageBody); body != tt.want {
				t.Errorf("matched rule %q, want %q", body, tt.want)
			}
		})
	}

	if last := snap.rules[len(snap.rules)-1]; !last.isDefault {
		t.Errorf("last rule is %s, want the default rule", last.arn)
	}
	for _, r := range snap.rules {
		if r.arn == "bad-priority" {
			t.Error("a rule with an invalid priority was kept")
		}
	}
}

// TestDefaultRuleFromListener: a backend that lists no default rule still
// gets the listener's default actions as the last rule.
func TestDefaultRuleFromListener(t *testing.T) {
	rules := compileRules([]types.Rule{hostRule("r", "1", []string{"a.test"}, fixed("200", "a"))},
		[]types.Action{fixed("503", "listener default")}, slog.New(slog.DiscardHandler))
	if len(rules) != 2 || !rules[1].isDefault || aws.ToString(rules[1].action.FixedResponseConfig.MessageBody) != "listener default" {
		t.Fatalf("rules = %+v", rules)
	}
}
