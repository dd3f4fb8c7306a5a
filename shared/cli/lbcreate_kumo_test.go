package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// tinyMachine has the real state machine's shape and state names, with
// Pass states standing in for the functions. It does not read
// $$.Execution.Name: kumo v0.33.1 resolves the Context object only in a Map's
// ItemSelector.
const tinyMachine = `{
  "Comment": "ProvisionLoadBalancer stand-in for the CLI test",
  "StartAt": "Init",
  "States": {
    "Init": {"Type": "Pass", "Parameters": {"spec.$": "$", "results": {},
      "timing": {"loadBalancerWaitSeconds": 1}}, "Next": "EnsureLoadBalancer"},
    "EnsureLoadBalancer": {"Type": "Pass", "ResultPath": "$.results.loadBalancer",
      "Result": {"arn": "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/1", "dnsName": "web-1.elb.local",
        "state": "provisioning", "resources": [{"kind": "load-balancer", "id": "arn:lb", "action": "created"}]},
      "Next": "LoadBalancerActive?"},
    "LoadBalancerActive?": {"Type": "Choice", "Choices": [
      {"Variable": "$.results.loadBalancer.state", "StringEquals": "active", "Next": "EnsureDNS"},
      {"Variable": "$.spec.name", "StringEquals": "broken", "Next": "LoadBalancerFailed"}],
      "Default": "WaitForLoadBalancer"},
    "WaitForLoadBalancer": {"Type": "Wait", "SecondsPath": "$.timing.loadBalancerWaitSeconds", "Next": "LoadBalancerIsActive"},
    "LoadBalancerIsActive": {"Type": "Pass", "Result": "active", "ResultPath": "$.results.loadBalancer.state", "Next": "LoadBalancerActive?"},
    "EnsureDNS": {"Type": "Pass", "ResultPath": "$.results.dns",
      "Result": {"wildcard": "*.autostop.example.test", "changeStatus": "INSYNC",
        "records": [{"name": "*.autostop.example.test", "type": "A", "value": "ALIAS web-1.elb.local"}],
        "resources": [{"kind": "record", "id": "*.autostop.example.test A", "action": "created"}]},
      "Next": "Provisioned"},
    "Provisioned": {"Type": "Pass", "Parameters": {"name.$": "$.spec.name", "domain.$": "$.spec.domain",
      "wildcard.$": "$.results.dns.wildcard",
      "loadBalancerDnsName.$": "$.results.loadBalancer.dnsName", "results.$": "$.results"}, "End": true},
    "LoadBalancerFailed": {"Type": "Pass", "Result": {"Error": "Timeout", "Cause": "the load balancer reached state failed"},
      "ResultPath": "$.error", "Next": "Rollback"},
    "Rollback": {"Type": "Pass", "ResultPath": "$.rollback",
      "Result": {"deleted": [{"kind": "load-balancer", "id": "arn:lb", "action": "deleted"}], "left": []},
      "Next": "ProvisioningFailed"},
    "ProvisioningFailed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
  }
}`

func TestLbCreateOnLocalBackend(t *testing.T) {
	ctx := context.Background()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const machine = "autostop-provision-load-balancer-cli-test"
	if _, err := sfn.NewFromConfig(cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String(machine), Definition: aws.String(tinyMachine),
		RoleArn: aws.String("arn:aws:iam::000000000000:role/autostop-states"), Type: sfntypes.StateMachineTypeStandard,
	}); err != nil {
		t.Fatal(err)
	}

	// The CLI finds the backend the standard way: AWS_ENDPOINT_URL.
	t.Setenv("AWS_ENDPOINT_URL", b.Endpoint())
	t.Setenv("AWS_REGION", b.Region())
	t.Setenv("AWS_ACCESS_KEY_ID", localaws.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", localaws.SecretAccessKey)

	tests := []struct {
		name       string
		lbName     string
		args       []string
		wantCode   int
		wantStdout []string
	}{
		{
			name: "success", lbName: "web", wantCode: ExitOK,
			wantStdout: []string{
				"Provisioning load balancer web from",
				"endpoint       " + b.Endpoint(),
				"  ✓ Init  ",
				"  ✓ EnsureLoadBalancer  ",
				"  → LoadBalancerActive?\n",
				"  ↻ WaitForLoadBalancer: waiting for the load balancer, check 1, next in 1s\n",
				"  ✓ WaitForLoadBalancer  1.",
				"  → LoadBalancerActive?\n",
				"  ✓ EnsureDNS  ",
				"  ✓ Provisioned  ",
				"Load balancer web is ready",
				"DNS name", "web-1.elb.local",
				"Wildcard", "*.autostop.example.test",
				"Records written in Route 53:",
				"Created by this execution (2):",
				"load-balancer  arn:lb",
			},
		},
		{
			name: "fail state", lbName: "broken", wantCode: ExitFailed,
			wantStdout: []string{
				"  → LoadBalancerActive?\n",
				"  ✓ LoadBalancerFailed  ",
				"  ✓ Rollback  ",
				"  ✗ ProvisioningFailed\n",
				"Execution FAILED.",
				"Error: Timeout",
				"Cause: the load balancer reached state failed",
				"Rollback: deleted 1 resource(s), 0 left.",
				"load-balancer  arn:lb",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSpec(t, strings.Replace(validSpec, `"web"`, `"`+tt.lbName+`"`, 1))
			var stdout, stderr bytes.Buffer
			args := append([]string{"lb", "create", "-f", path, "--state-machine", machine}, tt.args...)
			code := Run(ctx, args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			assertInOrder(t, "stdout", stdout.String(), tt.wantStdout)
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
		})
	}

	t.Run("json output is the execution output", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := Run(ctx, []string{"lb", "create", "-f", writeSpec(t, validSpec), "--state-machine", machine, "--output", "json", "--name", "json-only"}, &stdout, &stderr)
		var out Output
		if err := json.Unmarshal(stdout.Bytes(), &out); code != ExitOK || err != nil {
			t.Fatalf("exit code %d, stdout not the output JSON (%v):\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
		}
		if out.LoadBalancerDNSName != "web-1.elb.local" || out.Results.DNS == nil {
			t.Errorf("output %+v", out)
		}
		if !strings.Contains(stderr.String(), "  ✓ Provisioned  ") {
			t.Errorf("progress not on stderr:\n%s", stderr.String())
		}
	})
}
