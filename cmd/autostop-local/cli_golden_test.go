package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/cli"
	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/lambdapkg"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localenv"
	"github.com/autostop/autostop/shared/localworkload"
	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/spec"
)

// goldenDir is testdata/cli of this package (the test changes directory
// to build the proxy from the repository's root).
var goldenDir = func() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "testdata", "cli")
}()

var update = flag.Bool("update", false, "rewrite the CLI's golden files in testdata/cli from this run")

// TestOperatorCLI drives the autostop CLI against the local backend with
// the app deployed, as an operator would: lb create, rules create (by
// event), lb list / describe, rules list / describe, history (table, json,
// mermaid), rules wake (then a request served through the ALB front),
// rules sleep, lb update-proxy (a good build serves; a build failing its
// test invocation never moves the alias; one failing once served through
// the alias is moved back), wake and sleep again as json, rules delete and
// create in both outputs, lb delete (refused with a rule attached, then
// --force; what is left checked with the AWS CLI), and a second load
// balancer created and deleted as json. It compares every output with its
// golden file in testdata/cli (normalized: IDs, times and durations the
// backend makes up differ from run to run). `go test ./cmd/autostop-local
// -run TestOperatorCLI -update` rewrites them; AUTOSTOP_CLI_RAW_DIR=DIR
// also saves each output as printed there.
func TestOperatorCLI(t *testing.T) {
	ctx := context.Background()
	root, err := localaws.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := localaws.FindKumo(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := backendFlags{root: root, region: localaws.DefaultRegion, binDir: filepath.Join(root, ".build", "local"), logPath: filepath.Join(dir, "backend.log")}
	b, _, env, logFile, err := bringUp(ctx, f, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop(); logFile.Close() })
	for _, kv := range b.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}

	specPath := writeSpec(t, root, dir, env, "route53-existing-certificate.json")
	raw, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	n := normalizer{replace: map[string]string{specPath: "web.json", b.Endpoint(): "http://127.0.0.1:<port>"}}

	autostop := func(args ...string) (string, string, int) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := cli.Run(ctx, args, &stdout, &stderr)
		return stdout.String(), stderr.String(), code
	}
	goldenExit := func(name string, want int, args ...string) string {
		t.Helper()
		stdout, stderr, code := autostop(args...)
		if code != want {
			t.Fatalf("autostop %s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
		}
		if dir := os.Getenv("AUTOSTOP_CLI_RAW_DIR"); dir != "" {
			// The outputs as printed, for the README's examples.
			_ = os.WriteFile(filepath.Join(dir, name), []byte(stdout), 0o644)
		}
		compareGolden(t, name, n.apply(stdout, strings.HasSuffix(name, ".json")))
		return stdout
	}
	golden := func(name string, args ...string) string {
		t.Helper()
		return goldenExit(name, cli.ExitOK, args...)
	}

	golden("lb-create.txt", "lb", "create", "-f", specPath, "--name", "cli-golden-create")

	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := localworkload.NewAddresses(localworkload.FirstAddress).Next(demoApp.Ports...)
	if err != nil {
		t.Fatal(err)
	}
	instance, err := seedDemoInstance(ctx, cfg, env, addr)
	if err != nil {
		t.Fatal(err)
	}
	n.replace[instance] = "i-<demo>"
	detail, _ := json.Marshal(eventstart.RuleCreated{Rule: demoRule(instance), LoadBalancer: eventstart.LoadBalancerRef{Name: s.Name}})
	rulePath := filepath.Join(dir, "demo-rule.json")
	if err := os.WriteFile(rulePath, detail, 0o600); err != nil {
		t.Fatal(err)
	}
	n.replace[rulePath] = "demo-rule.json"
	golden("rules-create.txt", "rules", "create", "-f", rulePath)

	for _, c := range []struct {
		name string
		args []string
	}{
		{"lb-list", []string{"lb", "list"}},
		{"lb-describe", []string{"lb", "describe", s.Name}},
		{"rules-list", []string{"rules", "list"}},
		{"rules-describe", []string{"rules", "describe", "demo"}},
		{"history-create", []string{"history", "cli-golden-create"}},
	} {
		golden(c.name+".txt", c.args...)
		golden(c.name+".json", append(c.args, "--output", "json")...)
	}
	golden("history-create.mmd", "history", "cli-golden-create", "--output", "mermaid")

	// Wake the rule now and see it served through the ALB front; then put
	// it to sleep.
	plane, err := startDataPlane(ctx, cfg, lbARN(t, ctx, cfg, s.Name), 0, slog.New(slog.NewJSONHandler(logFile, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plane.Stop)
	golden("rules-wake.txt", "rules", "wake", "demo")
	host := "demo." + spec.NormalizeDomain(s.Domain)
	if status, _, body, err := get(ctx, plane.URL(host), "application/json"); err != nil || status != 200 || !strings.Contains(body, instance) {
		t.Errorf("after 'rules wake': GET %s → %d, %v, %q; want 200 from %s", plane.URL(host), status, err, body, instance)
	}
	golden("rules-describe-running.txt", "rules", "describe", host)
	golden("rules-wake-again.txt", "rules", "wake", "demo")
	golden("rules-wake-again.json", "rules", "wake", "demo", "--output", "json")
	golden("rules-sleep.txt", "rules", "sleep", "demo")
	golden("rules-sleep-again.json", "rules", "sleep", "demo", "--output", "json")
	golden("history-last-3.txt", "history", "--last", "3")

	// Update the proxy's code: built from this checkout, tried, then
	// served; the alias moved and the old version kept. Then a build that
	// fails its test invocation: nothing moves.
	lc := lambda.NewFromConfig(cfg)
	before := aliasVersion(t, ctx, lc)
	t.Chdir(root)
	stdout := golden("lb-update-proxy.txt", "lb", "update-proxy", s.Name, "--build", "--local", "--name", "cli-golden-update")
	t.Chdir(filepath.Join(root, "cmd", "autostop-local"))
	after := aliasVersion(t, ctx, lc)
	if after == before || !strings.Contains(stdout, "runs version "+after) {
		t.Errorf("after update-proxy the alias is at version %s (was %s):\n%s", after, before, stdout)
	}
	if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("autostop-proxy"), Qualifier: aws.String(before)}); err != nil {
		t.Errorf("the old version %s is gone: %v", before, err)
	}
	requireProxyVersion(t, ctx, plane, "nobody."+env.Domain, after)
	golden("history-update.txt", "history", "cli-golden-update")

	bad := testProxyPackage(t, root, dir, "./shared/localaws/testdata/versionfn")
	stdout = goldenExit("lb-update-proxy-bad.txt", cli.ExitFailed, "lb", "update-proxy", s.Name, "--zip", bad, "--name", "cli-golden-update-bad")
	if !strings.Contains(stdout, "Error: CheckFailed") || !strings.Contains(stdout, "did not move") {
		t.Errorf("update-proxy with a bad build: want CheckFailed and the alias unmoved:\n%s", stdout)
	}
	if now := aliasVersion(t, ctx, lc); now != after {
		t.Errorf("after a failed update-proxy the alias is at version %s, want %s", now, after)
	}
	requireProxyVersion(t, ctx, plane, "nobody."+env.Domain, after)

	// A build that passes its test invocation but fails once it serves
	// (through the alias): the alias moves, the verification through the
	// target group's target fails, the alias moves back.
	broken := testProxyPackage(t, root, dir, "./cmd/autostop-local/testdata/aliasbrokenproxy")
	stdout = goldenExit("lb-update-proxy-moved-back.json", cli.ExitFailed, "lb", "update-proxy", s.Name, "--zip", broken, "--name", "cli-golden-update-broken", "--output", "json")
	var fail cli.Failure
	if err := json.Unmarshal([]byte(stdout), &fail); err != nil || fail.Error != "CheckFailed" || fail.Alias == nil || !fail.Alias.MovedBack || fail.Alias.Version != after {
		t.Errorf("update-proxy of a build that fails once served: %v %+v, want CheckFailed and the alias moved back to %s:\n%s", err, fail.Alias, after, stdout)
	}
	if now := aliasVersion(t, ctx, lc); now != after {
		t.Errorf("after the alias was moved back it is at version %s, want %s", now, after)
	}
	requireProxyVersion(t, ctx, plane, "nobody."+env.Domain, after)
	golden("history-update-moved-back.txt", "history", "cli-golden-update-broken")

	// The good build again, as json: a new version serves.
	t.Chdir(root)
	stdout = golden("lb-update-proxy.json", "lb", "update-proxy", s.Name, "--build", "--local", "--name", "cli-golden-update-again", "--output", "json")
	t.Chdir(filepath.Join(root, "cmd", "autostop-local"))
	var updated struct{ Version, PreviousVersion string }
	if err := json.Unmarshal([]byte(stdout), &updated); err != nil || updated.PreviousVersion != after || updated.Version == after {
		t.Errorf("update-proxy --output json: %v %+v, want a move from version %s", err, updated, after)
	}
	after = aliasVersion(t, ctx, lc)
	requireProxyVersion(t, ctx, plane, "nobody."+env.Domain, after)

	// Wake and sleep again, as json.
	golden("rules-wake.json", "rules", "wake", "demo", "--output", "json")
	if status, _, body, err := get(ctx, plane.URL(host), "application/json"); err != nil || status != 200 || !strings.Contains(body, instance) {
		t.Errorf("after 'rules wake --output json': GET %s → %d, %v, %q; want 200 from %s", plane.URL(host), status, err, body, instance)
	}
	golden("rules-sleep.json", "rules", "sleep", "demo", "--output", "json")

	// Detach the rule and attach it again, in both outputs.
	golden("rules-delete.txt", "rules", "delete", "demo")
	golden("rules-list-after-delete.txt", "rules", "list")
	golden("rules-create.json", "rules", "create", "-f", rulePath, "--output", "json")
	golden("rules-delete.json", "rules", "delete", "demo", "--output", "json")
	if _, stderr, code := autostop("rules", "delete", "demo"); code != cli.ExitNotFound {
		t.Errorf("rules delete of a deleted rule: exit code %d, want %d\n%s", code, cli.ExitNotFound, stderr)
	}
	golden("rules-create-again.txt", "rules", "create", "-f", rulePath)

	// Delete: refused while the rule is attached; with --force the rule is
	// detached first. A record and a target group another tool made stay.
	if stdout, stderr, code := autostop("lb", "delete", s.Name, "--name", "cli-golden-refused"); code != cli.ExitFailed ||
		!strings.Contains(stdout, "Error: RulesAttached") || !strings.Contains(stdout, "--force") {
		t.Errorf("lb delete with a rule attached: exit code %d, want %d and RulesAttached naming --force\nstdout:\n%s\nstderr:\n%s", code, cli.ExitFailed, stdout, stderr)
	}
	foreignRecord, foreignGroup := addForeignResources(t, ctx, cfg, env)
	golden("lb-delete.txt", "lb", "delete", s.Name, "--force", "--name", "cli-golden-delete")
	golden("history-delete.txt", "history", "cli-golden-delete")

	// Another load balancer (HTTP only, DNS elsewhere), created and
	// deleted as json.
	httpSpec := writeSpec(t, root, dir, env, "other-dns-http-only.json")
	n.replace[httpSpec] = "http.json"
	golden("lb-create.json", "lb", "create", "-f", httpSpec, "--name", "cli-golden-create-http", "--output", "json")
	golden("lb-delete.json", "lb", "delete", "autostop-http", "--name", "cli-golden-delete-http", "--output", "json")
	golden("lb-list-empty.txt", "lb", "list")
	golden("rules-list-empty.json", "rules", "list", "--output", "json")
	if _, stderr, code := autostop("lb", "delete", s.Name, "--name", "cli-golden-delete-again"); code != cli.ExitNotFound {
		t.Errorf("lb delete of a deleted load balancer: exit code %d, want %d\n%s", code, cli.ExitNotFound, stderr)
	}

	// Checked from outside, with the AWS CLI: nothing of the load balancer
	// is left, the foreign record and target group are.
	aws := awsCLI(t)
	awsOut := func(args ...string) string {
		t.Helper()
		// --endpoint-url: Debian's AWS CLI predates AWS_ENDPOINT_URL.
		out, err := exec.Command(aws, append(args, "--endpoint-url", b.Endpoint())...).CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	records := awsOut("route53", "list-resource-record-sets", "--hosted-zone-id", env.HostedZoneID, "--output", "json")
	if !strings.Contains(records, foreignRecord) || strings.Contains(records, "heritage=autostop") || strings.Contains(records, "*."+env.Domain) {
		t.Errorf("records after lb delete: want %s and no autostop record:\n%s", foreignRecord, records)
	}
	groups := awsOut("elbv2", "describe-target-groups", "--output", "json")
	if !strings.Contains(groups, foreignGroup) || strings.Contains(groups, s.Name+"-proxy") || strings.Contains(groups, "demo-") {
		t.Errorf("target groups after lb delete: want %s only:\n%s", foreignGroup, groups)
	}
	if lbs := awsOut("elbv2", "describe-load-balancers", "--output", "json"); strings.Contains(lbs, s.Name) {
		t.Errorf("the load balancer is still there:\n%s", lbs)
	}
	if certs := awsOut("acm", "list-certificates", "--output", "json"); !strings.Contains(certs, env.CertificateARN) {
		t.Errorf("the certificate the spec named (adopted, not autostop's) is gone:\n%s", certs)
	}

	// Errors an operator meets, with their exit codes.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"lb", "describe", "nope"}, cli.ExitNotFound, `no autostop load balancer named "nope"`},
		{[]string{"rules", "describe", "nope"}, cli.ExitNotFound, `no AutoStopping rule with host or name "nope"`},
		{[]string{"history", "nope"}, cli.ExitNotFound, `no execution named "nope"`},
	} {
		_, stderr, code := autostop(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("autostop %s: exit code %d, stderr %q; want %d and %q", strings.Join(c.args, " "), code, stderr, c.code, c.want)
		}
	}
}

// addForeignResources makes, as another tool would, a record in the
// seeded zone and a target group in the seeded VPC, without autostop's
// tags; it returns the record's name and the group's ARN.
func addForeignResources(t *testing.T, ctx context.Context, cfg aws.Config, env *localenv.Environment) (string, string) {
	t.Helper()
	record := "www." + env.ZoneName
	_, err := route53.NewFromConfig(cfg).ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(env.HostedZoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(record), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.10")}},
		}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := elbv2.NewFromConfig(cfg).CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("foreign-web"), Protocol: elbv2types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String(env.VPCID),
	})
	if err != nil {
		t.Fatal(err)
	}

	return record, aws.ToString(tg.TargetGroups[0].TargetGroupArn)
}

// aliasVersion is the version the proxy's alias "live" points at.
func aliasVersion(t *testing.T, ctx context.Context, lc *lambda.Client) string {
	t.Helper()
	a, err := lc.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("autostop-proxy"), Name: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}

	return aws.ToString(a.FunctionVersion)
}

// requireProxyVersion fails unless a request through the ALB front for
// host is answered by the proxy's version want.
func requireProxyVersion(t *testing.T, ctx context.Context, plane *dataPlane, host, want string) {
	t.Helper()
	status, header, body, err := get(ctx, plane.URL(host), "application/json")
	if err != nil || header.Get(proxymanager.VersionHeader) != want {
		t.Errorf("GET %s through the front: %d %v, %s %q, want version %s: %s", plane.URL(host), status, err,
			proxymanager.VersionHeader, header.Get(proxymanager.VersionHeader), want, body)
	}
}

// testProxyPackage builds the test function pkg (a path from the
// repository's root) for this machine and zips it; it returns the zip's
// path. The local runner's versionfn answers no ALB response (its test
// invocation fails); aliasbrokenproxy fails only through the alias.
func testProxyPackage(t *testing.T, root, dir, pkg string) string {
	t.Helper()
	name := filepath.Base(pkg)
	bin := filepath.Join(dir, name, "bootstrap")
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	zipped, err := lambdapkg.ZipFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".zip")
	if err := os.WriteFile(path, zipped, 0o600); err != nil {
		t.Fatal(err)
	}

	return path
}

// lbARN is the ARN of the load balancer called name.
func lbARN(t *testing.T, ctx context.Context, cfg aws.Config, name string) string {
	t.Helper()
	out, err := elbv2.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if err != nil || len(out.LoadBalancers) != 1 {
		t.Fatalf("describe load balancer %s: %v", name, err)
	}

	return aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
}

// compareGolden compares got with testdata/cli/name, or rewrites it with
// -update.
func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from its golden file (run with -update after checking the change):\n%s", name, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines that differ, with their line numbers.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
		}
	}

	return b.String()
}

// normalizer replaces what the backend makes up anew in each run (IDs,
// times, durations, ports) with placeholders, so outputs compare.
type normalizer struct {
	replace map[string]string
}

var normalizations = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<time>"},
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<uuid>"},
	// kumo's resource IDs: the start of a UUID (sg-…, listener/…/…).
	{regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{1,4}\b`), "<id>"},
	{regexp.MustCompile(`-[0-9a-f]{8}\.`), "-<id>."},
	{regexp.MustCompile(`\b(sg|vpc|subnet|i|igw|rtb|eni)-[0-9a-f]{8,17}\b`), "$1-<id>"},
	{regexp.MustCompile(`/[0-9a-f]{16}\b`), "/<id>"},
	{regexp.MustCompile(`\bZ[0-9A-Z]{8,32}\b`), "Z<zone>"},
	{regexp.MustCompile(`-\d{6,}\.`), "-<n>."},
	{regexp.MustCompile(`\b\d+m\d\ds\b|\b\d+\.\ds\b`), "<dur>"},
	{regexp.MustCompile(`"(attempts|version|checks)": \d+`), `"$1": <n>`},
	// A test function's process ID, quoted in a failed check's cause.
	{regexp.MustCompile(`\\?"pid\\?":\d+`), `"pid":<n>`},
	{regexp.MustCompile(`:\d+:function:`), ":<acct>:function:"},
	{regexp.MustCompile(`-[0-9a-f]{8}-(sleep-)?\d{13}\b`), "-<hash>-$1<ms>"},
	{regexp.MustCompile(`/rule-\d+\b`), "/rule-<n>"},
	{regexp.MustCompile(`code [A-Za-z0-9+/]{43}=`), "code <sha256>"},
	{regexp.MustCompile(`for (linux|darwin)/(amd64|arm64)`), "for <os>/<arch>"},
	{regexp.MustCompile(`Uploading \d+\.\d MB`), "Uploading <n> MB"},
}

// loopLine is a wait loop's turn ("↻ …"): how often a loop turns depends
// on timing, so turns are dropped and the final "done after N checks"
// line is kept without N.
var (
	loopLine   = regexp.MustCompile(`(?m)^\s*↻ .*\n`)
	loopChecks = regexp.MustCompile(`done after \d+ checks?`)
	cellGap    = regexp.MustCompile(` {2,}`)
)

// apply normalizes out; text (not JSON) is aligned again, as columns move
// when a normalized value had another width.
func (n normalizer) apply(out string, isJSON bool) string {
	for from, to := range n.replace {
		out = strings.ReplaceAll(out, from, to)
	}
	for _, r := range normalizations {
		out = r.re.ReplaceAllString(out, r.with)
	}
	out = collapseRepeats(loopLine.ReplaceAllString(out, ""))
	out = loopChecks.ReplaceAllString(out, "done after <n> checks")
	if !isJSON {
		out = realign(out)
	}

	return out
}

// collapseRepeats drops a block of progress or timeline lines that
// repeats the block right before it: a wait loop's turns (a Task, a
// Choice, a Wait, again) read the same once times and counts are
// normalized, and how often a loop turns depends on timing. Other lines
// (two listeners whose IDs normalize alike) are kept.
func collapseRepeats(out string) string {
	lines := strings.Split(out, "\n")
	for changed := true; changed; {
		changed = false
		for k := 1; k <= 60 && !changed; k++ {
			for i := 0; i+2*k <= len(lines); i++ {
				if isStepLine(lines[i]) && slices.Equal(lines[i:i+k], lines[i+k:i+2*k]) {
					lines = slices.Delete(lines, i+k, i+2*k)
					changed = true
					break
				}
			}
		}
	}

	return strings.Join(lines, "\n")
}

// isStepLine: a progress line ("→ Name", "✓ Name 0.4s") or a timeline row
// ("+1.2s …").
func isStepLine(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "→") || strings.HasPrefix(t, "✓") || strings.HasPrefix(t, "✗") || strings.HasPrefix(t, "+<dur>")
}

// realign aligns again the columns of text tables (cells separated by two
// or more spaces, as the CLI's tabwriters write them): consecutive lines
// with the same indent and number of cells form a table; a deeper-indented
// single cell continues the table above (its first cells are empty).
func realign(out string) string {
	var b strings.Builder
	var table [][]string
	var indent string
	flush := func() {
		if len(table) == 0 {
			return
		}
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, cells := range table {
			fmt.Fprintln(tw, indent+strings.Join(cells, "\t"))
		}
		_ = tw.Flush()
		table = nil
	}
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		lead := line[:len(line)-len(trimmed)]
		cells := cellGap.Split(strings.TrimRight(trimmed, " "), -1)
		if len(table) > 0 && len(cells) == 1 && len(lead) > len(indent)+2 {
			table = append(table, append(make([]string, len(table[0])-1), trimmed))
			continue
		}
		// Progress lines are not tables: "✓ Validate  0.3s".
		if len(cells) < 2 || strings.ContainsAny(trimmed[:min(len(trimmed), 4)], "→✓✗↻") {
			flush()
			b.WriteString(line)
			if i < len(lines)-1 {
				b.WriteString("\n")
			}
			continue
		}
		if len(table) > 0 && (len(cells) != len(table[0]) || lead != indent) {
			flush()
		}
		indent = lead
		table = append(table, cells)
	}
	flush()

	return b.String()
}

// writeSpec writes the sample spec name, filled with the seeded
// environment, into dir and returns its path.
func writeSpec(t *testing.T, root, dir string, env *localenv.Environment, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "statemachine", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	filled, _ := json.MarshalIndent(env.Fill(s), "", "  ")
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, filled, 0o600); err != nil {
		t.Fatal(err)
	}

	return path
}
