package loadbalancer

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	testVPC  = "vpc-1"
	testExec = "exec-1"
)

var testSubnets = []string{"subnet-a", "subnet-b"}

func testSpec() spec.LoadBalancerSpec {
	return spec.LoadBalancerSpec{
		Name: "web", Region: "us-east-1", Scheme: spec.SchemeInternetFacing, IPAddressType: spec.IPv4,
		VPCID: testVPC, SubnetIDs: slices.Clone(testSubnets), Domain: "autostop.example.test",
		DNS: spec.DNSSpec{Provider: spec.ProviderOther}, Tags: map[string]string{"team": "a"},
	}
}

// errName is the Step Functions error name err maps to ("" for nil).
func errName(err error) string {
	if err == nil {
		return ""
	}

	return reflect.TypeOf(steperr.Map(err)).Elem().Name()
}

func webRules(cidrs ...string) []ec2types.IpPermission {
	var out []ec2types.IpPermission
	for _, port := range []int32{80, 443} {
		p := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
		for _, c := range cidrs {
			if c == anyIPv6 {
				p.Ipv6Ranges = append(p.Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: aws.String(c)})
			} else {
				p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: aws.String(c)})
			}
		}
		out = append(out, p)
	}

	return out
}

// actions returns "kind:action" per resource.
func actions(rs []step.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Kind+":"+r.Action)
	}

	return out
}

func TestEnsure(t *testing.T) {
	ours := func(exec string) map[string]string { return ownership.Tags("web", exec, nil) }

	tests := []struct {
		name    string
		setup   func(f *fakeAWS) // existing resources, injected errors
		spec    func(s *spec.LoadBalancerSpec)
		prev    *step.LoadBalancerResult
		wantErr string   // Step Functions error name, "" for success
		wantMut []string // the mutating calls, in order
		want    []string // kind:action of the result's resources
		check   func(t *testing.T, f *fakeAWS, res step.LoadBalancerResult)
	}{
		{
			name:    "fresh create with the default security group",
			wantMut: []string{"CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateLoadBalancer"},
			want:    []string{"security-group:created", "load-balancer:created"},
			check: func(t *testing.T, f *fakeAWS, res step.LoadBalancerResult) {
				l := f.lbByName("web")
				if l == nil || res.ARN != aws.ToString(l.lb.LoadBalancerArn) || res.DNSName == "" || res.CanonicalHostedZoneID == "" {
					t.Fatalf("result %+v does not describe the ALB", res)
				}
				if res.State != "provisioning" || res.Adopted || res.Attempts != 1 {
					t.Errorf("state %q adopted %v attempts %d", res.State, res.Adopted, res.Attempts)
				}
				if !ownership.CreatedBy(l.tags, "web", testExec) || l.tags["team"] != "a" {
					t.Errorf("ALB tags %v", l.tags)
				}
				g := f.groups[0]
				if !ownership.CreatedBy(groupTags(*g), "web", testExec) || aws.ToString(g.GroupName) != "autostop-web" || aws.ToString(g.VpcId) != testVPC {
					t.Errorf("security group %s %s tags %v", aws.ToString(g.GroupName), aws.ToString(g.VpcId), groupTags(*g))
				}
				if !reflect.DeepEqual(res.SecurityGroupIDs, []string{aws.ToString(g.GroupId)}) {
					t.Errorf("security groups %v", res.SecurityGroupIDs)
				}
				if m := missingIngress(g.IpPermissions, true); len(m) != 2 || len(m[0].IpRanges) != 0 {
					t.Errorf("rules %+v: want 80 and 443 from 0.0.0.0/0 only", g.IpPermissions)
				}
			},
		},
		{
			name:    "fresh create dualstack opens ::/0 too",
			spec:    func(s *spec.LoadBalancerSpec) { s.IPAddressType = spec.DualStack },
			wantMut: []string{"CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateLoadBalancer"},
			want:    []string{"security-group:created", "load-balancer:created"},
			check: func(t *testing.T, f *fakeAWS, _ step.LoadBalancerResult) {
				if m := missingIngress(f.groups[0].IpPermissions, true); len(m) != 0 {
					t.Errorf("missing rules %+v", m)
				}
				if got := f.lbs[0].lb.IpAddressType; got != "dualstack" {
					t.Errorf("IP address type %s", got)
				}
			},
		},
		{
			name: "fresh create with the spec's security groups",
			spec: func(s *spec.LoadBalancerSpec) {
				s.SecurityGroupIDs = []string{"sg-user"}
				s.Scheme = spec.SchemeInternal
			},
			wantMut: []string{"CreateLoadBalancer"},
			want:    []string{"load-balancer:created"},
			check: func(t *testing.T, f *fakeAWS, res step.LoadBalancerResult) {
				if !reflect.DeepEqual(res.SecurityGroupIDs, []string{"sg-user"}) || f.lbs[0].lb.Scheme != "internal" {
					t.Errorf("security groups %v scheme %s", res.SecurityGroupIDs, f.lbs[0].lb.Scheme)
				}
			},
		},
		{
			name: "re-run by the same execution: 0 mutating calls, still created",
			setup: func(f *fakeAWS) {
				sg := f.addGroup("autostop-web", testVPC, ours(testExec), webRules(anyIPv4)...)
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{sg}, ours(testExec))
			},
			prev: &step.LoadBalancerResult{Attempts: 3},
			want: []string{"security-group:created", "load-balancer:created"},
			check: func(t *testing.T, _ *fakeAWS, res step.LoadBalancerResult) {
				if res.Attempts != 4 {
					t.Errorf("attempts %d, want 4", res.Attempts)
				}
			},
		},
		{
			name: "re-run by another execution: 0 mutating calls, adopted",
			setup: func(f *fakeAWS) {
				sg := f.addGroup("autostop-web", testVPC, ours("exec-0"), webRules(anyIPv4)...)
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{sg}, ours("exec-0"))
			},
			want: []string{"security-group:adopted", "load-balancer:adopted"},
		},
		{
			name: "adopt by ARN: used as is, never tagged",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internal", "ipv4", []string{"subnet-x", "subnet-y"}, []string{"sg-theirs"}, map[string]string{"owner": "them"})
			},
			spec: func(s *spec.LoadBalancerSpec) {
				s.ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0001"
			},
			want: []string{"load-balancer:adopted"},
			check: func(t *testing.T, f *fakeAWS, res step.LoadBalancerResult) {
				if !res.Adopted || res.ARN != aws.ToString(f.lbs[0].lb.LoadBalancerArn) || !reflect.DeepEqual(res.SecurityGroupIDs, []string{"sg-theirs"}) {
					t.Errorf("result %+v", res)
				}
				if !reflect.DeepEqual(f.lbs[0].tags, map[string]string{"owner": "them"}) {
					t.Errorf("adopted ALB's tags changed: %v", f.lbs[0].tags)
				}
			},
		},
		{
			name: "adopt by ARN that does not exist",
			spec: func(s *spec.LoadBalancerSpec) {
				s.ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/9999"
			},
			wantErr: "NotFound",
		},
		{
			name:  "adopt by ARN of an ALB with another name",
			setup: func(f *fakeAWS) { f.addLB("api", "internal", "ipv4", testSubnets, nil, nil) },
			spec: func(s *spec.LoadBalancerSpec) {
				s.ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/api/0001"
			},
			wantErr: "InvalidRequest",
		},
		{
			name: "foreign ALB of the same name",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{"sg-1"}, map[string]string{"team": "x"})
			},
			wantErr: "Conflict",
		},
		{
			name: "ALB with the autostop tags of another load balancer",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{"sg-1"}, ownership.Tags("api", testExec, nil))
			},
			wantErr: "Conflict",
		},
		{
			name: "ours with another scheme",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internal", "ipv4", testSubnets, []string{"sg-user"}, ours("exec-0"))
			},
			spec:    func(s *spec.LoadBalancerSpec) { s.SecurityGroupIDs = []string{"sg-user"} },
			wantErr: "Conflict",
		},
		{
			name: "ours with other subnets",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internet-facing", "ipv4", []string{"subnet-a", "subnet-c"}, []string{"sg-user"}, ours("exec-0"))
			},
			spec:    func(s *spec.LoadBalancerSpec) { s.SecurityGroupIDs = []string{"sg-user"} },
			wantErr: "Conflict",
		},
		{
			name: "ours with other security groups",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{"sg-old"}, ours("exec-0"))
			},
			spec:    func(s *spec.LoadBalancerSpec) { s.SecurityGroupIDs = []string{"sg-user"} },
			wantErr: "Conflict",
		},
		{
			name: "ours with another IP address type",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internet-facing", "dualstack", testSubnets, []string{"sg-user"}, ours("exec-0"))
			},
			spec:    func(s *spec.LoadBalancerSpec) { s.SecurityGroupIDs = []string{"sg-user"} },
			wantErr: "Conflict",
		},
		{
			name:    "default security group of an earlier run is reused",
			setup:   func(f *fakeAWS) { f.addGroup("autostop-web", testVPC, ours("exec-0"), webRules(anyIPv4)...) },
			wantMut: []string{"CreateLoadBalancer"},
			want:    []string{"security-group:adopted", "load-balancer:created"},
		},
		{
			name:    "default security group lacking its rules is completed",
			setup:   func(f *fakeAWS) { f.addGroup("autostop-web", testVPC, ours(testExec)) },
			wantMut: []string{"AuthorizeSecurityGroupIngress", "CreateLoadBalancer"},
			want:    []string{"security-group:created", "load-balancer:created"},
		},
		{
			name:    "same-named group in another VPC is not ours to use",
			setup:   func(f *fakeAWS) { f.addGroup("autostop-web", "vpc-other", ours("exec-0"), webRules(anyIPv4)...) },
			wantMut: []string{"CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateLoadBalancer"},
			want:    []string{"security-group:created", "load-balancer:created"},
		},
		{
			name: "foreign group named autostop-<name>",
			setup: func(f *fakeAWS) {
				f.addGroup("autostop-web", testVPC, map[string]string{"Name": "mine"}, webRules(anyIPv4)...)
			},
			wantErr: "Conflict",
		},
		{
			name: "racing execution creates the group first",
			setup: func(f *fakeAWS) {
				f.before["CreateSecurityGroup"] = func(f *fakeAWS) { f.addGroup("autostop-web", testVPC, ours("exec-0"), webRules(anyIPv4)...) }
			},
			wantMut: []string{"CreateSecurityGroup", "CreateLoadBalancer"},
			want:    []string{"security-group:adopted", "load-balancer:created"},
		},
		{
			name: "racing execution creates the ALB first",
			setup: func(f *fakeAWS) {
				f.before["CreateLoadBalancer"] = func(f *fakeAWS) {
					f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{aws.ToString(f.groups[0].GroupId)}, ours("exec-0"))
				}
			},
			wantMut: []string{"CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateLoadBalancer"},
			want:    []string{"security-group:created", "load-balancer:adopted"},
			check: func(t *testing.T, f *fakeAWS, _ step.LoadBalancerResult) {
				if len(f.lbs) != 1 {
					t.Errorf("%d ALBs, want 1", len(f.lbs))
				}
			},
		},
		{
			name: "a foreign ALB appears with the same settings meanwhile",
			setup: func(f *fakeAWS) {
				f.before["CreateLoadBalancer"] = func(f *fakeAWS) {
					f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{aws.ToString(f.groups[0].GroupId)}, nil)
				}
			},
			wantMut: []string{"CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateLoadBalancer"},
			wantErr: "Conflict",
		},
		{
			name:    "DuplicateLoadBalancerName is a conflict",
			setup:   func(f *fakeAWS) { f.errs["CreateLoadBalancer"] = []error{apiErr("DuplicateLoadBalancerName")} },
			spec:    func(s *spec.LoadBalancerSpec) { s.SecurityGroupIDs = []string{"sg-user"} },
			wantMut: []string{"CreateLoadBalancer"},
			wantErr: "Conflict",
		},
		{
			name:    "throttled describe",
			setup:   func(f *fakeAWS) { f.errs["DescribeLoadBalancers"] = []error{apiErr("Throttling")} },
			wantErr: "Throttled",
		},
		{
			name:    "throttled create",
			setup:   func(f *fakeAWS) { f.errs["CreateLoadBalancer"] = []error{apiErr("Throttling")} },
			wantMut: []string{"CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateLoadBalancer"},
			wantErr: "Throttled",
		},
		{
			name:    "throttled security group create",
			setup:   func(f *fakeAWS) { f.errs["CreateSecurityGroup"] = []error{apiErr("RequestLimitExceeded")} },
			wantMut: []string{"CreateSecurityGroup"},
			wantErr: "Throttled",
		},
		{
			name:    "access denied",
			setup:   func(f *fakeAWS) { f.errs["DescribeTags"] = []error{apiErr("AccessDenied")} },
			wantMut: []string{"CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateLoadBalancer"},
			wantErr: "AccessDenied",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			s := testSpec()
			if tt.spec != nil {
				tt.spec(&s)
			}
			f.calls = nil

			res, err := Ensure(context.Background(), f.clients(), step.Input{Spec: s, Execution: testExec, Results: step.Results{LoadBalancer: tt.prev}})
			if got := errName(err); got != tt.wantErr {
				t.Fatalf("error %v (%s), want %q", err, got, tt.wantErr)
			}
			if got := f.mutating(); !slices.Equal(got, tt.wantMut) {
				t.Errorf("mutating calls %v, want %v", got, tt.wantMut)
			}
			if err != nil {
				return
			}
			if got := actions(res.Resources); !slices.Equal(got, tt.want) {
				t.Errorf("resources %v, want %v", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, f, res)
			}
		})
	}
}

// TestEnsureRerun runs the step twice against the same account: the second
// run reports the same resources, makes no mutating call and counts the
// attempt; a throttled first run is completed by its retry.
func TestEnsureRerun(t *testing.T) {
	for _, ipType := range []string{spec.IPv4, spec.DualStack} {
		for _, throttle := range []string{"", "CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateLoadBalancer", "DescribeTags"} {
			t.Run(fmt.Sprintf("%s/throttle %s", ipType, throttle), func(t *testing.T) {
				f := newFake()
				s := testSpec()
				s.IPAddressType = ipType
				in := step.Input{Spec: s, Execution: testExec}
				if throttle != "" {
					f.errs[throttle] = []error{apiErr("Throttling")}
					if _, err := Ensure(context.Background(), f.clients(), in); errName(err) != "Throttled" {
						t.Fatalf("first run: %v, want Throttled", err)
					}
				}

				first, err := Ensure(context.Background(), f.clients(), in)
				if err != nil {
					t.Fatal(err)
				}
				f.calls = nil
				in.Results.LoadBalancer = &first
				second, err := Ensure(context.Background(), f.clients(), in)
				if err != nil {
					t.Fatal(err)
				}
				if m := f.mutating(); len(m) != 0 {
					t.Errorf("re-run made mutating calls %v", m)
				}
				if second.Attempts != first.Attempts+1 {
					t.Errorf("attempts %d then %d", first.Attempts, second.Attempts)
				}
				first.Attempts = second.Attempts
				if !reflect.DeepEqual(first, second) {
					t.Errorf("re-run result %+v, first %+v", second, first)
				}
				if len(f.lbs) != 1 || len(f.groups) != 1 {
					t.Errorf("%d ALBs and %d groups, want 1 each", len(f.lbs), len(f.groups))
				}
				if want := []string{"security-group:created", "load-balancer:created"}; !slices.Equal(actions(second.Resources), want) {
					t.Errorf("resources %v, want %v", actions(second.Resources), want)
				}
			})
		}
	}
}

// TestResultOfState: active_impaired serves, so the wait loop moves on
// ("active"), and the result says it was impaired.
func TestResultOfState(t *testing.T) {
	tests := []struct {
		code         elbv2types.LoadBalancerStateEnum
		wantState    string
		wantImpaired bool
	}{
		{elbv2types.LoadBalancerStateEnumProvisioning, "provisioning", false},
		{elbv2types.LoadBalancerStateEnumActive, "active", false},
		{elbv2types.LoadBalancerStateEnumActiveImpaired, "active", true},
		{elbv2types.LoadBalancerStateEnumFailed, "failed", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			res := resultOf(elbv2types.LoadBalancer{State: &elbv2types.LoadBalancerState{Code: tt.code}})
			if res.State != tt.wantState || res.Impaired != tt.wantImpaired {
				t.Errorf("state %q impaired %v, want %q %v", res.State, res.Impaired, tt.wantState, tt.wantImpaired)
			}
		})
	}
}
