package ruletarget

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/ownership"
)

const fakeRegion = "us-east-1"

// fake is an in-memory ELBv2 and EC2 with AWS's semantics for the calls
// this package makes: CreateTargetGroup returns the existing target group
// of the same name and settings and fails with DuplicateTargetGroupName
// otherwise; missing target groups are TargetGroupNotFound; DescribeInstances
// of a missing ID fails the whole call; DeleteTags with a value deletes a
// tag only when the value matches.
type fake struct {
	tgs       map[string]*fakeTG // by ARN
	instances map[string]*fakeInstance
	calls     []string
	errs      map[string][]error
	next      int
}

type fakeTG struct {
	tg      elbtypes.TargetGroup
	tags    map[string]string
	targets []elbtypes.TargetDescription
}

type fakeInstance struct {
	state string
	vpc   string
	tags  map[string]string
}

func newFake() *fake {
	return &fake{tgs: map[string]*fakeTG{}, instances: map[string]*fakeInstance{}, errs: map[string][]error{}}
}

func (f *fake) clients() Clients { return Clients{ELBv2: f, EC2: f} }

func (f *fake) call(op string) error {
	f.calls = append(f.calls, op)
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return q[0]
	}

	return nil
}

func (f *fake) mutating() []string {
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "Describe") {
			out = append(out, c)
		}
	}

	return out
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

func (f *fake) addInstance(id, state, vpc string, tags map[string]string) {
	if tags == nil {
		tags = map[string]string{}
	}
	f.instances[id] = &fakeInstance{state: state, vpc: vpc, tags: tags}
}

func (f *fake) addTG(tg elbtypes.TargetGroup, tags map[string]string) *fakeTG {
	f.next++
	tg.TargetGroupArn = aws.String(fmt.Sprintf("arn:aws:elasticloadbalancing:%s:000000000000:targetgroup/%s/%d", fakeRegion, aws.ToString(tg.TargetGroupName), f.next))
	t := &fakeTG{tg: tg, tags: tags}
	f.tgs[aws.ToString(tg.TargetGroupArn)] = t

	return t
}

func (f *fake) tgByName(name string) *fakeTG {
	for _, t := range f.tgs {
		if aws.ToString(t.tg.TargetGroupName) == name {
			return t
		}
	}

	return nil
}

func (f *fake) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	if err := f.call("DescribeTargetGroups"); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTargetGroupsOutput{}
	for _, name := range in.Names {
		t := f.tgByName(name)
		if t == nil {
			return nil, apiErr(codeTGNotFound)
		}
		out.TargetGroups = append(out.TargetGroups, t.tg)
	}
	for _, arn := range in.TargetGroupArns {
		t, ok := f.tgs[arn]
		if !ok {
			return nil, apiErr(codeTGNotFound)
		}
		out.TargetGroups = append(out.TargetGroups, t.tg)
	}

	return out, nil
}

func (f *fake) CreateTargetGroup(_ context.Context, in *elbv2.CreateTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error) {
	if err := f.call("CreateTargetGroup"); err != nil {
		return nil, err
	}
	tg := elbtypes.TargetGroup{
		TargetGroupName: in.Name, TargetType: in.TargetType, Protocol: in.Protocol, Port: in.Port, VpcId: in.VpcId,
		HealthCheckPath: in.HealthCheckPath, HealthCheckIntervalSeconds: in.HealthCheckIntervalSeconds,
		HealthCheckTimeoutSeconds: in.HealthCheckTimeoutSeconds, HealthyThresholdCount: in.HealthyThresholdCount,
		UnhealthyThresholdCount: in.UnhealthyThresholdCount, Matcher: in.Matcher,
	}
	if existing := f.tgByName(aws.ToString(in.Name)); existing != nil {
		e := existing.tg
		e.TargetGroupArn = nil
		if fmt.Sprint(e) != fmt.Sprint(tg) {
			return nil, apiErr(codeDuplicateTGName)
		}
		return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbtypes.TargetGroup{existing.tg}}, nil
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	t := f.addTG(tg, tags)

	return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbtypes.TargetGroup{t.tg}}, nil
}

func (f *fake) DeleteTargetGroup(_ context.Context, in *elbv2.DeleteTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error) {
	if err := f.call("DeleteTargetGroup"); err != nil {
		return nil, err
	}
	delete(f.tgs, aws.ToString(in.TargetGroupArn))

	return &elbv2.DeleteTargetGroupOutput{}, nil
}

func (f *fake) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	if err := f.call("DescribeTags"); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		t, ok := f.tgs[arn]
		if !ok {
			return nil, apiErr(codeTGNotFound)
		}
		d := elbtypes.TagDescription{ResourceArn: aws.String(arn)}
		for _, k := range ownership.Keys(t.tags) {
			d.Tags = append(d.Tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(t.tags[k])})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}

	return out, nil
}

func (f *fake) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	if err := f.call("DescribeTargetHealth"); err != nil {
		return nil, err
	}
	t, ok := f.tgs[aws.ToString(in.TargetGroupArn)]
	if !ok {
		return nil, apiErr(codeTGNotFound)
	}
	out := &elbv2.DescribeTargetHealthOutput{}
	for _, d := range t.targets {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{
			Target: &elbtypes.TargetDescription{Id: d.Id, Port: d.Port}, TargetHealth: &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumInitial},
		})
	}

	return out, nil
}

func (f *fake) RegisterTargets(_ context.Context, in *elbv2.RegisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	if err := f.call("RegisterTargets"); err != nil {
		return nil, err
	}
	t, ok := f.tgs[aws.ToString(in.TargetGroupArn)]
	if !ok {
		return nil, apiErr(codeTGNotFound)
	}
	t.targets = append(t.targets, in.Targets...)

	return &elbv2.RegisterTargetsOutput{}, nil
}

func (f *fake) DeregisterTargets(_ context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	if err := f.call("DeregisterTargets"); err != nil {
		return nil, err
	}
	t, ok := f.tgs[aws.ToString(in.TargetGroupArn)]
	if !ok {
		return nil, apiErr(codeTGNotFound)
	}
	gone := map[string]bool{}
	for _, d := range in.Targets {
		gone[targetID(aws.ToString(d.Id), aws.ToInt32(d.Port))] = true
	}
	var kept []elbtypes.TargetDescription
	for _, d := range t.targets {
		if !gone[targetID(aws.ToString(d.Id), aws.ToInt32(d.Port))] {
			kept = append(kept, d)
		}
	}
	t.targets = kept

	return &elbv2.DeregisterTargetsOutput{}, nil
}

// targets lists a target group's targets as "<id>:<port>", sorted.
func (t *fakeTG) targetIDs() []string {
	var out []string
	for _, d := range t.targets {
		out = append(out, targetID(aws.ToString(d.Id), aws.ToInt32(d.Port)))
	}
	sort.Strings(out)

	return out
}

func (f *fake) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if err := f.call("DescribeInstances"); err != nil {
		return nil, err
	}
	res := ec2types.Reservation{}
	for _, id := range in.InstanceIds {
		inst, ok := f.instances[id]
		if !ok {
			return nil, apiErr(codeInstanceNotFound)
		}
		var tags []ec2types.Tag
		for _, k := range ownership.Keys(inst.tags) {
			tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(inst.tags[k])})
		}
		res.Instances = append(res.Instances, ec2types.Instance{
			InstanceId: aws.String(id), VpcId: aws.String(inst.vpc), Tags: tags,
			State: &ec2types.InstanceState{Name: ec2types.InstanceStateName(inst.state)},
		})
	}

	return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{res}}, nil
}

func (f *fake) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	if err := f.call("CreateTags"); err != nil {
		return nil, err
	}
	for _, id := range in.Resources {
		inst, ok := f.instances[id]
		if !ok {
			return nil, apiErr(codeInstanceNotFound)
		}
		for _, t := range in.Tags {
			inst.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}

	return &ec2.CreateTagsOutput{}, nil
}

func (f *fake) DeleteTags(_ context.Context, in *ec2.DeleteTagsInput, _ ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error) {
	if err := f.call("DeleteTags"); err != nil {
		return nil, err
	}
	for _, id := range in.Resources {
		inst, ok := f.instances[id]
		if !ok {
			return nil, apiErr(codeInstanceNotFound)
		}
		for _, t := range in.Tags {
			k := aws.ToString(t.Key)
			if t.Value == nil || inst.tags[k] == aws.ToString(t.Value) {
				delete(inst.tags, k)
			}
		}
	}

	return &ec2.DeleteTagsOutput{}, nil
}
