package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localenv"
)

// awsCLI returns the AWS CLI to drive the backend with: an outside client
// this project did not write. CI installs it (.ci/run sets
// AUTOSTOP_REQUIRE_AWSCLI=1); elsewhere the test is skipped without it.
func awsCLI(t *testing.T) string {
	for _, p := range []string{os.Getenv("AUTOSTOP_AWS_CLI"), "/usr/bin/aws", "/usr/local/bin/aws"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("AUTOSTOP_REQUIRE_AWSCLI") == "1" {
		t.Fatal("the AWS CLI is required (apt-get install awscli)")
	}
	t.Skip("no AWS CLI on this machine (apt-get install awscli); CI runs this test")

	return ""
}

// TestUpServesOutsideClients runs `autostop-local up` as `make up` does,
// drives it with the AWS CLI, then stops it with SIGINT and checks that
// nothing it started is left running.
func TestUpServesOutsideClients(t *testing.T) {
	cli := awsCLI(t)
	root, err := localaws.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := localaws.FindKumo(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "autostop-local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	envFile := filepath.Join(dir, "env.json")
	cmd := exec.Command(bin, "up", "--port", "0", "--front-port", "0", "--log", filepath.Join(dir, "backend.log"), "--env-json", envFile,
		"--bin-dir", filepath.Join(root, ".build", "local"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// Read the banner up to its last line; keep the endpoint.
	var endpoint, demoURL string
	banner := bufio.NewScanner(stdout)
	endpointRE := regexp.MustCompile(`AWS_ENDPOINT_URL=(http://127\.0\.0\.1:\d+)`)
	demoRE := regexp.MustCompile(`^  (http://demo\.[a-z.]+\.localhost:\d+/)$`)
	deadline := time.AfterFunc(120*time.Second, func() { _ = cmd.Process.Kill() })
	for banner.Scan() {
		line := banner.Text()
		t.Log(line)
		if m := endpointRE.FindStringSubmatch(line); m != nil {
			endpoint = m[1]
		}
		if m := demoRE.FindStringSubmatch(line); m != nil {
			demoURL = m[1]
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	deadline.Stop()
	if endpoint == "" || demoURL == "" {
		t.Fatalf("banner printed no AWS_ENDPOINT_URL (%q) or demo rule URL (%q)", endpoint, demoURL)
	}
	go func() { // keep draining so the process never blocks on stdout
		for banner.Scan() {
		}
	}()

	var env localenv.Environment
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}

	// An ELBv2 resource with tags, to describe through the CLI.
	ctx := context.Background()
	cfg, err := localaws.ConfigFor(ctx, endpoint, env.Region)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := elbv2.NewFromConfig(cfg).CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("cli-check"), TargetType: elbv2types.TargetTypeEnumLambda,
		Tags: []elbv2types.Tag{{Key: aws.String("autostop:load-balancer"), Value: aws.String("cli-check")}},
	})
	if err != nil {
		t.Fatalf("create target group: %v", err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)

	run := func(args ...string) string {
		t.Helper()
		c := exec.Command(cli, append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
		c.Env = append(os.Environ(), "AWS_REGION="+env.Region, "AWS_DEFAULT_REGION="+env.Region,
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_PAGER=", "AWS_ENDPOINT_URL="+endpoint)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	checks := []struct {
		args []string
		want []string
	}{
		{[]string{"stepfunctions", "list-state-machines"}, []string{`"stateMachines"`}},
		{[]string{"lambda", "list-functions"}, []string{"autostop-proxy"}},
		{[]string{"ec2", "describe-subnets", "--filters", "Name=vpc-id,Values=" + env.VPCID}, env.SubnetIDs},
		{[]string{"route53", "list-hosted-zones"}, []string{env.ZoneName}},
		{[]string{"acm", "list-certificates", "--includes", "keyTypes=EC_prime256v1"}, []string{env.CertificateARN, env.OtherCertificateARN}},
		{[]string{"acm", "describe-certificate", "--certificate-arn", env.CertificateARN}, []string{"*." + env.Domain, `"Status": "ISSUED"`}},
		{[]string{"elbv2", "describe-tags", "--resource-arns", tgARN}, []string{"autostop:load-balancer", "cli-check"}},
		{[]string{"dynamodb", "get-item", "--table-name", "autostop-rules", "--key", `{"host":{"S":"demo.` + env.Domain + `"}}`},
			[]string{`"stopped"`, `"demo"`}},
	}
	for _, c := range checks {
		out := run(c.args...)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("aws %s: output lacks %q:\n%s", strings.Join(c.args, " "), w, out)
			}
		}
	}

	// The demo rule through the front, as curl would send it: held while the
	// instance starts, then sent back with 307; the repeat is served by the
	// instance.
	status, header, body, err := get(ctx, demoURL, "application/json")
	if err != nil || status != 307 || header.Get("Location") != "/" {
		t.Errorf("first API request to %s: %d %v %s (%v), want 307 to / once switched", demoURL, status, header, body, err)
	}
	if status, _, body, err := get(ctx, demoURL, "text/plain"); err != nil || status != 200 || !strings.Contains(body, "served by i-") {
		t.Errorf("the repeat: %d %s (%v), want the instance's answer", status, body, err)
	}

	// Ctrl-C: the command exits cleanly and leaves no process behind.
	pids := childPIDs(cmd.Process.Pid)
	if len(pids) == 0 {
		t.Fatal("found no child processes of autostop-local up")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("autostop-local up after SIGINT: %v", err)
	}
	for _, pid := range pids {
		if localawstest.Running(pid) {
			t.Errorf("process %d still running after Ctrl-C", pid)
		}
	}
}

// childPIDs lists the direct children of pid, from /proc.
func childPIDs(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndex(s, ")")
		fields := strings.Fields(s[i+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			if child, err := strconv.Atoi(e.Name()); err == nil {
				out = append(out, child)
			}
		}
	}

	return out
}
