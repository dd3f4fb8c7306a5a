package loadbalancer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localenv"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// kumoEnv is a local backend seeded with the customer environment, with
// clients that reach it through the recording proxy (as the step function
// does) and direct clients to inspect it without being counted.
type kumoEnv struct {
	b      *localaws.Backend
	env    *localenv.Environment
	step   Clients
	elbv2  *elbv2.Client
	ec2    *ec2.Client
	caller string
}

func startKumo(t *testing.T) *kumoEnv {
	t.Helper()

	seeded := localawstest.StartSeeded(t, "test")
	b, cfg, env, pcfg := seeded.Backend, seeded.Direct, seeded.Env, seeded.Proxied

	return &kumoEnv{b: b, env: env, step: NewClients(pcfg, env.Region), elbv2: elbv2.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg), caller: "test"}
}

// mutating returns the mutating calls made through the proxy since the last reset.
func (k *kumoEnv) mutating() []string {
	var out []string
	for _, c := range k.b.Proxy().Calls() {
		if c.Caller == k.caller && c.Mutating {
			out = append(out, c.Operation)
		}
	}

	return out
}

func (k *kumoEnv) spec(name string) spec.LoadBalancerSpec {
	return spec.LoadBalancerSpec{
		Name: name, Region: k.env.Region, Scheme: spec.SchemeInternetFacing, IPAddressType: spec.IPv4,
		VPCID: k.env.VPCID, SubnetIDs: slices.Clone(k.env.SubnetIDs), Domain: k.env.Domain,
		DNS: spec.DNSSpec{Provider: spec.ProviderRoute53, HostedZoneID: k.env.HostedZoneID}, Tags: map[string]string{"team": "a"},
	}
}

// lbGone reports whether the ALB arn no longer exists.
func (k *kumoEnv) lbGone(t *testing.T, arn string) bool {
	t.Helper()
	_, err := k.elbv2.DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	var nf *elbv2types.LoadBalancerNotFoundException
	if err != nil && !errors.As(err, &nf) {
		t.Fatalf("describe %s: %v", arn, err)
	}

	return err != nil
}

// groupGone reports whether the security group id no longer exists.
func (k *kumoEnv) groupGone(t *testing.T, id string) bool {
	t.Helper()
	_, err := k.ec2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil && steperr.ErrorCode(err) != codeGroupNotFound {
		t.Fatalf("describe %s: %v", id, err)
	}

	return err != nil
}

func TestEnsureKumo(t *testing.T) {
	ctx := context.Background()
	k := startKumo(t)
	in := step.Input{Spec: k.spec("web"), Execution: "exec-1"}

	res, err := Ensure(ctx, k.step, in)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: %+v; mutating calls %v", res, k.mutating())
	if want := []string{"CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateLoadBalancer"}; !slices.Equal(k.mutating(), want) {
		t.Errorf("mutating calls %v, want %v", k.mutating(), want)
	}
	if want := []string{"security-group:created", "load-balancer:created"}; !slices.Equal(actions(res.Resources), want) {
		t.Errorf("resources %v, want %v", actions(res.Resources), want)
	}
	if res.ARN == "" || res.DNSName == "" || res.CanonicalHostedZoneID == "" || res.State == "" || res.Adopted || res.Attempts != 1 {
		t.Errorf("result %+v", res)
	}
	sgID := res.Resources[0].ID

	t.Run("ALB settings and tags", func(t *testing.T) {
		out, err := k.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{res.ARN}})
		if err != nil {
			t.Fatal(err)
		}
		lb := out.LoadBalancers[0]
		if d := settingsDiff(lb, in.Spec, []string{sgID}); len(d) > 0 {
			t.Errorf("ALB settings differ: %v", d)
		}
		if aws.ToString(lb.LoadBalancerName) != "web" || aws.ToString(lb.DNSName) != res.DNSName || !slices.Equal(res.SecurityGroupIDs, []string{sgID}) {
			t.Errorf("ALB %s %s, result %+v", aws.ToString(lb.LoadBalancerName), aws.ToString(lb.DNSName), res)
		}
		tags, err := k.elbv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{res.ARN}})
		if err != nil {
			t.Fatal(err)
		}
		got := tagMap(tags.TagDescriptions[0].Tags, func(t elbv2types.Tag) (*string, *string) { return t.Key, t.Value })
		if !ownership.CreatedBy(got, "web", "exec-1") || got["team"] != "a" {
			t.Errorf("ALB tags %v", got)
		}
	})

	t.Run("security group rules and tags", func(t *testing.T) {
		out, err := k.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sgID}})
		if err != nil {
			t.Fatal(err)
		}
		g := out.SecurityGroups[0]
		if aws.ToString(g.GroupName) != "autostop-web" || aws.ToString(g.VpcId) != k.env.VPCID {
			t.Errorf("group %s in %s", aws.ToString(g.GroupName), aws.ToString(g.VpcId))
		}
		if tags := groupTags(g); !ownership.CreatedBy(tags, "web", "exec-1") || tags["team"] != "a" || tags["Name"] != "autostop-web" {
			t.Errorf("group tags %v", tags)
		}
		for _, port := range []int32{80, 443} {
			if !granted(g.IpPermissions, port, anyIPv4, false) {
				t.Errorf("TCP %d from %s not allowed: %+v", port, anyIPv4, g.IpPermissions)
			}
		}
	})

	t.Run("re-run makes 0 mutating calls", func(t *testing.T) {
		k.b.Proxy().Reset()
		in2 := in
		in2.Results.LoadBalancer = &res
		again, err := Ensure(ctx, k.step, in2)
		if err != nil {
			t.Fatal(err)
		}
		calls := k.b.Proxy().Calls()
		if m := k.mutating(); len(m) != 0 || len(calls) == 0 {
			t.Errorf("re-run: %d calls, mutating %v", len(calls), m)
		}
		t.Logf("re-run: %d calls, 0 mutating", len(calls))
		if again.ARN != res.ARN || again.Attempts != 2 || !slices.Equal(actions(again.Resources), actions(res.Resources)) {
			t.Errorf("re-run result %+v", again)
		}
	})

	t.Run("another execution's rollback deletes nothing", func(t *testing.T) {
		k.b.Proxy().Reset()
		deleted, left, err := DeleteCreatedBy(ctx, k.step, "web", "exec-2")
		if err != nil || len(deleted)+len(left) != 0 || len(k.mutating()) != 0 {
			t.Fatalf("deleted %v left %v err %v mutating %v", deleted, left, err, k.mutating())
		}
		if k.lbGone(t, res.ARN) || k.groupGone(t, sgID) {
			t.Fatal("another execution's rollback removed this one's resources")
		}
	})

	t.Run("rollback deletes what this execution created", func(t *testing.T) {
		k.b.Proxy().Reset()
		deleted, left, err := DeleteCreatedBy(ctx, k.step, "web", "exec-1")
		if err != nil || len(left) != 0 {
			t.Fatalf("left %v err %v", left, err)
		}
		want := []step.Resource{{Kind: KindLoadBalancer, ID: res.ARN, Action: step.Deleted}, {Kind: KindSecurityGroup, ID: sgID, Action: step.Deleted}}
		if !slices.Equal(deleted, want) {
			t.Errorf("deleted %v, want %v", deleted, want)
		}
		if !k.lbGone(t, res.ARN) || !k.groupGone(t, sgID) {
			t.Error("resources still there")
		}
		if m := k.mutating(); !slices.Equal(m, []string{"DeleteLoadBalancer", "DeleteSecurityGroup"}) {
			t.Errorf("mutating calls %v", m)
		}
		if _, err := k.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{k.env.WebSGID, k.env.OtherSGID}}); err != nil {
			t.Errorf("the customer's security groups: %v", err)
		}

		k.b.Proxy().Reset()
		deleted, left, err = DeleteCreatedBy(ctx, k.step, "web", "exec-1")
		if err != nil || len(deleted)+len(left) != 0 || len(k.mutating()) != 0 {
			t.Errorf("second rollback: deleted %v left %v err %v mutating %v", deleted, left, err, k.mutating())
		}
	})
}

// TestEnsureKumoForeignALB: an ALB autostop did not create is a Conflict by
// name and is adopted as is by ARN; rollback never deletes it.
func TestEnsureKumoForeignALB(t *testing.T) {
	ctx := context.Background()
	k := startKumo(t)
	out, err := k.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("theirs"), Subnets: k.env.SubnetIDs, SecurityGroups: []string{k.env.WebSGID},
		Tags: []elbv2types.Tag{{Key: aws.String("owner"), Value: aws.String("them")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.LoadBalancers[0].LoadBalancerArn)

	k.b.Proxy().Reset()
	if _, err := Ensure(ctx, k.step, step.Input{Spec: k.spec("theirs"), Execution: "exec-1"}); errName(err) != "Conflict" {
		t.Errorf("by name: %v, want Conflict", err)
	}

	s := k.spec("theirs")
	s.ARN = arn
	res, err := Ensure(ctx, k.step, step.Input{Spec: s, Execution: "exec-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Adopted || res.ARN != arn || !slices.Equal(res.SecurityGroupIDs, []string{k.env.WebSGID}) ||
		!slices.Equal(actions(res.Resources), []string{"load-balancer:adopted"}) {
		t.Errorf("adopted result %+v", res)
	}

	deleted, left, err := DeleteCreatedBy(ctx, k.step, "theirs", "exec-1")
	if err != nil || len(deleted)+len(left) != 0 || k.lbGone(t, arn) {
		t.Errorf("rollback touched the adopted ALB: deleted %v left %v err %v", deleted, left, err)
	}
	if m := k.mutating(); len(m) != 0 {
		t.Errorf("mutating calls %v, want none", m)
	}
	tags, err := k.elbv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tags.TagDescriptions[0].Tags; len(got) != 1 {
		t.Errorf("adopted ALB's tags changed: %v", got)
	}
}

// TestEnsureFunctionKumo runs the real function binary through kumo's Lambda
// runtime API: it answers with the result, and fails with the error name the
// state machine routes on.
func TestEnsureFunctionKumo(t *testing.T) {
	ctx := context.Background()
	k := startKumo(t)
	bin := localawstest.BuildFunction(t, "../../functions/ensure-load-balancer")
	if err := k.b.DeployFunction(ctx, localaws.FunctionConfig{Name: "ensure-load-balancer", TimeoutSec: 30, MemoryMB: 128}, bin); err != nil {
		t.Fatal(err)
	}
	cfg, err := k.b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fn := lambda.NewFromConfig(cfg)
	invoke := func(in step.Input) (*lambda.InvokeOutput, []byte) {
		t.Helper()
		payload, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := fn.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ensure-load-balancer"), Payload: payload})
		if err != nil {
			t.Fatal(err)
		}

		return out, out.Payload
	}

	out, payload := invoke(step.Input{Spec: k.spec("web"), Execution: "exec-fn"})
	var res step.LoadBalancerResult
	if out.FunctionError != nil || json.Unmarshal(payload, &res) != nil || res.ARN == "" || res.State != "active" || len(res.Resources) != 2 {
		t.Fatalf("invoke: error %v, payload %s", aws.ToString(out.FunctionError), payload)
	}
	// Changes made: successful mutating calls (an SDK retry of a call
	// whose answer was lost under load shows as a refused duplicate).
	var mut, changed []string
	for _, c := range k.b.Proxy().Calls() {
		if c.Caller == "ensure-load-balancer" && c.Mutating {
			mut = append(mut, fmt.Sprintf("%s:%s→%d%s", c.Service, c.Operation, c.Status, c.Fault))
			if c.Status < 300 {
				changed = append(changed, c.Operation)
			}
		}
	}
	if len(changed) != 3 {
		t.Errorf("the function changed %d things (%v), want 3; its mutating calls: %v", len(changed), changed, mut)
	}

	// The same name under other settings: Conflict.
	s := k.spec("web")
	s.Scheme = spec.SchemeInternal
	out, payload = invoke(step.Input{Spec: s, Execution: "exec-fn-2"})
	var fnErr struct {
		ErrorType string `json:"errorType"`
	}
	if out.FunctionError == nil || json.Unmarshal(payload, &fnErr) != nil || fnErr.ErrorType != "Conflict" {
		t.Errorf("conflicting invoke: error %v, payload %s", aws.ToString(out.FunctionError), payload)
	}
}
