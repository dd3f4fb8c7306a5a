package statemachine

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/lambdapkg"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localdeploy"
	"github.com/autostop/autostop/shared/proxyupdate"
)

var (
	proxyPackageOnce sync.Once
	proxyPackageZip  []byte
	proxyPackageErr  error
)

// proxyPackage is functions/proxy built for this machine and zipped as a
// deployment package, as `autostop lb update-proxy --build --local` makes
// it (built once per test run).
func proxyPackage(t testing.TB) []byte {
	t.Helper()
	proxyPackageOnce.Do(func() {
		root, err := localaws.RepoRoot()
		if err != nil {
			proxyPackageErr = err
			return
		}
		bin := filepath.Join(os.TempDir(), "autostop-update-proxy-test-bootstrap")
		build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./functions/proxy")
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			proxyPackageErr = err
			t.Logf("%s", out)
			return
		}
		proxyPackageZip, proxyPackageErr = lambdapkg.ZipFile(bin)
	})
	if proxyPackageErr != nil {
		t.Fatalf("build the proxy package: %v", proxyPackageErr)
	}

	return proxyPackageZip
}

// updateProxy uploads pkg to the proxy's $LATEST, as the CLI does, runs
// UpdateProxyCode for load balancer lb and waits for it.
func (w *world) updateProxy(t testing.TB, lb string, pkg []byte, execution string) *sfn.DescribeExecutionOutput {
	t.Helper()
	ctx := context.Background()
	lc := lambda.NewFromConfig(w.cfg)
	if _, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(app.NamePrefix + "proxy"), ZipFile: pkg}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pkg)
	machine := localdeploy.StateMachineARN(w.backend.Region(), app.NamePrefix+app.UpdateProxyCode)

	return w.run(t, machine, execution, proxyupdate.Request{Name: lb, CodeSha256: base64.StdEncoding.EncodeToString(sum[:])})
}

// aliasAt is the version the proxy's alias points at.
func (w *world) aliasAt(t testing.TB) string {
	t.Helper()
	a, err := lambda.NewFromConfig(w.cfg).GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String(app.NamePrefix + "proxy"), Name: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}

	return aws.ToString(a.FunctionVersion)
}

// TestUpdateProxyFaultsOnEveryMutatingCall: each mutating call of a clean
// update fails once (throttled: retried, the update succeeds) or for good
// (denied: the execution fails, the alias points at the version it had,
// and running it again finishes the job); a target that answers from the
// wrong version after the move (Verify denied) moves the alias back.
func TestUpdateProxyFaultsOnEveryMutatingCall(t *testing.T) {
	const sample = "route53-existing-certificate"
	realistic := localaws.Options{RealisticTiming: true}
	pkg := proxyPackage(t)

	w := newWorldWith(t, realistic)
	s := w.sample(t, sample)
	requireSucceeded(t, w.provision(t, s, "provision"))
	before := w.aliasAt(t)
	w.backend.Proxy().Reset()
	requireSucceeded(t, w.updateProxy(t, s.Name, pkg, "discover"))
	if after := w.aliasAt(t); after == before {
		t.Fatalf("a clean update left the alias at version %s", after)
	}
	var steps []awsproxy.Call
	for _, c := range w.mutating() {
		if strings.HasPrefix(c.Caller, app.NamePrefix+"update-") {
			steps = append(steps, c)
		}
	}
	targets := faultTargets(steps)
	if len(targets) < 2 {
		t.Fatalf("a clean update made only %d distinct mutating calls: %s", len(targets), joinCalls(steps))
	}
	// Verify's invocation is not a mutating call, but a failure there is
	// the one after the alias moved.
	targets = append(targets, faultTarget{call: awsproxy.Call{Caller: app.NamePrefix + "update-verify", Service: "lambda", Operation: "Invoke"}, nth: 1})

	for _, tg := range targets {
		op := tg.call
		name := strings.TrimPrefix(op.Caller, "autostop-") + "/" + opName(op)
		t.Run(name+"/throttled", func(t *testing.T) {
			t.Parallel()
			w := newWorldWith(t, realistic)
			s := w.sample(t, sample)
			requireSucceeded(t, w.provision(t, s, "provision"))
			before := w.aliasAt(t)
			w.backend.Proxy().FailNthBy(op.Caller, op.Service, op.Operation, tg.nth, awsproxy.Throttled)
			requireSucceeded(t, w.updateProxy(t, s.Name, pkg, "throttled"))
			requireFaultInjected(t, w, op)
			if w.aliasAt(t) == before {
				t.Errorf("the alias is still at version %s", before)
			}
		})
		t.Run(name+"/denied", func(t *testing.T) {
			t.Parallel()
			w := newWorldWith(t, realistic)
			s := w.sample(t, sample)
			requireSucceeded(t, w.provision(t, s, "provision"))
			before := w.aliasAt(t)
			for n := tg.nth; n < tg.nth+20; n++ {
				w.backend.Proxy().FailNthBy(op.Caller, op.Service, op.Operation, n, awsproxy.AccessDenied)
			}
			d := w.updateProxy(t, s.Name, pkg, "denied")
			if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "AccessDenied" {
				t.Fatalf("execution: %s %s (%s), want FAILED with AccessDenied", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
			}
			requireFaultInjected(t, w, op)
			if now := w.aliasAt(t); now != before {
				t.Errorf("after the failed update the alias is at version %s, want %s (where it was)", now, before)
			}
			h := w.entered(t, aws.ToString(d.ExecutionArn))
			if moved := h.count["MoveAlias"] > 0 && op.Operation != "UpdateAlias"; moved && h.count["MoveAliasBack"] != 1 {
				t.Errorf("the alias moved and the failure did not move it back (states: %v)", h.count)
			}

			w.backend.Proxy().ClearFaults()
			requireSucceeded(t, w.updateProxy(t, s.Name, pkg, "rerun"))
			if now := w.aliasAt(t); now == before {
				t.Errorf("after the re-run the alias is still at version %s", now)
			}
		})
	}
}
