package statemachine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/history"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/step"
)

// output is the workflow's result document (state Provisioned).
type output struct {
	Name                string       `json:"name"`
	Domain              string       `json:"domain"`
	Wildcard            string       `json:"wildcard"`
	LoadBalancerDNSName string       `json:"loadBalancerDnsName"`
	Results             step.Results `json:"results"`
}

func decodeOutput(t testing.TB, raw *string) output {
	t.Helper()
	var o output
	if err := json.Unmarshal([]byte(aws.ToString(raw)), &o); err != nil {
		t.Fatalf("output %s: %v", aws.ToString(raw), err)
	}

	return o
}

// TestSamplesProvision runs every sample request through the real ASL and
// the real function binaries on a backend with realistic timing (new ALBs
// provision, certificates issue, Route 53 changes sync, permissions and
// certificates propagate a while later), and checks what exists afterwards
// and that each wait loop the request needs turned more than once.
func TestSamplesProvision(t *testing.T) {
	tests := []struct {
		sample string
		// playUser adds the validation record at "the other DNS provider"
		// (here: the same emulated Route 53 zone), as the user would.
		playUser bool
		adopt    bool
		https    bool
		route53  bool
		// waits are the Wait states the execution must have entered.
		waits []string
	}{
		{sample: "route53-existing-certificate", https: true, route53: true, waits: []string{"WaitForLoadBalancer", "WaitForDNS"}},
		{sample: "route53-issued-certificate", https: true, route53: true, waits: []string{"WaitForLoadBalancer", "WaitForCertificate", "WaitForDNS"}},
		{sample: "other-dns-http-only", waits: []string{"WaitForLoadBalancer"}},
		{sample: "other-dns-issued-certificate", https: true, playUser: true, waits: []string{"WaitForLoadBalancer", "WaitForCertificate"}},
		{sample: "adopt-existing-alb", adopt: true, https: true, route53: true, waits: []string{"WaitForLoadBalancer", "WaitForDNS"}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			if !inAccount(t) {
				t.Parallel() // mostly waiting: each world is its own backend
			}
			w := newE2EWorld(t, localaws.Options{RealisticTiming: true})
			ctx := context.Background()
			s := w.forRun(w.sample(t, tt.sample))
			w.needsCertificate(t, s)
			if tt.adopt {
				lb, err := elbv2.NewFromConfig(w.cfg).CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
					Name: aws.String(s.Name), Subnets: w.env.SubnetIDs, SecurityGroups: []string{w.env.WebSGID},
					Tags: []elbv2types.Tag{{Key: aws.String(runTagKey), Value: aws.String(w.runID)}},
				})
				if err != nil {
					t.Fatal(err)
				}
				s.ARN = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
			}
			if tt.playUser {
				stop := w.addValidationRecordsLikeAUser(t, s.Domain)
				defer stop()
			}

			d := w.provision(t, s, "e2e-"+tt.sample)
			requireSucceeded(t, d)
			out := decodeOutput(t, d.Output)
			h := w.entered(t, aws.ToString(d.ExecutionArn))
			t.Logf("%s: %d transitions; wait loops: %s", tt.sample, h.total, loopTurns(h.count))
			for _, wait := range tt.waits {
				if h.count[wait] < 1 {
					t.Errorf("%s never waited: the backend had it ready at once (states entered: %v)", wait, h.count)
				}
			}
			// The history, read as an audit timeline, names the load
			// balancer under the step that made or adopted it.
			lbAction := map[bool]string{true: step.Adopted, false: step.Created}[tt.adopt]
			var audited bool
			for _, st := range history.Timeline(w.events(t, aws.ToString(d.ExecutionArn))) {
				for _, r := range st.Resources {
					if r.Kind == "load-balancer" && r.ID == out.Results.LoadBalancer.ARN {
						audited = st.State == "EnsureLoadBalancer" && r.Action == lbAction
					}
				}
			}
			if !audited {
				t.Errorf("the history's timeline does not show EnsureLoadBalancer with the load balancer %s %s", out.Results.LoadBalancer.ARN, lbAction)
			}

			if out.Wildcard != "*."+s.Domain {
				t.Errorf("wildcard = %q, want *.%s", out.Wildcard, s.Domain)
			}
			lbs, err := elbv2.NewFromConfig(w.cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{s.Name}})
			if err != nil {
				t.Fatalf("the ALB %s does not exist: %v", s.Name, err)
			}
			if got := aws.ToString(lbs.LoadBalancers[0].LoadBalancerArn); got != out.Results.LoadBalancer.ARN {
				t.Errorf("output names ALB %s, account has %s", out.Results.LoadBalancer.ARN, got)
			}
			if out.Results.LoadBalancer.Adopted != tt.adopt {
				t.Errorf("adopted = %v, want %v", out.Results.LoadBalancer.Adopted, tt.adopt)
			}
			ls, err := elbv2.NewFromConfig(w.cfg).DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
			if err != nil {
				t.Fatal(err)
			}
			ports := map[int32]string{}
			for _, l := range ls.Listeners {
				ports[aws.ToInt32(l.Port)] = string(l.Protocol)
			}
			if tt.https && (ports[443] != "HTTPS" || ports[80] != "HTTP") {
				t.Errorf("listeners %v, want HTTPS 443 and HTTP 80", ports)
			}
			if !tt.https && (ports[80] != "HTTP" || len(ports) != 1) {
				t.Errorf("listeners %v, want HTTP 80 only", ports)
			}
			if tt.route53 {
				w.requireAliasRecord(t, out)
			} else if len(out.Results.DNS.RecordsToAdd) == 0 {
				t.Errorf("other DNS: output names no record to add: %+v", out.Results.DNS)
			}
		})
	}
}

func (w *world) requireAliasRecord(t *testing.T, out output) {
	t.Helper()
	recs, err := route53.NewFromConfig(w.cfg).ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(w.env.HostedZoneID)})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range recs.ResourceRecordSets {
		name := strings.TrimSuffix(strings.ReplaceAll(aws.ToString(r.Name), `\052`, "*"), ".")
		if name == out.Wildcard {
			types = append(types, string(r.Type))
			if r.Type == r53types.RRTypeA && (r.AliasTarget == nil || !strings.EqualFold(strings.TrimSuffix(aws.ToString(r.AliasTarget.DNSName), "."), out.LoadBalancerDNSName)) {
				t.Errorf("A record %s does not alias the ALB %s: %+v", name, out.LoadBalancerDNSName, r.AliasTarget)
			}
		}
	}
	if strings.Join(types, ",") != "A,TXT" && strings.Join(types, ",") != "TXT,A" {
		t.Errorf("records at %s: %v, want an alias A and its TXT ownership record", out.Wildcard, types)
	}
}

// addValidationRecordsLikeAUser watches for autostop's pending certificate
// for domain and writes its validation CNAME into the zone, as a user with
// another DNS provider would after reading the workflow's output; the
// clean-up deletes the records it wrote.
func (w *world) addValidationRecordsLikeAUser(t *testing.T, domain string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		a := acm.NewFromConfig(w.cfg)
		r := route53.NewFromConfig(w.cfg)
		for ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			list, err := a.ListCertificates(ctx, &acm.ListCertificatesInput{CertificateStatuses: []acmtypes.CertificateStatus{acmtypes.CertificateStatusPendingValidation}})
			if err != nil {
				continue
			}
			for _, c := range list.CertificateSummaryList {
				if name := aws.ToString(c.DomainName); name != "*."+domain && name != domain {
					continue // not this world's: never touch another certificate's records
				}
				d, err := a.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: c.CertificateArn})
				if err != nil {
					continue
				}
				for _, o := range d.Certificate.DomainValidationOptions {
					if o.ResourceRecord == nil {
						continue
					}
					record := r53types.ResourceRecordSet{
						Name: o.ResourceRecord.Name, Type: r53types.RRTypeCname, TTL: aws.Int64(300),
						ResourceRecords: []r53types.ResourceRecord{{Value: o.ResourceRecord.Value}},
					}
					if _, err := r.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
						HostedZoneId: aws.String(w.env.HostedZoneID),
						ChangeBatch:  &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &record}}},
					}); err == nil {
						w.recordWritten(record)
					}
				}
			}
		}
	}()

	return cancel
}

// TestSameRequestTwiceMakesNoMutatingCalls: the second execution of the same
// request finds everything in place and changes nothing.
func TestSameRequestTwiceMakesNoMutatingCalls(t *testing.T) {
	for _, sample := range []string{"route53-existing-certificate", "route53-issued-certificate"} {
		t.Run(sample, func(t *testing.T) {
			w := newWorld(t)
			s := w.sample(t, sample)
			requireSucceeded(t, w.provision(t, s, "first"))
			if len(w.mutating()) == 0 {
				t.Fatal("the first execution made no mutating call: is the proxy recording?")
			}

			w.backend.Proxy().Reset()
			d := w.provision(t, s, "second")
			requireSucceeded(t, d)
			if m := w.mutating(); len(m) != 0 {
				t.Errorf("second execution made %d mutating calls: %s", len(m), joinCalls(m))
			}
		})
	}
}

// TestFaultsOnEveryMutatingCall injects, for every mutating operation each
// step makes, a throttling error on its first call (the execution must
// still succeed) and a permanent error on every call of it by that step (the
// execution must fail with that error and leave nothing that carries its
// tag), every world with realistic timing, so the rollback meets what AWS
// holds for a while (a deleted ALB's security group, a released
// certificate) and waits for it.
func TestFaultsOnEveryMutatingCall(t *testing.T) {
	const sample = "route53-issued-certificate"
	realistic := localaws.Options{RealisticTiming: true}

	// The operations come from a clean run, so a new step is covered
	// without editing this test. An operation two steps make (Route 53
	// changes: the certificate's validation record, then the DNS records)
	// is faulted once per step, at that step's first call of it.
	w := newWorldWith(t, realistic)
	requireSucceeded(t, w.provision(t, w.sample(t, sample), "discover"))
	targets := faultTargets(w.mutating())
	if len(targets) < 5 {
		t.Fatalf("a clean run made only %d distinct mutating calls: %s", len(targets), joinCalls(w.mutating()))
	}

	for _, tg := range targets {
		op := tg.call
		name := strings.TrimPrefix(op.Caller, "autostop-") + "/" + opName(op)
		t.Run(name+"/throttled", func(t *testing.T) {
			t.Parallel() // mostly waiting: each world is its own backend
			w := newWorldWith(t, realistic)
			w.backend.Proxy().FailNthBy(op.Caller, op.Service, op.Operation, tg.nth, awsproxy.Throttled)
			requireSucceeded(t, w.provision(t, w.sample(t, sample), "throttled"))
			requireFaultInjected(t, w, op)
		})
		t.Run(name+"/denied", func(t *testing.T) {
			t.Parallel()
			w := newWorldWith(t, realistic)
			s := w.sample(t, sample)
			// Permanent: every call of the operation by this step is denied
			// (the rollback's own calls are not).
			for n := tg.nth; n < tg.nth+20; n++ {
				w.backend.Proxy().FailNthBy(op.Caller, op.Service, op.Operation, n, awsproxy.AccessDenied)
			}
			d := w.provision(t, s, "denied")
			if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "AccessDenied" {
				t.Fatalf("execution: %s %s (%s), want FAILED with AccessDenied", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
			}
			requireFaultInjected(t, w, op)
			t.Logf("rollback: %s", loopTurns(w.entered(t, aws.ToString(d.ExecutionArn)).count))
			if left := w.createdBy(t, s.Name, "denied"); len(left) > 0 {
				t.Errorf("after rollback, resources of the failed execution remain: %v", left)
			}
			w.requireSeedUntouched(t)
		})
	}
}

// faultTarget is a mutating call to fault, and its position among its
// step's calls of its operation.
type faultTarget struct {
	call awsproxy.Call
	nth  int
}

// faultTargets are the distinct mutating calls of a clean run, by step
// and operation (an operation two steps make is faulted once per step,
// at that step's first call of it): a new step or call is covered without
// editing the fault tests.
func faultTargets(calls []awsproxy.Call) []faultTarget {
	var targets []faultTarget
	seen := map[string]bool{}
	count := map[string]int{}
	for _, c := range calls {
		key := c.Caller + " " + opName(c)
		count[key]++
		if !seen[key] {
			seen[key] = true
			targets = append(targets, faultTarget{call: c, nth: count[key]})
		}
	}

	return targets
}

func requireFaultInjected(t *testing.T, w *world, op awsproxy.Call) {
	t.Helper()
	for _, c := range w.backend.Proxy().Calls() {
		if c.Fault != "" && opName(c) == opName(op) {
			return
		}
	}
	t.Fatalf("the fault on %s was never triggered", opName(op))
}

// TestBadRequestsFailInValidate: a bad request fails with a named error and
// no mutating call happens before it.
func TestBadRequestsFailInValidate(t *testing.T) {
	w := newWorld(t)
	good := w.sample(t, "route53-existing-certificate")

	tests := []struct {
		name   string
		mutate func(s *step.Input)
		want   string
	}{
		{"name with underscore", func(in *step.Input) { in.Spec.Name = "bad_name" }, "InvalidRequest"},
		{"missing VPC", func(in *step.Input) { in.Spec.VPCID = "vpc-0000000000000dead" }, "InvalidRequest"},
		{"subnet of another VPC", func(in *step.Input) { in.Spec.SubnetIDs = []string{w.env.SubnetIDs[0], w.env.OtherSubnetID} }, "InvalidRequest"},
		{"expired certificate", func(in *step.Input) { in.Spec.Certificate.ARN = w.env.ExpiredCertificateARN }, "InvalidRequest"},
		{"certificate not covering the domain", func(in *step.Input) { in.Spec.Certificate.ARN = w.env.OtherCertificateARN }, "InvalidRequest"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := step.Input{Spec: good}
			in.Spec.SubnetIDs = append([]string(nil), good.SubnetIDs...)
			c := *good.Certificate
			in.Spec.Certificate = &c
			tt.mutate(&in)
			w.backend.Proxy().Reset()
			d := w.provision(t, in.Spec, fmt.Sprintf("bad-%d", i))
			if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != tt.want {
				t.Fatalf("execution: %s %s (%s), want FAILED with %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), tt.want)
			}
			if m := w.mutating(); len(m) != 0 {
				t.Errorf("%d mutating calls before the validation error: %s", len(m), joinCalls(m))
			}
		})
	}
}

// requireSeedUntouched checks that what the customer had before (the seeded
// network, security groups, zone and certificates) is all still there.
func (w *world) requireSeedUntouched(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	e := ec2.NewFromConfig(w.cfg)
	if _, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{w.env.WebSGID, w.env.OtherSGID}}); err != nil {
		t.Errorf("seeded security groups: %v", err)
	}
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: append([]string{w.env.OtherSubnetID}, w.env.SubnetIDs...)})
	if err != nil || len(subnets.Subnets) != 3 {
		t.Errorf("seeded subnets: %v", err)
	}
	if _, err := route53.NewFromConfig(w.cfg).GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(w.env.HostedZoneID)}); err != nil {
		t.Errorf("seeded hosted zone: %v", err)
	}
	for _, arn := range []string{w.env.CertificateARN, w.env.OtherCertificateARN, w.env.ExpiredCertificateARN} {
		if _, err := acm.NewFromConfig(w.cfg).DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)}); err != nil {
			t.Errorf("seeded certificate %s: %v", arn, err)
		}
	}
}
