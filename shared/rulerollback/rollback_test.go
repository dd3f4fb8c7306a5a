package rulerollback

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/ruletarget"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	host = "app.autostop.example.test"
	lb   = "web"
	exec = "evt-1"
	i1   = "i-0000000000000000a"
)

// account is a small in-memory account: one table, target groups with tags
// and targets, instances with tags.
type account struct {
	items     map[string]rulestore.Item
	tgs       map[string]map[string]string // ARN → tags
	targets   map[string][]string
	instTags  map[string]map[string]string
	deleteErr error
	mutations []string
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

func (a *account) Get(_ context.Context, h string, _ bool) (rulestore.Item, error) {
	it, ok := a.items[h]
	if !ok {
		return rulestore.Item{}, rulestore.ErrNotFound
	}
	return it, nil
}

func (a *account) Delete(_ context.Context, h, by string) (bool, error) {
	it, ok := a.items[h]
	if !ok {
		return false, nil
	}
	if it.AttachedBy != by {
		return false, fmt.Errorf("delete: %w", rulestore.ErrHostTaken)
	}
	a.mutations = append(a.mutations, "DeleteItem")
	delete(a.items, h)
	return true, nil
}

func (a *account) arnOf(name string) string {
	for arn := range a.tgs {
		if strings.Contains(arn, "/"+name+"/") {
			return arn
		}
	}
	return ""
}

func (a *account) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	arn := a.arnOf(in.Names[0])
	if arn == "" {
		return nil, apiErr("TargetGroupNotFound")
	}
	return &elbv2.DescribeTargetGroupsOutput{TargetGroups: []elbtypes.TargetGroup{{TargetGroupArn: aws.String(arn), TargetGroupName: aws.String(in.Names[0])}}}, nil
}

func (a *account) CreateTargetGroup(context.Context, *elbv2.CreateTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error) {
	return nil, errors.New("not used")
}

func (a *account) DeleteTargetGroup(_ context.Context, in *elbv2.DeleteTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error) {
	if a.deleteErr != nil {
		return nil, a.deleteErr
	}
	a.mutations = append(a.mutations, "DeleteTargetGroup")
	delete(a.tgs, aws.ToString(in.TargetGroupArn))
	return &elbv2.DeleteTargetGroupOutput{}, nil
}

func (a *account) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	tags, ok := a.tgs[in.ResourceArns[0]]
	if !ok {
		return nil, apiErr("TargetGroupNotFound")
	}
	d := elbtypes.TagDescription{ResourceArn: aws.String(in.ResourceArns[0])}
	for k, v := range tags {
		d.Tags = append(d.Tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return &elbv2.DescribeTagsOutput{TagDescriptions: []elbtypes.TagDescription{d}}, nil
}

func (a *account) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	out := &elbv2.DescribeTargetHealthOutput{}
	for _, id := range a.targets[aws.ToString(in.TargetGroupArn)] {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{Target: &elbtypes.TargetDescription{Id: aws.String(id), Port: aws.Int32(8080)}})
	}
	return out, nil
}

func (a *account) RegisterTargets(context.Context, *elbv2.RegisterTargetsInput, ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	return nil, errors.New("not used")
}

func (a *account) DeregisterTargets(_ context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	a.mutations = append(a.mutations, "DeregisterTargets")
	delete(a.targets, aws.ToString(in.TargetGroupArn))
	return &elbv2.DeregisterTargetsOutput{}, nil
}

func (a *account) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	var r ec2types.Reservation
	for _, id := range in.InstanceIds {
		tags, ok := a.instTags[id]
		if !ok {
			return nil, apiErr("InvalidInstanceID.NotFound")
		}
		inst := ec2types.Instance{InstanceId: aws.String(id)}
		for k, v := range tags {
			inst.Tags = append(inst.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		r.Instances = append(r.Instances, inst)
	}
	return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{r}}, nil
}

func (a *account) CreateTags(context.Context, *ec2.CreateTagsInput, ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	return nil, errors.New("not used")
}

func (a *account) DeleteTags(_ context.Context, in *ec2.DeleteTagsInput, _ ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error) {
	a.mutations = append(a.mutations, "DeleteTags")
	for _, id := range in.Resources {
		for _, t := range in.Tags {
			if a.instTags[id][aws.ToString(t.Key)] == aws.ToString(t.Value) {
				delete(a.instTags[id], aws.ToString(t.Key))
			}
		}
	}
	return &ec2.DeleteTagsOutput{}, nil
}

func (a *account) deps() Deps {
	return Deps{Store: a, Clients: func(string) ruletarget.Clients { return ruletarget.Clients{ELBv2: a, EC2: a} }}
}

func validated() *ruledoc.Validated {
	r := rule.Rule{Name: "app", InstanceIDs: []string{i1}, Port: 8080, IdleMinutes: 5}.WithDefaults("autostop.example.test")
	return &ruledoc.Validated{Rule: r, LoadBalancer: ruledoc.LoadBalancer{Name: lb, Region: "us-east-1"}}
}

// attached is what a complete attach by execution leaves.
func attached(execution string) *account {
	tgName := ruletarget.TargetGroupName("app", host)
	arn := "arn:aws:elasticloadbalancing:us-east-1:0:targetgroup/" + tgName + "/1"
	tags := ownership.Tags(lb, execution, nil)
	tags[ownership.RuleKey] = host
	return &account{
		items:    map[string]rulestore.Item{host: {Host: host, AttachedBy: execution}},
		tgs:      map[string]map[string]string{arn: tags},
		targets:  map[string][]string{arn: {i1}},
		instTags: map[string]map[string]string{i1: {ownership.RuleKey: host, "Name": "web"}},
	}
}

func TestRun(t *testing.T) {
	in := ruledoc.AttachInput{Execution: exec, Validated: validated(), Error: &step.Error{Error: "AccessDenied", Cause: "denied"}}

	t.Run("everything this execution created: deleted in reverse order", func(t *testing.T) {
		a := attached(exec)
		res, err := Run(t.Context(), a.deps(), in)
		if err != nil || len(res.Left) != 0 {
			t.Fatalf("Run = %+v, %v", res, err)
		}
		want := "DeleteItem DeleteTags DeregisterTargets DeleteTargetGroup"
		if got := strings.Join(a.mutations, " "); got != want {
			t.Errorf("mutations %s, want %s", got, want)
		}
		if len(a.items)+len(a.tgs) != 0 || a.instTags[i1][ownership.RuleKey] != "" || a.instTags[i1]["Name"] != "web" {
			t.Errorf("left: items %v, target groups %v, instance tags %v", a.items, a.tgs, a.instTags)
		}
		if len(res.Deleted) != 4 {
			t.Errorf("deleted %+v, want item, tag, target, target group", res.Deleted)
		}

		a.mutations = nil
		if res, err := Run(t.Context(), a.deps(), in); err != nil || len(res.Deleted) != 0 || len(a.mutations) != 0 {
			t.Errorf("second Run = %+v, %v, %v; want nothing to do", res, err, a.mutations)
		}
	})

	t.Run("another execution's rule: nothing deleted", func(t *testing.T) {
		a := attached("evt-0")
		res, err := Run(t.Context(), a.deps(), in)
		if err != nil || len(res.Deleted) != 0 || len(a.mutations) != 0 {
			t.Fatalf("Run = %+v, %v, mutations %v; want nothing", res, err, a.mutations)
		}
	})

	t.Run("failed before writing the item: target group and tags deleted", func(t *testing.T) {
		a := attached(exec)
		delete(a.items, host)
		if _, err := Run(t.Context(), a.deps(), in); err != nil || len(a.tgs) != 0 || a.instTags[i1][ownership.RuleKey] != "" {
			t.Fatalf("Run: %v; target groups %v, tags %v", err, a.tgs, a.instTags)
		}
	})

	t.Run("validation failed: nothing to do", func(t *testing.T) {
		a := attached(exec)
		if res, err := Run(t.Context(), a.deps(), ruledoc.AttachInput{Execution: exec}); err != nil || len(res.Deleted) != 0 || len(a.mutations) != 0 {
			t.Fatalf("Run = %+v, %v", res, err)
		}
	})

	t.Run("a delete fails: RollbackIncomplete naming what is left and the original error", func(t *testing.T) {
		a := attached(exec)
		a.deleteErr = apiErr("AccessDenied")
		res, err := Run(t.Context(), a.deps(), in)
		var ri *steperr.RollbackIncomplete
		if !errors.As(err, &ri) || len(res.Left) != 1 || !strings.Contains(err.Error(), "left target-group") || !strings.Contains(err.Error(), "original error AccessDenied: denied") {
			t.Fatalf("Run = %+v, %v", res, err)
		}
	})
}
