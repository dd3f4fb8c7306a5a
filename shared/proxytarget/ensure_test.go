package proxytarget

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

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

// withLegacy adds the legacy statement's action to m.
func withLegacy(m map[string]string, action string) map[string]string {
	m[KindLegacyPermission] = action
	return m
}

// inPlace sets up what an earlier execution of lb left: version 1 behind
// the alias, the target group with multi-value headers and the alias
// registered (the permission is up to the caller).
func inPlace(f *fake, lb string) *fakeTG {
	f.versions["1"] = fakeSha
	f.aliases["live"] = "1"
	tg := ours(f, lb, "exec-0")
	tg.attrs[MultiValueHeadersAttr] = "true"
	tg.targets = []string{aliasARN}
	return tg
}

// checkShared fails unless the policy holds the shared statement as
// Ensure writes it, and no legacy statement of testLB.
func checkShared(t *testing.T, f *fake) {
	t.Helper()
	s := f.statement(SharedStatementID)
	if s == nil || s.Condition["ArnLike"]["AWS:SourceArn"] != fakePattern || s.Condition["StringEquals"]["AWS:SourceAccount"] != fakeAccount ||
		len(s.Condition) != 2 || s.Principal["Service"] != ELBPrincipal || s.Action != InvokeAction {
		t.Errorf("statement %s = %+v, want SourceArn %s and SourceAccount %s", SharedStatementID, s, fakePattern, fakeAccount)
	}
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
		// wantRerunMut: the mutating calls of a second run (none unless
		// this run left something for the next one); a third makes none.
		wantRerunMut []string
		check        func(t *testing.T, f *fake, res step.ProxyTargetResult)
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
				checkShared(t, f)
				if len(f.policies[AliasName]) != 1 {
					t.Errorf("policy = %+v, want the shared statement only", f.policies[AliasName])
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
				f.grantShared()
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
				f.grantShared()
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
				f.grantShared()
			},
			wantMut:     []string{"AddTags"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Created, step.Adopted, step.Adopted),
			wantVersion: "1",
		},
		{
			name: "shared statement already present (another load balancer's run made it): found, not added again",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				ours(f, testLB, testExec)
				ours(f, "api", "exec-0")
				f.grantShared()
			},
			wantMut:     []string{"ModifyTargetGroupAttributes", "RegisterTargets"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Created, step.Adopted, step.Created),
			wantVersion: "1",
		},
		{
			name: "wrong shared statement (any target group, no SourceAccount): fixed",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				f.grant(SharedStatementID, "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/*", "")
			},
			wantMut:     []string{"CreateTargetGroup", "ModifyTargetGroupAttributes", "RemovePermission", "AddPermission", "RegisterTargets"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Created, step.Updated, step.Created),
			wantVersion: "1",
			check:       func(t *testing.T, f *fake, _ step.ProxyTargetResult) { checkShared(t, f) },
		},
		{
			name: "shared statement of another region: fixed",
			setup: func(f *fake) {
				inPlace(f, testLB)
				f.grant(SharedStatementID, "arn:aws:elasticloadbalancing:eu-west-1:000000000000:targetgroup/*-proxy/*", fakeAccount)
			},
			wantMut:     []string{"RemovePermission", "AddPermission"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Adopted, step.Updated, step.Adopted),
			wantVersion: "1",
			check:       func(t *testing.T, f *fake, _ step.ProxyTargetResult) { checkShared(t, f) },
		},
		{
			name: "shared statement found, legacy statement of this load balancer: legacy removed",
			setup: func(f *fake) {
				tg := inPlace(f, testLB)
				f.grant("autostop-web", tg.arn, "")
				f.grant("autostop-api", "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/api-proxy/1", "")
				f.grantShared()
			},
			wantMut:     []string{"RemovePermission"},
			wantActions: withLegacy(allActions(step.Adopted, step.Adopted, step.Adopted, step.Adopted, step.Adopted), step.Deleted),
			wantVersion: "1",
			check: func(t *testing.T, f *fake, res step.ProxyTargetResult) {
				if f.statement("autostop-web") != nil {
					t.Errorf("legacy statement autostop-web still there")
				}
				if f.statement("autostop-api") == nil {
					t.Errorf("another load balancer's legacy statement was removed")
				}
				if r := res.Resources[len(res.Resources)-1]; r.Kind != KindLegacyPermission || r.ID != aliasARN+"#autostop-web" {
					t.Errorf("last resource %+v, want the legacy statement", r)
				}
			},
		},
		{
			name: "legacy statement only: shared one added, legacy kept until the next run",
			setup: func(f *fake) {
				tg := inPlace(f, testLB)
				f.grant("autostop-web", tg.arn, "")
			},
			wantMut:      []string{"AddPermission"},
			wantActions:  withLegacy(allActions(step.Adopted, step.Adopted, step.Adopted, step.Created, step.Adopted), step.Adopted),
			wantVersion:  "1",
			wantRerunMut: []string{"RemovePermission"},
			check: func(t *testing.T, f *fake, _ step.ProxyTargetResult) {
				checkShared(t, f)
				if f.statement("autostop-web") == nil {
					t.Errorf("legacy statement removed in the run that added the shared one")
				}
			},
		},
		{
			name: "policy full: this load balancer's legacy statement makes room",
			setup: func(f *fake) {
				tg := inPlace(f, testLB)
				f.grant("autostop-web", tg.arn, "")
				f.errs["AddPermission"] = []error{&lambdatypes.PolicyLengthExceededException{Message: aws.String("The final policy size (20539) is bigger than the limit (20480).")}}
			},
			wantMut:     []string{"AddPermission", "RemovePermission", "AddPermission"},
			wantActions: withLegacy(allActions(step.Adopted, step.Adopted, step.Adopted, step.Created, step.Adopted), step.Deleted),
			wantVersion: "1",
			check: func(t *testing.T, f *fake, _ step.ProxyTargetResult) {
				checkShared(t, f)
				if f.statement("autostop-web") != nil {
					t.Errorf("legacy statement still there")
				}
			},
		},
		{
			name: "shared statement added by a concurrent run meanwhile: adopted",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				f.before["AddPermission"] = func(f *fake) { f.grantShared() }
			},
			wantMut:     []string{"CreateTargetGroup", "ModifyTargetGroupAttributes", "AddPermission", "RegisterTargets"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Created, step.Adopted, step.Created),
			wantVersion: "1",
			check:       func(t *testing.T, f *fake, _ step.ProxyTargetResult) { checkShared(t, f) },
		},
		{
			name: "shared statement removed by a concurrent rollback after it was read: ensured again, registered",
			setup: func(f *fake) {
				tg := inPlace(f, testLB)
				tg.targets = nil
				f.grantShared()
				f.before["RegisterTargets"] = func(f *fake) { f.revoke(SharedStatementID) }
			},
			wantMut:     []string{"RegisterTargets", "AddPermission", "RegisterTargets"},
			wantActions: allActions(step.Adopted, step.Adopted, step.Adopted, step.Created, step.Created),
			wantVersion: "1",
			check:       func(t *testing.T, f *fake, _ step.ProxyTargetResult) { checkShared(t, f) },
		},
		{
			name: "adopted target group with another function registered: replaced by the alias",
			setup: func(f *fake) {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				tg := ours(f, testLB, "exec-0")
				tg.attrs[MultiValueHeadersAttr] = "true"
				tg.targets = []string{fakeFnARN + ":7"}
				f.grantShared()
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
				f.grantShared()
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
				checkShared(t, f)
				if len(f.policies[AliasName]) != 1 {
					t.Errorf("policy = %+v, want the shared statement only", f.policies[AliasName])
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

			// A re-run of the same execution changes nothing (but what this
			// run left for the next one); a third one nothing at all.
			for run, want := range [][]string{tt.wantRerunMut, nil} {
				f.calls = nil
				again, err := Ensure(t.Context(), f.clients(), Config{}, input(lb, testExec))
				if err != nil {
					t.Fatalf("re-run %d: %v", run+1, err)
				}
				if m := f.mutating(); !slices.Equal(m, want) {
					t.Errorf("re-run %d made mutating calls %v, want %v", run+1, m, want)
				}
				if again.TargetGroupARN != res.TargetGroupARN || again.Version != res.Version || again.AliasARN != res.AliasARN {
					t.Errorf("re-run %d result %+v differs from %+v", run+1, again, res)
				}
			}
		})
	}
}

// TestEnsurePolicyFull: a policy with no room for the shared statement,
// and no legacy statement of this load balancer to make room with, is a
// Conflict that says what to do.
func TestEnsurePolicyFull(t *testing.T) {
	f := newFake()
	f.versions["1"] = fakeSha
	f.aliases["live"] = "1"
	f.grant("autostop-api", "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/api-proxy/1", "")
	f.errs["AddPermission"] = []error{&lambdatypes.PolicyLengthExceededException{Message: aws.String("policy too large")}}

	_, err := Ensure(t.Context(), f.clients(), Config{}, input(testLB, testExec))
	var conflict *steperr.Conflict
	if !errors.As(err, &conflict) || !strings.Contains(err.Error(), "provision an existing load balancer again") {
		t.Fatalf("err = %v (%T), want Conflict explaining what to do", err, err)
	}
	if slices.Contains(f.mutating(), "RemovePermission") || f.statement("autostop-api") == nil {
		t.Errorf("another load balancer's statement was touched: %v", f.mutating())
	}
}

// TestEnsureAccessDeniedOutlastingTheWait: RegisterTargets answering
// AccessDenied with the statement in place (not a propagation delay, not a
// removed statement) fails the step once the statement was ensured again
// (GetPolicy read twice, nothing added) and the wait is over.
func TestEnsureAccessDeniedOutlastingTheWait(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		name := map[bool]string{false: "statement found", true: "statement added"}[fresh]
		t.Run(name, func(t *testing.T) {
			f := newFake()
			tg := inPlace(f, testLB)
			tg.targets = nil
			if !fresh {
				f.grantShared()
			}
			for range 100 {
				f.errs["RegisterTargets"] = append(f.errs["RegisterTargets"], accessDenied("denied"))
			}
			cfg := Config{PermissionWait: 60 * time.Millisecond, PermissionPoll: 10 * time.Millisecond}

			start := time.Now()
			_, err := Ensure(t.Context(), f.clients(), cfg, input(testLB, testExec))
			if !steperr.HasCode(err, "AccessDenied") {
				t.Fatalf("err = %v, want AccessDenied", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %v: the wait is bounded by PermissionWait", took)
			}
			count := func(op string) (n int) {
				for _, c := range f.calls {
					if c == op {
						n++
					}
				}
				return n
			}
			if count("GetPolicy") != 2 || count("RegisterTargets") < 3 {
				t.Errorf("GetPolicy %d times, RegisterTargets %d times: want the statement read again once and RegisterTargets tried while waiting",
					count("GetPolicy"), count("RegisterTargets"))
			}
			if want := map[bool]int{false: 0, true: 1}[fresh]; count("AddPermission") != want {
				t.Errorf("AddPermission %d times, want %d", count("AddPermission"), want)
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

func TestSourceARNPattern(t *testing.T) {
	tests := []struct {
		arn, wantPattern, wantAccount string
		wantErr                       bool
	}{
		{arn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-proxy/0123456789abcdef",
			wantPattern: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/*-proxy/*", wantAccount: "123456789012"},
		{arn: "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/a-proxy/1",
			wantPattern: "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/*-proxy/*", wantAccount: "123456789012"},
		{arn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/1", wantErr: true},
		{arn: "arn:aws:lambda:eu-west-1:123456789012:targetgroup/web-proxy/1", wantErr: true},
		{arn: "arn:aws:elasticloadbalancing:eu-west-1::targetgroup/web-proxy/1", wantErr: true},
		{arn: "web-proxy", wantErr: true},
	}
	for _, tt := range tests {
		pattern, account, err := SourceARNPattern(tt.arn)
		if (err != nil) != tt.wantErr || pattern != tt.wantPattern || account != tt.wantAccount {
			t.Errorf("SourceARNPattern(%q) = %q, %q, %v; want %q, %q, error %v", tt.arn, pattern, account, err, tt.wantPattern, tt.wantAccount, tt.wantErr)
		}
	}
}
