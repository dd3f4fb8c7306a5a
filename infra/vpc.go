package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Context keys of the optional existing VPC for the functions. All three or
// none: synth never looks the VPC up (no Vpc.fromLookup, no AWS call), so
// the subnets' availability zones are given too.
const (
	// ContextFunctionVpcID is the VPC the functions run in ("vpc-…").
	// Default: none, the functions run outside any VPC.
	ContextFunctionVpcID = "functionVpcId"
	// ContextFunctionSubnetIDs are the subnets of that VPC the functions'
	// network interfaces go in: comma-separated, or a JSON list. They must
	// reach the AWS APIs the steps call (NAT gateway or VPC endpoints).
	ContextFunctionSubnetIDs = "functionSubnetIds"
	// ContextFunctionAvailabilityZones are the subnets' availability zones,
	// in the same order and number.
	ContextFunctionAvailabilityZones = "functionAvailabilityZones"
)

// VPCEndpointServices are the AWS APIs the functions call, which the
// subnets must reach through a NAT gateway or interface VPC endpoints
// (com.amazonaws.<region>.<name>; CloudWatch's is "monitoring"): the
// services of the steps' SDK clients, and STS. Logs (stdout) and the X-Ray segments (recorded by the Lambda
// service; the steps send none themselves) do not use the function's
// network interface.
var VPCEndpointServices = []string{"elasticloadbalancing", "ec2", "acm", "route53", "lambda", "states", "dynamodb", "monitoring", "sts"}

// FunctionVPC is the optional VPC of the functions, from the context.
type FunctionVPC struct {
	VpcID             string
	SubnetIDs         []string
	AvailabilityZones []string
}

// readFunctionVPC reads the three context keys through get (which returns
// nil for an unset key). nil, nil when none is set.
func readFunctionVPC(get func(key string) any) (*FunctionVPC, error) {
	vpcID := strings.TrimSpace(fmt.Sprint(orEmpty(get(ContextFunctionVpcID))))
	subnets, err := contextList(get(ContextFunctionSubnetIDs))
	if err != nil {
		return nil, fmt.Errorf("context %s: %w", ContextFunctionSubnetIDs, err)
	}
	azs, err := contextList(get(ContextFunctionAvailabilityZones))
	if err != nil {
		return nil, fmt.Errorf("context %s: %w", ContextFunctionAvailabilityZones, err)
	}
	if vpcID == "" && len(subnets) == 0 && len(azs) == 0 {
		return nil, nil
	}
	switch {
	case vpcID == "" || len(subnets) == 0 || len(azs) == 0:
		return nil, fmt.Errorf("context %s, %s and %s go together (VPC %q, %d subnet(s), %d zone(s)): set all three or none",
			ContextFunctionVpcID, ContextFunctionSubnetIDs, ContextFunctionAvailabilityZones, vpcID, len(subnets), len(azs))
	case !strings.HasPrefix(vpcID, "vpc-"):
		return nil, fmt.Errorf("context %s=%q: want a VPC ID (vpc-…)", ContextFunctionVpcID, vpcID)
	case len(azs) != len(subnets):
		return nil, fmt.Errorf("context %s has %d subnet(s) and %s %d zone(s): want one zone per subnet, in the same order",
			ContextFunctionSubnetIDs, len(subnets), ContextFunctionAvailabilityZones, len(azs))
	}
	seen := map[string]bool{}
	for _, s := range subnets {
		if !strings.HasPrefix(s, "subnet-") || seen[s] {
			return nil, fmt.Errorf("context %s: %q is not a distinct subnet ID (subnet-…)", ContextFunctionSubnetIDs, s)
		}
		seen[s] = true
	}

	return &FunctionVPC{VpcID: vpcID, SubnetIDs: subnets, AvailabilityZones: azs}, nil
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}

	return v
}

// contextList reads a list given as a JSON list (cdk.json, or -c k='["a","b"]')
// or a comma-separated string (-c k=a,b).
func contextList(v any) ([]string, error) {
	var items []any
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		items = v
	case string:
		s := strings.TrimSpace(v)
		if strings.HasPrefix(s, "[") {
			if err := json.Unmarshal([]byte(s), &items); err != nil {
				return nil, fmt.Errorf("%q is not a JSON list: %w", s, err)
			}
			break
		}
		for _, p := range strings.Split(s, ",") {
			items = append(items, p)
		}
	default:
		return nil, fmt.Errorf("%v (%T): want a comma-separated string or a list", v, v)
	}
	var out []string
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("%v (%T) in the list is not a string", it, it)
		}
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}

	return out, nil
}

// functionNetwork is what the functions get when they run in a VPC.
type functionNetwork struct {
	vpc           awsec2.IVpc
	subnets       []awsec2.ISubnet
	securityGroup awsec2.SecurityGroup
	// policy holds the network-interface permissions of every function's
	// role (one policy, attached to each role).
	policy awsiam.Policy
}

// newFunctionNetwork imports the VPC from its attributes (no lookup) and
// creates the functions' security group: no ingress, egress HTTPS only (the
// functions only call AWS APIs), and the policy that lets Lambda manage the
// functions' network interfaces.
func newFunctionNetwork(scope constructs.Construct, cfg FunctionVPC) *functionNetwork {
	c := constructs.NewConstruct(scope, jsii.String("Network"))
	vpc := awsec2.Vpc_FromVpcAttributes(c, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId:             jsii.String(cfg.VpcID),
		AvailabilityZones: jsii.Strings(cfg.AvailabilityZones...),
		PrivateSubnetIds:  jsii.Strings(cfg.SubnetIDs...),
	})
	sg := awsec2.NewSecurityGroup(c, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("autostop functions: no inbound; outbound HTTPS to the AWS APIs only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	sg.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)),
		jsii.String("HTTPS to AWS APIs (through a NAT gateway or VPC endpoints)"), nil)

	stack := awscdk.Stack_Of(c)
	grants := FunctionVPCGrants(cfg.SubnetIDs, *sg.SecurityGroupId())
	policy := awsiam.NewPolicy(c, jsii.String("NetworkInterfaces"), &awsiam.PolicyProps{
		PolicyName: jsii.String(FunctionVPCPolicyName),
		Statements: ptrs(Statements(stack, grants, GrantScope{})),
	})
	suppressGrants(policy, grants, "")

	subnets := *vpc.PrivateSubnets()
	for _, sn := range subnets {
		// Lambda only needs the subnet IDs; the route tables are the VPC's
		// business (a NAT gateway or VPC endpoints, see README).
		awscdk.Annotations_Of(sn).AcknowledgeWarning(jsii.String("@aws-cdk/aws-ec2:noSubnetRouteTableId"),
			jsii.String("the functions only need the subnet IDs, never their route tables"))
	}

	return &functionNetwork{vpc: vpc, subnets: subnets, securityGroup: sg, policy: policy}
}

// FunctionVPCPolicyName is the policy that lets Lambda attach the functions
// to the VPC.
const FunctionVPCPolicyName = "autostop-functions-vpc"

// Reasons of the wildcards of FunctionVPCGrants.
const (
	whyENIDescribe = "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets do not support resource-level permissions: the resource must be *"
	whyENI         = "Lambda creates and deletes the functions' network interfaces at run time, so their IDs are not known at deploy time (this account and region only; creation is limited to the configured subnets and the functions' security group)"
)

// FunctionVPCGrants are the permissions Lambda needs, through each
// function's role, to place the function in the VPC: the actions of the
// AWS managed policy AWSLambdaVPCAccessExecutionRole (which cdk-nag's IAM4
// rejects, and which allows them on every resource), with resources narrowed
// to this account and region, the given subnets and the security group.
func FunctionVPCGrants(subnetIDs []string, securityGroupID string) []Grant {
	const ec2 = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:"
	create := []string{ec2 + "network-interface/*", ec2 + "security-group/" + securityGroupID}
	for _, s := range subnetIDs {
		create = append(create, ec2+"subnet/"+s)
	}

	return []Grant{
		{Actions: []string{"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}, Resources: []string{anyResource}, Why: whyENIDescribe},
		{Actions: []string{"ec2:CreateNetworkInterface"}, Resources: create, Why: whyENI},
		{Actions: []string{"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"},
			Resources: []string{ec2 + "network-interface/*"}, Why: whyENI},
	}
}
