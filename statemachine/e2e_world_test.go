package statemachine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/history"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localdeploy"
	"github.com/autostop/autostop/shared/localenv"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
)

// world is a fresh local backend with the app deployed and the customer
// environment seeded: what `make up` gives a user.
type world struct {
	backend *localaws.Backend // nil in an account (see newE2EWorld)
	env     *localenv.Environment
	cfg     aws.Config
	states  *sfn.Client
	machine string // ProvisionLoadBalancer's ARN

	// Set by newE2EWorld: the run id every provisioned resource is tagged
	// with, whether this is a real account, and the executions to clean up.
	runID       string
	account     bool
	mu          sync.Mutex
	provisioned []step.Input
	userRecords []r53types.ResourceRecordSet // written by the test as the user
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return newWorldWith(t, localaws.Options{})
}

// newWorldWith is newWorld on a backend started with opts (its Output, for
// one).
func newWorldWith(t testing.TB, opts localaws.Options) *world {
	t.Helper()
	localOnly(t)
	ctx := context.Background()
	// As make up runs it: the app's schedules (the idle watcher) fire at
	// app.LocalScheduleScale.
	b := localawstest.StartWith(t, localdeploy.BackendOptions(opts))

	root, err := localaws.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := localdeploy.Deploy(ctx, b, app.Description(), localdeploy.Options{RepoRoot: root, BinDir: filepath.Join(root, ".build", "local")})
	if err != nil {
		t.Fatalf("deploy (run `make local-functions` first): %v", err)
	}
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := localenv.Seed(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.Proxy().Reset()

	return &world{backend: b, env: env, cfg: cfg, states: sfn.NewFromConfig(cfg), machine: deployed.StateMachineARNs[app.ProvisionLoadBalancer]}
}

// sample reads statemachine/samples/<name>.json and fills in this world's IDs.
func (w *world) sample(t testing.TB, name string) spec.LoadBalancerSpec {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("samples", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}

	return w.env.Fill(s)
}

// provision runs the workflow on s and waits for it to end.
func (w *world) provision(t testing.TB, s spec.LoadBalancerSpec, execution string) *sfn.DescribeExecutionOutput {
	t.Helper()
	ctx := context.Background()
	input, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if w.runID != "" {
		execution = w.runID + "-" + execution
		w.recordProvisioned(s, execution)
	}
	started, err := w.states.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(w.machine), Name: aws.String(execution), Input: aws.String(string(input)),
	})
	if err != nil {
		t.Fatalf("start execution %s: %v", execution, err)
	}

	bound := 4 * time.Minute
	if w.account {
		bound = time.Hour // ACM's DNS validation alone can take 30 minutes
	}
	deadline := time.Now().Add(bound)
	for {
		d, err := w.states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still running after %v", execution, bound)
		}
		time.Sleep(w.pollInterval())
	}
}

// pollInterval spaces DescribeExecution calls: a real account's API
// quotas ask for fewer of them.
func (w *world) pollInterval() time.Duration {
	if w.account {
		return 5 * time.Second
	}

	return 50 * time.Millisecond
}

func requireSucceeded(t testing.TB, d *sfn.DescribeExecutionOutput) {
	t.Helper()
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s %s: %s", aws.ToString(d.Name), d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
}

// mutating returns the mutating AWS calls the step functions made.
func (w *world) mutating() []awsproxy.Call {
	var out []awsproxy.Call
	for _, c := range w.backend.Proxy().Calls() {
		if c.Mutating {
			out = append(out, c)
		}
	}

	return out
}

// createdBy lists every resource in the account that carries execution's
// ownership tag (or, for DNS, whose TXT ownership record names it);
// execution "" lists everything of load balancer lb.
func (w *world) createdBy(t testing.TB, lb, execution string) []string {
	t.Helper()
	ctx := context.Background()
	var found []string
	mine := func(kind, id string, tags map[string]string) {
		if ownership.Owns(tags, lb, execution) || (execution != "" && tags[ownership.ExecutionKey] == execution) {
			found = append(found, kind+" "+id)
		}
	}

	e := elbv2.NewFromConfig(w.cfg)
	var arns []string
	lbs, err := e.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lbs.LoadBalancers {
		arns = append(arns, aws.ToString(l.LoadBalancerArn))
		ls, err := e.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: l.LoadBalancerArn})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ls.Listeners {
			arns = append(arns, aws.ToString(x.ListenerArn))
		}
	}
	tgs, err := e.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range tgs.TargetGroups {
		arns = append(arns, aws.ToString(g.TargetGroupArn))
	}
	for chunk := range slices.Chunk(arns, 20) {
		tags, err := e.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: chunk})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range tags.TagDescriptions {
			m := map[string]string{}
			for _, tag := range d.Tags {
				m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			mine("elbv2", aws.ToString(d.ResourceArn), m)
		}
	}

	sgs, err := ec2.NewFromConfig(w.cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range sgs.SecurityGroups {
		mine("security-group", aws.ToString(g.GroupId), ec2Tags(g.Tags))
	}

	a := acm.NewFromConfig(w.cfg)
	certs, err := a.ListCertificates(ctx, &acm.ListCertificatesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range certs.CertificateSummaryList {
		tags, err := a.ListTagsForCertificate(ctx, &acm.ListTagsForCertificateInput{CertificateArn: c.CertificateArn})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tag := range tags.Tags {
			m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		mine("certificate", aws.ToString(c.CertificateArn), m)
	}

	records, err := route53.NewFromConfig(w.cfg).ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(w.env.HostedZoneID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records.ResourceRecordSets {
		for _, v := range r.ResourceRecords {
			if owner, exec, ok := ownership.ParseTXT(aws.ToString(v.Value)); ok && owner == lb && (execution == "" || exec == execution) {
				found = append(found, fmt.Sprintf("record %s %s", aws.ToString(r.Name), r.Type))
			}
		}
	}

	return found
}

func ec2Tags(tags []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}

	return m
}

func opName(c awsproxy.Call) string { return c.Service + ":" + c.Operation }

func joinCalls(calls []awsproxy.Call) string {
	var s []string
	for _, c := range calls {
		s = append(s, c.Caller+"→"+opName(c))
	}

	return strings.Join(s, ", ")
}

// loopTurns describes the Wait states entered: "WaitForDNS×2 …".
func loopTurns(entered map[string]int) string {
	var parts []string
	for name, c := range entered {
		if strings.HasPrefix(name, "Wait") || name == "RollbackWait" {
			parts = append(parts, fmt.Sprintf("%s×%d", name, c))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}

	return strings.Join(parts, " ")
}

// entered is, from an execution's history (all pages), when each state was
// first entered, how often each was, and the state transitions in all
// (what Step Functions bills).
type entered struct {
	at    map[string]time.Time
	count map[string]int
	total int
}

func (w *world) entered(b testing.TB, arn string) entered {
	e := entered{at: map[string]time.Time{}, count: map[string]int{}}
	for _, st := range history.Timeline(w.events(b, arn)) {
		if _, ok := e.at[st.State]; !ok {
			e.at[st.State] = st.Entered
		}
		e.count[st.State]++
		e.total++
	}

	return e
}

// events is the execution's whole history, oldest first.
func (w *world) events(b testing.TB, arn string) []sfntypes.HistoryEvent {
	var all []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(w.states, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, page.Events...)
	}

	return all
}
