package localaws_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/lambdapkg"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// TestPublishedVersionRunsItsOwnPackage: a version published (through the
// recording proxy) from a package holding a real bootstrap runs that
// bootstrap, as on AWS, for the version and the aliases pointing at it (an
// invocation through the proxy right after the publish included), and
// scales out on its own. Locally $LATEST keeps running the deployed binary
// (DeployFunction's), whatever UpdateFunctionCode uploaded since, and so does
// a version published from the runner's code stub.
func TestPublishedVersionRunsItsOwnPackage(t *testing.T) {
	const name = "versioned"
	ctx := context.Background()
	b := localawstest.Start(t)
	binA, binB := buildVersionFn(t, "A"), buildVersionFn(t, "B")

	cfg := localaws.FunctionConfig{Name: name, TimeoutSec: 10, MemoryMB: 128, Env: map[string]string{"GREETING": "hello"}, MaxProcesses: 2}
	if err := b.DeployFunction(ctx, cfg, binA); err != nil {
		t.Fatal(err)
	}
	proxied := proxiedLambda(t, b, "publisher")
	direct := directLambda(t, b)

	// Version 1, published from the code stub: nothing of its own to run.
	v1 := publish(t, proxied, name)
	if started, stub, err := b.WaitVersionStart(ctx, name, v1); !started || !stub || err != nil {
		t.Fatalf("after publishing version %s from the stub: started %v, stub %v, %v; want a start that found the stub", v1, started, stub, err)
	}

	// Version 2, published from a real package with build B.
	if _, err := proxied.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: packageOf(t, binB)}); err != nil {
		t.Fatalf("UpdateFunctionCode: %v", err)
	}
	waitUpdated(t, direct, name)
	v2 := publish(t, proxied, name)
	// An invocation through the proxy right after the publish waits for
	// the version's start: it gets the version's own code at once.
	if got := invokeVersionFn(t, proxied, name+":"+v2, `{}`); got.Build != "B" || got.Version != v2 {
		t.Errorf("invoke %s:%s through the proxy right after PublishVersion: %+v, want build B, version %s", name, v2, got, v2)
	}
	if started, stub, err := b.WaitVersionStart(ctx, name, v2); !started || stub || err != nil {
		t.Fatalf("after publishing version %s from build B's package: started %v, stub %v, %v; want its processes started", v2, started, stub, err)
	}
	if _, ok := b.FunctionPIDs()[name+":"+v2]; !ok {
		t.Errorf("no process for %s:%s among %v", name, v2, b.FunctionPIDs())
	}

	for _, tc := range []struct {
		qualified, wantBuild, wantVersion string
	}{
		{name + ":" + v2, "B", v2},
		// Divergence: on AWS $LATEST runs the package UpdateFunctionCode
		// uploaded (B); locally it runs the deployed binary.
		{name, "A", "$LATEST"},
		// A version published from the stub is answered by the deployed
		// binary, through kumo's fallback to /_runtime/<name>.
		{name + ":" + v1, "A", "$LATEST"},
	} {
		got := invokeVersionFn(t, direct, tc.qualified, `{}`)
		if got.Build != tc.wantBuild || got.Version != tc.wantVersion || got.Function != name || got.Greeting != "hello" {
			t.Errorf("invoke %s: %+v; want build %s, version %s, function %s, greeting hello", tc.qualified, got, tc.wantBuild, tc.wantVersion, name)
		}
	}

	// An alias runs the code of the version it points at.
	if _, err := proxied.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String(v1)}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	if got := invokeVersionFn(t, direct, name+":live", `{}`); got.Build != "A" {
		t.Errorf("invoke live -> %s: build %s, want A", v1, got.Build)
	}
	if _, err := proxied.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String(v2)}); err != nil {
		t.Fatalf("UpdateAlias: %v", err)
	}
	if got := invokeVersionFn(t, direct, name+":live", `{}`); got.Build != "B" || got.Version != v2 {
		t.Errorf("invoke live -> %s: %+v, want build B, version %s", v2, got, v2)
	}

	// The version's AWS calls are recorded under the function's name,
	// with the version.
	b.Proxy().Reset()
	invokeVersionFn(t, direct, name+":"+v2, `{"listFunctions":true}`)
	invokeVersionFn(t, direct, name, `{"listFunctions":true}`)
	var byVersion []string
	for _, c := range b.Proxy().Calls() {
		if c.Operation == "ListFunctions" {
			byVersion = append(byVersion, c.Caller+"@"+c.Version)
		}
	}
	if want := []string{name + "@" + v2, name + "@"}; len(byVersion) != 2 || byVersion[0] != want[0] || byVersion[1] != want[1] {
		t.Errorf("ListFunctions recorded as %v, want %v", byVersion, want)
	}

	// Concurrent invocations of the version scale out its own processes,
	// up to the function's MaxProcesses (2), all running build B.
	pids := map[int]int{}
	for range 3 {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				got := invokeVersionFn(t, direct, name+":"+v2, `{"sleepMillis":300}`)
				if got.Build != "B" || got.Version != v2 {
					t.Errorf("concurrent invocation of version %s: %+v", v2, got)
				}
				mu.Lock()
				pids[got.PID]++
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	if len(pids) != 2 {
		t.Errorf("12 invocations of version %s (4 at a time) were served by %d processes %v, want 2 (MaxProcesses 2)", v2, len(pids), pids)
	}
}

// TestStartVersionDirect: a version published straight to kumo (not through
// the proxy, so no hook) runs the deployed binary until StartVersion starts
// its own code; StartVersion is idempotent, does nothing for a version of
// the code stub, refuses $LATEST, and Stop removes the extracted bootstrap.
func TestStartVersionDirect(t *testing.T) {
	const name = "direct-versioned"
	ctx := context.Background()
	b := localawstest.Start(t)
	binA, binB := buildVersionFn(t, "A"), buildVersionFn(t, "B")

	if err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: name, TimeoutSec: 10, MemoryMB: 128}, binA); err != nil {
		t.Fatal(err)
	}
	direct := directLambda(t, b)
	v1 := publish(t, direct, name)
	if _, err := direct.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: packageOf(t, binB)}); err != nil {
		t.Fatalf("UpdateFunctionCode: %v", err)
	}
	waitUpdated(t, direct, name)
	v2 := publish(t, direct, name)

	if started, _, _ := b.WaitVersionStart(ctx, name, v2); started {
		t.Fatalf("version %s published straight to kumo was started without StartVersion", v2)
	}
	if got := invokeVersionFn(t, direct, name+":"+v2, `{}`); got.Build != "A" {
		t.Errorf("version %s before StartVersion: build %s, want A (the deployed binary, kumo's fallback)", v2, got.Build)
	}

	processes := len(b.PIDs())
	if err := b.StartVersion(ctx, name, v1); err != nil {
		t.Fatalf("StartVersion of the stub's version %s: %v", v1, err)
	}
	if n := len(b.PIDs()); n != processes {
		t.Errorf("StartVersion of the stub's version started %d processes, want none", n-processes)
	}

	if err := b.StartVersion(ctx, name, v2); err != nil {
		t.Fatalf("StartVersion %s: %v", v2, err)
	}
	if got := invokeVersionFn(t, direct, name+":"+v2, `{}`); got.Build != "B" || got.Version != v2 {
		t.Errorf("version %s after StartVersion: %+v, want build B, version %s", v2, got, v2)
	}
	processes = len(b.PIDs())
	for range 2 {
		if err := b.StartVersion(ctx, name, v2); err != nil {
			t.Fatalf("StartVersion %s again: %v", v2, err)
		}
	}
	if n := len(b.PIDs()); n != processes {
		t.Errorf("StartVersion of a running version started %d more processes, want none", n-processes)
	}
	if got := invokeVersionFn(t, direct, name+":"+v2, `{}`); got.Build != "B" {
		t.Errorf("version %s after a second StartVersion: build %s, want B", v2, got.Build)
	}

	for _, bad := range []string{"$LATEST", "live", ""} {
		if err := b.StartVersion(ctx, name, bad); err == nil {
			t.Errorf("StartVersion %q: no error, want one (not a version number)", bad)
		}
	}
	if err := b.StartVersion(ctx, name, "9"); err == nil {
		t.Error("StartVersion of a missing version: no error")
	}

	pid := b.FunctionPIDs()[name+":"+v2]
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatalf("the version's binary: %v", err)
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(exe)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Stop, the version's bootstrap directory %s: %v, want it gone", filepath.Dir(exe), err)
	}
	if err := b.StartVersion(ctx, name, v2); err == nil {
		t.Error("StartVersion after Stop: no error")
	}
}

type versionFnAnswer struct {
	Version  string `json:"version"`
	Build    string `json:"build"`
	PID      int    `json:"pid"`
	Function string `json:"function"`
	Greeting string `json:"greeting"`
}

func invokeVersionFn(t *testing.T, c *lambda.Client, function, payload string) versionFnAnswer {
	t.Helper()
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(function), Payload: []byte(payload)})
	if err != nil {
		t.Errorf("invoke %s: %v", function, err)
		return versionFnAnswer{}
	}
	if out.FunctionError != nil {
		t.Errorf("invoke %s: function error %s: %s", function, *out.FunctionError, out.Payload)
		return versionFnAnswer{}
	}
	var got versionFnAnswer
	if err := json.Unmarshal(out.Payload, &got); err != nil {
		t.Errorf("invoke %s: decode %s: %v", function, out.Payload, err)
	}

	return got
}

var (
	versionFnMu    sync.Mutex
	versionFnBuilt = map[string]string{}
)

// buildVersionFn builds testdata/versionfn with main.build set to build,
// once per test binary run.
func buildVersionFn(t *testing.T, build string) string {
	t.Helper()
	versionFnMu.Lock()
	defer versionFnMu.Unlock()
	if bin, ok := versionFnBuilt[build]; ok {
		return bin
	}

	root, err := localaws.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, ".build", "testfn", "versionfn-"+build, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-ldflags", "-X main.build="+build, "-o", bin, "./testdata/versionfn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build versionfn (build %s): %v\n%s", build, err, out)
	}
	versionFnBuilt[build] = bin

	return bin
}

// packageOf is a deployment package holding binary as bootstrap.
func packageOf(t *testing.T, binary string) []byte {
	t.Helper()
	pkg, err := lambdapkg.ZipFile(binary)
	if err != nil {
		t.Fatal(err)
	}

	return pkg
}

func proxiedLambda(t *testing.T, b *localaws.Backend, caller string) *lambda.Client {
	t.Helper()
	url, err := b.Proxy().Listen(caller)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := localaws.ConfigFor(context.Background(), url, b.Region())
	if err != nil {
		t.Fatal(err)
	}

	return lambda.NewFromConfig(cfg)
}

func directLambda(t *testing.T, b *localaws.Backend) *lambda.Client {
	t.Helper()
	cfg, err := b.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	return lambda.NewFromConfig(cfg)
}

func publish(t *testing.T, c *lambda.Client, name string) string {
	t.Helper()
	out, err := c.PublishVersion(context.Background(), &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("PublishVersion %s: %v", name, err)
	}

	return aws.ToString(out.Version)
}

func waitUpdated(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	err := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	}).Wait(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute)
	if err != nil {
		t.Fatalf("wait for %s's update: %v", name, err)
	}
}
