package statemachine

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/localdeploy"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/ruletarget"
)

// ruleWorld is a world with a provisioned load balancer (Route 53, existing
// certificate) to attach rules to, and the clients the rule tests read the
// account with (directly, not through the recording proxy).
type ruleWorld struct {
	*world
	lb             output
	attach, detach string // the state machines' ARNs
	ec2            *ec2.Client
	elb            *elbv2.Client
	store          *rulestore.Store
}

func newRuleWorld(t testing.TB) *ruleWorld {
	t.Helper()
	w := newWorld(t)
	d := w.provision(t, w.sample(t, "route53-existing-certificate"), "provision-rules")
	requireSucceeded(t, d)
	w.backend.Proxy().Reset()

	return ruleWorldOf(w, decodeOutput(t, d.Output))
}

func ruleWorldOf(w *world, lb output) *ruleWorld {
	table, _ := app.Description().Table(app.RulesTable)

	return &ruleWorld{
		world: w, lb: lb,
		attach: localdeploy.StateMachineARN(w.backend.Region(), app.NamePrefix+app.AttachRule),
		detach: localdeploy.StateMachineARN(w.backend.Region(), app.NamePrefix+app.DetachRule),
		ec2:    ec2.NewFromConfig(w.cfg), elb: elbv2.NewFromConfig(w.cfg),
		store: rulestore.New(dynamodb.NewFromConfig(w.cfg), table.Name()),
	}
}

// instances launches n instances in subnet (the load balancer's VPC's first
// subnet when ""), waits until they run and, when stopped, stops them and
// waits until they are stopped.
func (rw *ruleWorld) instances(t testing.TB, n int, subnet string, stopped bool) []string {
	t.Helper()

	return rw.launch(t, group{n: n, subnet: subnet, stopped: stopped})[0]
}

// group is one RunInstances call of launch.
type group struct {
	n       int
	subnet  string // "": the load balancer's VPC's first subnet
	stopped bool
}

// launch launches every group at once (an instance takes seconds to start
// and to stop locally: the groups wait together) and returns their IDs.
func (rw *ruleWorld) launch(t testing.TB, groups ...group) [][]string {
	t.Helper()
	ctx := context.Background()
	var all, stop []string
	out := make([][]string, len(groups))
	for i, g := range groups {
		subnet := g.subnet
		if subnet == "" {
			subnet = rw.env.SubnetIDs[0]
		}
		run, err := rw.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
			ImageId: aws.String("ami-12345678"), InstanceType: ec2types.InstanceTypeT3Micro,
			MinCount: aws.Int32(int32(g.n)), MaxCount: aws.Int32(int32(g.n)), SubnetId: aws.String(subnet),
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range run.Instances {
			id := aws.ToString(inst.InstanceId)
			out[i] = append(out[i], id)
			all = append(all, id)
			if g.stopped {
				stop = append(stop, id)
			}
		}
	}
	if err := ec2.NewInstanceRunningWaiter(rw.ec2).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: all}, time.Minute,
		func(o *ec2.InstanceRunningWaiterOptions) { o.MinDelay = 100 * time.Millisecond }); err != nil {
		t.Fatal(err)
	}
	if len(stop) > 0 {
		if _, err := rw.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: stop}); err != nil {
			t.Fatal(err)
		}
		if err := ec2.NewInstanceStoppedWaiter(rw.ec2).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: stop}, time.Minute,
			func(o *ec2.InstanceStoppedWaiterOptions) { o.MinDelay = 100 * time.Millisecond }); err != nil {
			t.Fatal(err)
		}
	}

	return out
}

// ruleDetail is an "AutoStopping Rule Created" detail for a rule on the
// world's load balancer, by name.
func (rw *ruleWorld) ruleDetail(name string, ids []string) map[string]any {
	return map[string]any{
		"rule": map[string]any{
			"name": name, "instanceIds": ids, "port": 8080, "idleMinutes": 15,
			"healthCheck": map[string]any{"path": "/healthz", "intervalSeconds": 10, "timeoutSeconds": 3, "healthyThresholdCount": 2, "unhealthyThresholdCount": 3, "successCodes": "200-299"},
			"tags":        map[string]string{"team": "platform"},
		},
		"loadBalancer": map[string]any{"name": rw.lb.Name},
	}
}

// run starts an execution of machine and waits for it to end.
func (w *world) run(t testing.TB, machine, name string, input any) *sfn.DescribeExecutionOutput {
	t.Helper()
	raw, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	started, err := w.states.StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(machine), Name: aws.String(name), Input: aws.String(string(raw)),
	})
	if err != nil {
		t.Fatalf("start execution %s: %v", name, err)
	}

	return w.await(t, aws.ToString(started.ExecutionArn))
}

// await waits for an execution to end (to exist first, when started by an
// event).
func (w *world) await(t testing.TB, executionARN string) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := w.states.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
		var missing *sfntypes.ExecutionDoesNotExist
		switch {
		case errors.As(err, &missing):
		case err != nil:
			t.Fatal(err)
		case d.Status != sfntypes.ExecutionStatusRunning:
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s not ended after 2 minutes", executionARN)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// putEvent puts one event on the autostop bus and returns its id.
func (w *world) putEvent(t testing.TB, detailType string, detail any) string {
	t.Helper()
	raw, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	out, err := eventbridge.NewFromConfig(w.cfg).PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(eventstart.EventBusName), Source: aws.String(eventstart.Source),
		DetailType: aws.String(detailType), Detail: aws.String(string(raw)),
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v (%+v)", err, out)
	}

	return aws.ToString(out.Entries[0].EventId)
}

// executionOf is the ARN of the execution an event starts on machine.
func executionOf(machine, eventID string) string {
	return eventstart.ExecutionARN(machine, eventstart.ExecutionName(eventID))
}

// stepMutations are the mutating calls of the rule workflows' step
// functions (the starter's StartExecution excepted).
func (w *world) stepMutations() []awsproxy.Call {
	var out []awsproxy.Call
	for _, c := range w.mutating() {
		if c.Caller != app.NamePrefix+"start-provisioning" {
			out = append(out, c)
		}
	}

	return out
}

// attachedTo describes what the account holds for a rule host: its target
// groups (by ARN, with their tags), the instances carrying its tag, and
// whether its item exists.
type attachedTo struct {
	targetGroups map[string]map[string]string
	tagged       []string
	item         *rulestore.Item
}

func (rw *ruleWorld) attachedTo(t testing.TB, host string) attachedTo {
	t.Helper()
	ctx := context.Background()
	out := attachedTo{targetGroups: map[string]map[string]string{}}
	tgs, err := rw.elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for chunk := range slices.Chunk(tgs.TargetGroups, 20) {
		var arns []string
		for _, g := range chunk {
			arns = append(arns, aws.ToString(g.TargetGroupArn))
		}
		tags, err := rw.elb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range tags.TagDescriptions {
			m := map[string]string{}
			for _, tag := range d.Tags {
				m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			if m[ownership.RuleKey] == host {
				out.targetGroups[aws.ToString(d.ResourceArn)] = m
			}
		}
	}

	insts, err := rw.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range insts.Reservations {
		for _, i := range r.Instances {
			if ruletarget.RuleTag(i) == host {
				out.tagged = append(out.tagged, aws.ToString(i.InstanceId))
			}
		}
	}
	slices.Sort(out.tagged)

	it, err := rw.store.Get(ctx, host, true)
	switch {
	case err == nil:
		out.item = &it
	case !errors.Is(err, rulestore.ErrNotFound):
		t.Fatal(err)
	}

	return out
}

// createdByExecution lists what carries execution's tag for this host, or
// its item or instance tag: what a rollback must leave nothing of.
func (rw *ruleWorld) createdByExecution(t testing.TB, host, execution string) []string {
	t.Helper()
	a := rw.attachedTo(t, host)
	var left []string
	for arn, tags := range a.targetGroups {
		if tags[ownership.ExecutionKey] == execution {
			left = append(left, "target group "+arn)
		}
	}
	for _, id := range a.tagged {
		left = append(left, "instance tag on "+id)
	}
	if a.item != nil && a.item.AttachedBy == execution {
		left = append(left, "rule item "+host)
	}

	return left
}

// instanceStates returns the instances' states by ID.
func (rw *ruleWorld) instanceStates(t testing.TB, ids []string) map[string]string {
	t.Helper()
	out, err := rw.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			states[aws.ToString(i.InstanceId)] = string(i.State.Name)
		}
	}

	return states
}

// attachOutput is AttachRule's output (state Attached).
type attachOutput struct {
	Rule             string `json:"rule"`
	Host             string `json:"host"`
	LoadBalancer     string `json:"loadBalancer"`
	Execution        string `json:"execution"`
	State            string `json:"state"`
	InstancesRunning bool   `json:"instancesRunning"`
	ListenerARN      string `json:"listenerArn"`
	TargetGroupARN   string `json:"targetGroupArn"`
	Results          struct {
		Target struct {
			Resources []struct{ Kind, ID, Action string } `json:"resources"`
		} `json:"target"`
		Item struct {
			Action string `json:"action"`
		} `json:"item"`
	} `json:"results"`
}

func decodeAttach(t testing.TB, d *sfn.DescribeExecutionOutput) attachOutput {
	t.Helper()
	requireSucceeded(t, d)
	var o attachOutput
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &o); err != nil {
		t.Fatalf("output %s: %v", aws.ToString(d.Output), err)
	}

	return o
}

func requireFailedWith(t testing.TB, d *sfn.DescribeExecutionOutput, errName string) {
	t.Helper()
	if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != errName {
		t.Fatalf("execution %s: %s %s (%s), want FAILED with %s", aws.ToString(d.Name), d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), errName)
	}
}
