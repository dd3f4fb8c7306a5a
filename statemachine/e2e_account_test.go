package statemachine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localenv"
	"github.com/autostop/autostop/shared/proxytarget"
	"github.com/autostop/autostop/shared/rollback"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/targetgroup"
)

// The end-to-end tests that can, run against a deployed stack in a real
// account when told to by these settings (README: "Verifying in your own
// account"); otherwise on the local backend. Either way each world tags
// what it provisions with a run id and cleans it up at the end, through
// the same code.
const (
	// accountOptIn must be "1" to run against a real account: the tests
	// create load balancers, certificates and DNS records there (and pay
	// for them for a few minutes).
	accountOptIn = "AUTOSTOP_E2E_ACCOUNT"
	// The deployed stack's ProvisionLoadBalancerArn output.
	accountMachine = "AUTOSTOP_E2E_PROVISION_STATE_MACHINE_ARN"
	// The user's network: a VPC, two or more subnets in different zones,
	// a security group allowing 80/443 (used by the adopt sample).
	accountVPC     = "AUTOSTOP_E2E_VPC_ID"
	accountSubnets = "AUTOSTOP_E2E_SUBNET_IDS" // comma-separated
	accountSG      = "AUTOSTOP_E2E_SECURITY_GROUP_ID"
	// A public hosted zone and a domain inside it; each world uses its own
	// subdomain <run id>-<n>.<domain>, so runs never meet.
	accountZone   = "AUTOSTOP_E2E_HOSTED_ZONE_ID"
	accountDomain = "AUTOSTOP_E2E_DOMAIN"
	// Optional: an ISSUED certificate for *.<domain>, for the samples that
	// attach an existing certificate (they then use <domain> itself, one
	// after the other); without it they are skipped in the account.
	accountCertificate = "AUTOSTOP_E2E_CERTIFICATE_ARN"
	// runTagKey marks, on everything a world provisions, the run.
	runTagKey = "autostop-e2e-run"
)

// accountSettings are the opt-in settings, read once from the environment.
var accountSettings = sync.OnceValues(func() (map[string]string, error) { return readAccountSettings(os.Getenv) })

// readAccountSettings returns nil settings for a local run, the settings
// for an account run, or an error: settings without the opt-in, or the
// opt-in without a required setting.
func readAccountSettings(getenv func(string) string) (map[string]string, error) {
	keys := []string{accountMachine, accountVPC, accountSubnets, accountSG, accountZone, accountDomain, accountCertificate}
	set := map[string]string{}
	for _, k := range keys {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			set[k] = v
		}
	}
	if getenv(accountOptIn) != "1" {
		if len(set) > 0 {
			return nil, fmt.Errorf("%s is set but %s is not \"1\": refusing to run against a real account without the explicit opt-in", strings.Join(slices.Sorted(maps.Keys(set)), ", "), accountOptIn)
		}
		return nil, nil // local backend
	}
	var missing []string
	for _, k := range keys[:len(keys)-1] {
		if set[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s=1 needs %s", accountOptIn, strings.Join(missing, ", "))
	}

	return set, nil
}

// TestAccountSettings: no account run without the explicit opt-in, and
// none with it but without every required setting.
func TestAccountSettings(t *testing.T) {
	full := map[string]string{
		accountOptIn: "1", accountMachine: "arn:aws:states:eu-west-1:123456789012:stateMachine:autostop-provision-load-balancer",
		accountVPC: "vpc-1", accountSubnets: "subnet-a,subnet-b", accountSG: "sg-1", accountZone: "Z1", accountDomain: "e2e.example.com",
	}
	without := func(key string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			if k != key {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		account bool
		wantErr string
	}{
		{name: "nothing set: local", env: nil},
		{name: "settings without the opt-in: refused", env: without(accountOptIn), wantErr: "refusing to run against a real account"},
		{name: "opt-in 'true' is not the opt-in", env: func() map[string]string { m := without(accountOptIn); m[accountOptIn] = "true"; return m }(), wantErr: "refusing"},
		{name: "opt-in without the state machine", env: without(accountMachine), wantErr: accountMachine},
		{name: "opt-in without the zone", env: without(accountZone), wantErr: accountZone},
		{name: "everything: account", env: full, account: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := readAccountSettings(func(k string) string { return tt.env[k] })
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case (set != nil) != tt.account:
				t.Errorf("account run = %v, want %v", set != nil, tt.account)
			}
		})
	}
}

// inAccount reports whether the tests run against a real account; a bad
// setting fails the test.
func inAccount(t testing.TB) bool {
	t.Helper()
	set, err := accountSettings()
	if err != nil {
		t.Fatal(err)
	}

	return set != nil
}

// localOnly skips a test that needs the local backend (its recording
// proxy, fault injection, emulated instances) when running in an account.
func localOnly(t testing.TB) {
	t.Helper()
	if inAccount(t) {
		t.Skip("needs the local backend (recording proxy, faults, emulated workloads); skipped in the account run")
	}
}

// newE2EWorld is the world of a test that runs in both places: a local
// world (opts apply), or the deployed stack in the user's account. Its
// cleanup deletes what it provisioned and fails the test if anything of
// the run is left.
func newE2EWorld(t *testing.T, opts localaws.Options) *world {
	t.Helper()
	var w *world
	if inAccount(t) {
		w = accountWorld(t)
	} else {
		w = newWorldWith(t, opts)
	}
	w.runID = newRunID(t)
	t.Cleanup(func() { w.cleanUp(t) })

	return w
}

// accountWorld reaches the deployed stack with the standard AWS credentials
// and region (environment, profile, SSO, instance role).
func accountWorld(t *testing.T) *world {
	set, _ := accountSettings()
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("AWS credentials: %v", err)
	}
	env := &localenv.Environment{
		Region:         cfg.Region,
		VPCID:          set[accountVPC],
		SubnetIDs:      strings.Split(set[accountSubnets], ","),
		WebSGID:        set[accountSG],
		HostedZoneID:   set[accountZone],
		Domain:         set[accountDomain],
		CertificateARN: set[accountCertificate],
	}

	return &world{env: env, cfg: cfg, states: sfn.NewFromConfig(cfg), machine: set[accountMachine], account: true}
}

func newRunID(t testing.TB) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}

	return "e2e" + hex.EncodeToString(b)
}

// forRun makes a sample this world's own: in an account, a load balancer
// name and a subdomain of the run (the local backend is the world's alone);
// everywhere, the run tag.
func (w *world) forRun(s spec.LoadBalancerSpec) spec.LoadBalancerSpec {
	if s.Tags == nil {
		s.Tags = map[string]string{}
	}
	s.Tags[runTagKey] = w.runID
	if w.account {
		s.Name = strings.TrimRight(truncate(w.runID+"-"+s.Name, 32), "-")
		if !attachesCertificate(s) {
			s.Domain = w.runID + "." + w.env.Domain
		}
	}

	return s
}

// attachesCertificate: the sample attaches an existing certificate (its
// ARN is the environment's, so it may be empty here).
func attachesCertificate(s spec.LoadBalancerSpec) bool {
	return s.Certificate != nil && !s.Certificate.Issue
}

// needsCertificate skips, in an account without AUTOSTOP_E2E_CERTIFICATE_ARN,
// a sample that attaches an existing certificate.
func (w *world) needsCertificate(t testing.TB, s spec.LoadBalancerSpec) {
	t.Helper()
	if w.account && attachesCertificate(s) && w.env.CertificateARN == "" {
		t.Skipf("sample attaches an existing certificate: set %s to a certificate for *.%s", accountCertificate, w.env.Domain)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}

	return s
}

// cleanUp deletes what each execution of this world created (the
// rollback's deleters, by the execution's ownership tag), then any load
// balancer carrying the run tag (an ALB the test created to adopt), and
// fails the test if anything of the run is left. AWS holds some deletes
// for minutes (security groups, certificates): it retries those.
func (w *world) cleanUp(t *testing.T) {
	ctx := context.Background()
	deleters := rollback.AWSDeleters(w.cfg, proxytarget.ConfigFromEnv())
	deadline := time.Now().Add(w.cleanupBound())
	for _, in := range w.provisioned {
		for {
			_, err := rollback.Run(ctx, in, deleters)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("clean-up of run %s, execution %s: %v", w.runID, in.Execution, err)
				break
			}
			time.Sleep(2 * time.Second)
		}
	}
	if err := w.deleteRunLoadBalancers(ctx); err != nil {
		t.Errorf("clean-up of run %s: %v", w.runID, err)
	}
	if err := w.deleteUserRecords(ctx); err != nil {
		t.Errorf("clean-up of run %s: %v", w.runID, err)
	}
	for _, in := range w.provisioned {
		if left := w.createdBy(t, in.Spec.Name, in.Execution); len(left) > 0 {
			t.Errorf("clean-up of run %s left resources of execution %s: %v", w.runID, in.Execution, left)
		}
	}
}

func (w *world) cleanupBound() time.Duration {
	if w.account {
		return 20 * time.Minute
	}

	return time.Minute
}

// deleteRunLoadBalancers deletes the load balancers tagged with the run.
func (w *world) deleteRunLoadBalancers(ctx context.Context) error {
	e := elbv2.NewFromConfig(w.cfg)
	var arns []string
	p := elbv2.NewDescribeLoadBalancersPaginator(e, &elbv2.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe load balancers: %w", err)
		}
		for _, lb := range page.LoadBalancers {
			arns = append(arns, aws.ToString(lb.LoadBalancerArn))
		}
	}
	tags, err := targetgroup.TagsOf(ctx, e, arns)
	if err != nil {
		return err
	}
	var errs []error
	for _, arn := range arns {
		if tags[arn][runTagKey] != w.runID {
			continue
		}
		if _, err := e.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)}); err != nil {
			errs = append(errs, fmt.Errorf("delete load balancer %s: %w", arn, err))
		}
	}

	return errors.Join(errs...)
}

// recordWritten notes a DNS record the test wrote as "the user", for the
// clean-up (the workflow never deletes what it did not write).
func (w *world) recordWritten(r r53types.ResourceRecordSet) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, have := range w.userRecords {
		if aws.ToString(have.Name) == aws.ToString(r.Name) {
			return
		}
	}
	w.userRecords = append(w.userRecords, r)
}

// deleteUserRecords deletes the records the test wrote as "the user".
func (w *world) deleteUserRecords(ctx context.Context) error {
	w.mu.Lock()
	records := w.userRecords
	w.mu.Unlock()
	var errs []error
	for _, r := range records {
		_, err := route53.NewFromConfig(w.cfg).ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(w.env.HostedZoneID),
			ChangeBatch:  &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionDelete, ResourceRecordSet: &r}}},
		})
		var nf *r53types.InvalidChangeBatch
		if err != nil && !errors.As(err, &nf) {
			errs = append(errs, fmt.Errorf("delete record %s: %w", aws.ToString(r.Name), err))
		}
	}

	return errors.Join(errs...)
}

// recordProvisioned notes an execution for the clean-up, with the spec
// normalized as Validate does for what the deleters read.
func (w *world) recordProvisioned(s spec.LoadBalancerSpec, execution string) {
	s.Region = w.cfg.Region
	w.mu.Lock()
	defer w.mu.Unlock()
	w.provisioned = append(w.provisioned, step.Input{Spec: s, Execution: execution, Timing: step.Timing{RollbackMaxAttempts: 1}})
}
