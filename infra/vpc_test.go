package main

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/autostop/autostop/shared/app"
)

var (
	testVpcID   = "vpc-0123456789abcdef0"
	testSubnets = []string{"subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"}
	testZones   = []string{"eu-west-1a", "eu-west-1b"}

	// The stack synthesized with the functions in testVpcID (TestMain).
	vpcSynthesized *Stack
	vpcResources   map[string]map[string]any
)

func vpcOfType(typ string) []string {
	var ids []string
	for id, r := range vpcResources {
		if r["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)

	return ids
}

func TestReadFunctionVPC(t *testing.T) {
	ctx := func(kv ...any) func(string) any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return func(k string) any { return m[k] }
	}
	want := &FunctionVPC{VpcID: "vpc-1", SubnetIDs: []string{"subnet-a", "subnet-b"}, AvailabilityZones: []string{"eu-west-1a", "eu-west-1b"}}
	ok := []struct {
		name string
		get  func(string) any
		want *FunctionVPC
	}{
		{"unset", ctx(), nil},
		{"empty strings", ctx(ContextFunctionVpcID, "", ContextFunctionSubnetIDs, "", ContextFunctionAvailabilityZones, ""), nil},
		{"comma-separated", ctx(ContextFunctionVpcID, "vpc-1", ContextFunctionSubnetIDs, "subnet-a, subnet-b",
			ContextFunctionAvailabilityZones, "eu-west-1a,eu-west-1b,"), want},
		{"JSON list strings", ctx(ContextFunctionVpcID, " vpc-1 ", ContextFunctionSubnetIDs, `["subnet-a","subnet-b"]`,
			ContextFunctionAvailabilityZones, `[ "eu-west-1a", "eu-west-1b" ]`), want},
		{"cdk.json lists", ctx(ContextFunctionVpcID, "vpc-1", ContextFunctionSubnetIDs, []any{"subnet-a", "subnet-b"},
			ContextFunctionAvailabilityZones, []any{"eu-west-1a", "eu-west-1b"}), want},
	}
	for _, c := range ok {
		got, err := readFunctionVPC(c.get)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	bad := []struct {
		name, errContains string
		get               func(string) any
	}{
		{"VPC only", "go together", ctx(ContextFunctionVpcID, "vpc-1")},
		{"subnets only", "go together", ctx(ContextFunctionSubnetIDs, "subnet-a", ContextFunctionAvailabilityZones, "eu-west-1a")},
		{"no zones", "go together", ctx(ContextFunctionVpcID, "vpc-1", ContextFunctionSubnetIDs, "subnet-a")},
		{"zone count", "one zone per subnet", ctx(ContextFunctionVpcID, "vpc-1", ContextFunctionSubnetIDs, "subnet-a,subnet-b",
			ContextFunctionAvailabilityZones, "eu-west-1a")},
		{"not a VPC", "want a VPC ID", ctx(ContextFunctionVpcID, "subnet-a", ContextFunctionSubnetIDs, "subnet-a",
			ContextFunctionAvailabilityZones, "eu-west-1a")},
		{"not a subnet", "not a distinct subnet", ctx(ContextFunctionVpcID, "vpc-1", ContextFunctionSubnetIDs, "eu-west-1a",
			ContextFunctionAvailabilityZones, "subnet-a")},
		{"duplicate subnet", "not a distinct subnet", ctx(ContextFunctionVpcID, "vpc-1", ContextFunctionSubnetIDs, "subnet-a,subnet-a",
			ContextFunctionAvailabilityZones, "eu-west-1a,eu-west-1b")},
		{"bad JSON", "not a JSON list", ctx(ContextFunctionVpcID, "vpc-1", ContextFunctionSubnetIDs, `["subnet-a"`,
			ContextFunctionAvailabilityZones, "eu-west-1a")},
		{"not strings", "not a string", ctx(ContextFunctionVpcID, "vpc-1", ContextFunctionSubnetIDs, []any{1.0},
			ContextFunctionAvailabilityZones, "eu-west-1a")},
	}
	for _, c := range bad {
		got, err := readFunctionVPC(c.get)
		if err == nil || !strings.Contains(err.Error(), c.errContains) {
			t.Errorf("%s: %+v, %v; want an error containing %q", c.name, got, err, c.errContains)
		}
	}
}

// TestNoVPCByDefault: without the context the functions run outside any VPC
// and the stack holds no security group.
func TestNoVPCByDefault(t *testing.T) {
	for _, id := range ofType("AWS::Lambda::Function") {
		if vc, ok := props(resources[id])["VpcConfig"]; ok {
			t.Errorf("%s has VpcConfig %v without the %s context", id, vc, ContextFunctionVpcID)
		}
	}
	if sgs := ofType("AWS::EC2::SecurityGroup"); len(sgs) != 0 {
		t.Errorf("security groups %v without a VPC", sgs)
	}
	if synthesized.FunctionSecurityGroup != nil {
		t.Error("FunctionSecurityGroup set without a VPC")
	}
}

// TestFunctionsInVPC: with the context, every function is in the given
// subnets with the stack's one security group (egress 443 only), and its
// role may manage the network interfaces, without a managed policy.
func TestFunctionsInVPC(t *testing.T) {
	sgs := vpcOfType("AWS::EC2::SecurityGroup")
	if len(sgs) != 1 {
		t.Fatalf("security groups %v, want 1", sgs)
	}
	sg := props(vpcResources[sgs[0]])
	if sg["VpcId"] != testVpcID {
		t.Errorf("security group in %v, want %s", sg["VpcId"], testVpcID)
	}
	if in, ok := sg["SecurityGroupIngress"]; ok {
		t.Errorf("security group ingress %v, want none", in)
	}
	egress, _ := sg["SecurityGroupEgress"].([]any)
	if len(egress) != 1 {
		t.Fatalf("security group egress %v, want one rule", egress)
	}
	e := egress[0].(map[string]any)
	if e["CidrIp"] != "0.0.0.0/0" || e["IpProtocol"] != "tcp" || e["FromPort"] != float64(443) || e["ToPort"] != float64(443) {
		t.Errorf("egress %v, want tcp 443 to 0.0.0.0/0 only", e)
	}
	if n := len(vpcOfType("AWS::EC2::SecurityGroupEgress")) + len(vpcOfType("AWS::EC2::SecurityGroupIngress")); n != 0 {
		t.Errorf("%d separate security group rules, want none", n)
	}

	policies := map[string]map[string]any{}
	for _, id := range vpcOfType("AWS::IAM::Policy") {
		if p := props(vpcResources[id]); p["PolicyName"] == FunctionVPCPolicyName {
			policies[id] = p
		}
	}
	if len(policies) != 1 {
		t.Fatalf("%d policies %s, want 1", len(policies), FunctionVPCPolicyName)
	}
	var policyID string
	var policy map[string]any
	for policyID, policy = range policies {
	}
	var actions []string
	for _, st := range policy["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		actions = append(actions, actionsOf(st.(map[string]any))...)
	}
	sort.Strings(actions)
	// The actions of AWSLambdaVPCAccessExecutionRole, less the logs ones
	// (each role already writes its own log group).
	wantActions := []string{"ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
		"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:UnassignPrivateIpAddresses"}
	if !reflect.DeepEqual(actions, wantActions) {
		t.Errorf("VPC policy actions %v, want %v", actions, wantActions)
	}

	fns := vpcOfType("AWS::Lambda::Function")
	if len(fns) != len(app.Description().Functions) {
		t.Errorf("%d functions, want %d", len(fns), len(app.Description().Functions))
	}
	var roles []any
	for _, id := range fns {
		r := vpcResources[id]
		p := props(r)
		want := map[string]any{
			"SubnetIds":        []any{testSubnets[0], testSubnets[1]},
			"SecurityGroupIds": []any{map[string]any{"Fn::GetAtt": []any{sgs[0], "GroupId"}}},
		}
		if !reflect.DeepEqual(p["VpcConfig"], want) {
			t.Errorf("%s VpcConfig = %v, want %v", id, p["VpcConfig"], want)
		}
		roleID := p["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		roles = append(roles, ref(roleID))
		if mp := props(vpcResources[roleID])["ManagedPolicyArns"]; mp != nil {
			t.Errorf("%s: role has managed policies %v", id, mp)
		}
		deps, _ := r["DependsOn"].([]any)
		found := false
		for _, d := range deps {
			found = found || d == policyID
		}
		if !found {
			t.Errorf("%s does not depend on %s (Lambda checks the ENI permissions at create time): DependsOn %v", id, policyID, deps)
		}
	}
	if !sameElements(policy["Roles"].([]any), roles) {
		t.Errorf("VPC policy attached to %v, want every function's role %v", policy["Roles"], roles)
	}
	if vpcSynthesized.FunctionSecurityGroup == nil {
		t.Error("FunctionSecurityGroup not set")
	}
}

func TestNoNagFindingsInVPC(t *testing.T) {
	noNagFindings(t, vpcSynthesized.Stack)
	// Nor any other warning (the imported subnets' missing route tables
	// are acknowledged).
	ann := assertions.Annotations_FromStack(vpcSynthesized.Stack)
	for _, m := range *ann.FindWarning(jsii.String("*"), assertions.Match_AnyValue()) {
		t.Errorf("warning at %s: %v", *m.Id, m.Entry.Data)
	}
}

// TestNoReservedConcurrency: the decision of ReservedConcurrency (none) is
// what the template deploys, with and without a VPC; only the proxy's
// context (set on the VPC stack: 200) reserves any.
func TestNoReservedConcurrency(t *testing.T) {
	proxyName := app.NamePrefix + ProxyFunctionID
	for i, rs := range []map[string]map[string]any{resources, vpcResources} {
		for id, r := range rs {
			if r["Type"] != "AWS::Lambda::Function" {
				continue
			}
			v, ok := props(r)["ReservedConcurrentExecutions"]
			if i == 1 && props(r)["FunctionName"] == proxyName {
				if v != float64(200) {
					t.Errorf("%s: ReservedConcurrentExecutions %v, want the context's 200", id, v)
				}
				continue
			}
			if ok || ReservedConcurrency != 0 {
				t.Errorf("%s: ReservedConcurrentExecutions %v; ReservedConcurrency says none", id, v)
			}
		}
	}
}

func TestReadProxyReservedConcurrency(t *testing.T) {
	for _, c := range []struct {
		value any
		want  int
		ok    bool
	}{{nil, 0, true}, {"50", 50, true}, {50.0, 50, true}, {" 7 ", 7, true}, {"0", 0, false}, {"-3", 0, false}, {"1.5", 0, false}, {"many", 0, false}} {
		got, err := readProxyReservedConcurrency(func(string) any { return c.value })
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("%v: %d, %v; want %d (ok %v)", c.value, got, err, c.want, c.ok)
		}
	}
}

// TestVPCEndpointServices: the APIs the README says the subnets must reach
// are the services of the SDK clients the steps use (permissions_test.go),
// plus STS (no step calls it today — Lambda hands the role's credentials
// over in the environment — but an SDK configured to assume a role would).
func TestVPCEndpointServices(t *testing.T) {
	// Endpoint names that differ from the IAM prefix.
	endpoint := map[string]string{"cloudwatch": "monitoring"}
	want := []string{"sts"}
	for _, s := range iamPrefix {
		if e, ok := endpoint[s.prefix]; ok {
			want = append(want, e)
			continue
		}
		want = append(want, s.prefix)
	}
	sort.Strings(want)
	got := append([]string(nil), VPCEndpointServices...)
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("VPCEndpointServices = %v, want %v", got, want)
	}
}
