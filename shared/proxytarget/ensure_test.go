package proxytarget

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	testLB     = "web"
	testExec   = "exec-1"
	testDomain = "autostop.example.test"
	aliasARN   = fakeFnARN + ":live"
)

func input(lb, execution string) step.Input {
	return step.Input{
		Spec:      spec.LoadBalancerSpec{Name: lb, Region: fakeRegion, Domain: testDomain, Tags: map[string]string{"team": "a"}},
		Execution: execution,
	}
}

// actions maps each reported resource kind to its action.
func actions(res step.ProxyTargetResult) map[string]string {
	out := map[string]string{}
	for _, r := range res.Resources {
		out[r.Kind] = r.Action
	}

	return out
}

func allActions(version, alias, tg, perm, target string) map[string]string {
	return map[string]string{KindVersion: version, KindAlias: alias, KindTargetGroup: tg, KindPermission: perm, KindTarget: target}
}

// ours creates the proxy target group as an earlier execution of lb would
// have (with the domain tag).
func ours(f *fake, lb, execution string) *fakeTG {
	tags := ownership.Tags(lb, execution, nil)
	tags[ownership.DomainKey] = testDomain

	return f.addTG(TargetGroupName(lb), elbtypes.TargetTypeEnumLambda, tags)
}

func TestEnsure(t *testing.T) {
	fresh := []string{"CreateTargetGroup", "ModifyTargetGroupAttributes", "PublishVersion", "CreateAlias", "AddPermission", "RegisterTargets"}

	tests := []struct {
		name        string
		lb          string
		setup       func(f *fake)
		wantErr     any    // pointer to a steperr type
		wantErrText string // the error names this
		wantMut     []string
		wantActions map[string]string
		wantVersion string
		check       func(t *testing.T, f *fake, res step.ProxyTargetResult)
	}{
		{
			name:        "fresh: publish, alias, target group, permission, target",
			wantMut:     fresh,
			wantActions: allActions(step.Created, step.Created, step.Created, step.Created, step.Created),
			wantVersion: "1",
			check: func(t *testing.T, f *fake, res step.ProxyTargetResult) {
				tg := f.tgByName("web-proxy")
				if tg == nil || tg.typ != elbtypes.TargetTypeEnumLambda {
					t.Fatalf("target group web-proxy: %+v", tg)
				}
				if !ownership.CreatedBy(tg.tags, testLB, testExec) || tg.tags["team"] != "a" || tg.tags[ownership.DomainKey] != testDomain {
					t.Errorf("target group tags = %v", tg.tags)
				}
				if tg.attrs[MultiValueHeadersAttr] != "true" {
					t.Errorf("%s = %q", MultiValueHeadersAttr, tg.attrs[MultiValueHeadersAttr])
				}
				if !slices.Equal(tg.targets, []string{aliasARN}) {
					t.Errorf("targets = %v", tg.targets)
				}
				if s := f.statement("autostop-web"); s == nil || s.Condition["ArnLike"]["AWS:SourceArn"] != tg.arn {
					t.Errorf("statement autostop-web = %+v", s)
				}
				if f.aliases["live"] != "1" {
					t.Errorf("alias live -> %q", f.aliases["live"])
				}
				if res.TargetGroupARN != tg.arn {
					t.Errorf("result target group %s, want %s", res.TargetGroupARN, tg.arn)
				}
			},
		},
		{
			name: "alias exists: kept where it points, nothing published",
			setup: func(f *fake) {
				f.versions["1"], f.versions["2"], f.versions["3"] = "old", "older", "x"
				f.aliases["live"] = "2"
			},
			wantMut:     []string{"CreateTargetGroup", "ModifyTargetGroupAttributes", "AddPermission", "RegisterTargets"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Created, step.Created, step.Created),
			wantVersion: "2",
		},
		{
			name:        "no alias, $LATEST already published: that version is reused",
			setup:       func(f *fake) { f.versions["1"] = "old"; f.versions["2"] = fakeSha },
			wantMut:     fresh,
			wantActions: allActions(step.Adopted, step.Created, step.Created, step.Created, step.Created),
			wantVersion: "2",
		},
		{
			name: "alias created concurrently: adopted",
			setup: func(f *fake) {
				f.versions["1"] = "old"
				f.aliases["live"] = "1"
				f.errs["GetAlias"] = []error{&lambdatypes.ResourceNotFoundException{Message: aws.String("not yet")}}
			},
			wantMut:     fresh,
			wantActions: allActions(step.Adopted, step.Adopted, step.Created, step.Created, step.Created),
			wantVersion: "1",
		},
		{
			name: "everything in place from an earlier execution: 0 mutating calls",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				tg := ours(f, testLB, "exec-0")
				tg.attrs[MultiValueHeadersAttr] = "true"
				tg.targets = []string{aliasARN}
				f.grant("autostop-web", tg.arn)
			},
			wantActions: allActions(step.Adopted, step.Adopted, step.Adopted, step.Adopted, step.Adopted),
			wantVersion: "1",
		},
		{
			name: "earlier target group without the domain tag: tagged",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				tg := ours(f, testLB, "exec-0")
				delete(tg.tags, ownership.DomainKey)
				tg.attrs[MultiValueHeadersAttr] = "true"
				tg.targets = []string{aliasARN}
				f.grant("autostop-web", tg.arn)
			},
			wantMut:     []string{"AddTags"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Updated, step.Adopted, step.Adopted),
			wantVersion: "1",
			check: func(t *testing.T, f *fake, _ step.ProxyTargetResult) {
				if got := f.tgByName("web-proxy").tags[ownership.DomainKey]; got != testDomain {
					t.Errorf("%s = %q, want %s", ownership.DomainKey, got, testDomain)
				}
			},
		},
		{
			name: "earlier target group of another domain: tag replaced",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				tg := ours(f, testLB, testExec)
				tg.tags[ownership.DomainKey] = "old.example.test"
				tg.attrs[MultiValueHeadersAttr] = "true"
				tg.targets = []string{aliasARN}
				f.grant("autostop-web", tg.arn)
			},
			wantMut:     []string{"AddTags"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Created, step.Adopted, step.Adopted),
			wantVersion: "1",
		},
		{
			name: "permission already present: not added again",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				tg := ours(f, testLB, testExec)
				f.grant("autostop-web", tg.arn)
			},
			wantMut:     []string{"ModifyTargetGroupAttributes", "RegisterTargets"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Created, step.Adopted, step.Created),
			wantVersion: "1",
		},
		{
			name: "stale permission for an older target group: replaced",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				f.grant("autostop-web", "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web-proxy/gone")
			},
			wantMut:     []string{"CreateTargetGroup", "ModifyTargetGroupAttributes", "RemovePermission", "AddPermission", "RegisterTargets"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Created, step.Updated, step.Created),
			wantVersion: "1",
		},
		{
			name: "adopted target group with another function registered: replaced by the alias",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				tg := ours(f, testLB, "exec-0")
				tg.attrs[MultiValueHeadersAttr] = "true"
				tg.targets = []string{fakeFnARN + ":7"}
				f.grant("autostop-web", tg.arn)
			},
			wantMut:     []string{"DeregisterTargets", "RegisterTargets"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Adopted, step.Adopted, step.Updated),
			wantVersion: "1",
		},
		{
			name: "adopted target group without multi-value headers: updated",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				tg := ours(f, testLB, "exec-0")
				tg.targets = []string{aliasARN}
				f.grant("autostop-web", tg.arn)
			},
			wantMut:     []string{"ModifyTargetGroupAttributes"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Updated, step.Adopted, step.Adopted),
			wantVersion: "1",
		},
		{
			name: "long load balancer name: target group name cut to 32",
			lb:   "a-very-long-load-balancer-name-x",
			check: func(t *testing.T, f *fake, res step.ProxyTargetResult) {
				if tg := f.tgByName("a-very-long-load-balancer-proxy"); tg == nil || tg.arn != res.TargetGroupARN {
					t.Errorf("target group a-very-long-load-balancer-proxy not created (result %s)", res.TargetGroupARN)
				}
				if f.statement("autostop-a-very-long-load-balancer-name-x") == nil {
					t.Errorf("statement autostop-a-very-long-load-balancer-name-x missing")
				}
			},
			wantMut:     fresh,
			wantActions: allActions(step.Created, step.Created, step.Created, step.Created, step.Created),
			wantVersion: "1",
		},
		{
			name: "foreign target group of the same name: Conflict, nothing changed",
			setup: func(f *fake) {
				f.addTG("web-proxy", elbtypes.TargetTypeEnumLambda, map[string]string{"owner": "someone"})
			},
			wantErr:     new(*steperr.Conflict),
			wantErrText: "web-proxy",
		},
		{
			name: "target group of another load balancer: Conflict",
			setup: func(f *fake) {
				f.addTG("web-proxy", elbtypes.TargetTypeEnumLambda, ownership.Tags("web2", testExec, nil))
			},
			wantErr: new(*steperr.Conflict),
		},
		{
			name: "our target group name with an instance target type: Conflict",
			setup: func(f *fake) {
				f.addTG("web-proxy", elbtypes.TargetTypeEnumInstance, ownership.Tags(testLB, testExec, nil))
			},
			wantErr: new(*steperr.Conflict),
		},
		{
			name:        "missing function: NotFound naming it",
			setup:       func(f *fake) { f.fnExists = false },
			wantErr:     new(*steperr.NotFound),
			wantErrText: fakeFnName,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			lb := tt.lb
			if lb == "" {
				lb = testLB
			}
			res, err := Ensure(t.Context(), f.clients(), Config{}, input(lb, testExec))

			if tt.wantErr != nil {
				if err == nil || !errors.As(err, tt.wantErr) {
					t.Fatalf("err = %v (%T), want %T", err, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErrText) {
					t.Errorf("error %q does not name %q", err, tt.wantErrText)
				}
				if m := f.mutating(); len(m) != 0 {
					t.Errorf("mutating calls before the error: %v", m)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if got := f.mutating(); !slices.Equal(got, tt.wantMut) {
				t.Errorf("mutating calls = %v, want %v", got, tt.wantMut)
			}
			if got := actions(res); tt.wantActions != nil && !mapsEqual(got, tt.wantActions) {
				t.Errorf("actions = %v, want %v", got, tt.wantActions)
			}
			if res.Version != tt.wantVersion {
				t.Errorf("version = %q, want %q", res.Version, tt.wantVersion)
			}
			if res.AliasARN != aliasARN || res.FunctionARN != fakeFnARN || res.TargetGroupARN == "" {
				t.Errorf("result ARNs = %+v", res)
			}
			if tt.check != nil {
				tt.check(t, f, res)
			}

			// A re-run of the same execution changes nothing.
			f.calls = nil
			again, err := Ensure(t.Context(), f.clients(), Config{}, input(lb, testExec))
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if m := f.mutating(); len(m) != 0 {
				t.Errorf("re-run made mutating calls %v", m)
			}
			if again.TargetGroupARN != res.TargetGroupARN || again.Version != res.Version || again.AliasARN != res.AliasARN {
				t.Errorf("re-run result %+v differs from %+v", again, res)
			}
		})
	}
}

func TestEnsureRequiresNameAndExecution(t *testing.T) {
	for _, in := range []step.Input{input("", testExec), input(testLB, "")} {
		_, err := Ensure(t.Context(), newFake().clients(), Config{}, in)
		var inv *steperr.InvalidRequest
		if !errors.As(err, &inv) {
			t.Errorf("Ensure(%q, %q) err = %v, want InvalidRequest", in.Spec.Name, in.Execution, err)
		}
	}
}

func TestTargetGroupName(t *testing.T) {
	tests := []struct{ lb, want string }{
		{"web", "web-proxy"},
		{"abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz-proxy"},       // 26: fits exactly
		{"abcdefghijklmnopqrstuvwxyz0123", "abcdefghijklmnopqrstuvwxyz-proxy"},   // cut
		{"abcdefghijklmnopqrstuvwxy-z0123", "abcdefghijklmnopqrstuvwxy-proxy"},   // cut at a hyphen: no "--"
		{"a2345678901234567890123456789012", "a2345678901234567890123456-proxy"}, // 32
	}
	for _, tt := range tests {
		got := TargetGroupName(tt.lb)
		if got != tt.want || len(got) > 32 {
			t.Errorf("TargetGroupName(%q) = %q (%d), want %q", tt.lb, got, len(got), tt.want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("PROXY_FUNCTION_NAME", "")
	if got := ConfigFromEnv().FunctionName; got != DefaultFunctionName {
		t.Errorf("default FunctionName = %q", got)
	}
	t.Setenv("PROXY_FUNCTION_NAME", "stage-proxy")
	if got := ConfigFromEnv().FunctionName; got != "stage-proxy" {
		t.Errorf("FunctionName = %q", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}

	return true
}
