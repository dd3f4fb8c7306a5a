package listener

import (
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// TestEnsureOnLocalBackend runs Ensure and DeleteCreatedBy with the real SDK
// against the local backend: an ALB in the seeded subnets, a Lambda target
// group for the proxy, and the seeded certificate.
func TestEnsureOnLocalBackend(t *testing.T) {
	ctx := t.Context()
	seeded := localawstest.StartSeeded(t, "test")
	b, cfg, env, proxied := seeded.Backend, seeded.Direct, seeded.Env, seeded.Proxied
	// Count the answers the SDK received too: a check then also proves the
	// proxy recorded every call the code under test made.
	sent := &countingClient{next: proxied.HTTPClient}
	proxied.HTTPClient = sent
	direct := elbv2.NewFromConfig(cfg)                                                    // setup and checks
	api := elbv2.NewFromConfig(proxied, func(o *elbv2.Options) { o.Region = env.Region }) // the code under test
	// recorded waits until the proxy has recorded every call the SDK made
	// since the last reset and returns the mutating ones.
	recorded := func(t *testing.T) []string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			var all, out []string
			for _, c := range b.Proxy().Calls() {
				if c.Caller == "test" {
					all = append(all, c.Operation)
					if c.Mutating {
						out = append(out, c.Operation)
					}
				}
			}
			if int64(len(all)) >= sent.n.Load() {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("the proxy recorded %d calls, the SDK made %d", len(all), sent.n.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	reset := func(t *testing.T) {
		recorded(t) // no late record of an earlier call can leak past the reset
		sent.n.Store(0)
		b.Proxy().Reset()
	}
	// mutating returns the mutating calls of the code under test since the
	// last reset.
	mutating := recorded

	newALB := func(t *testing.T, name string) (lbARN, tgARN string) {
		t.Helper()
		lb, err := direct.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
			Name: aws.String(name), Type: types.LoadBalancerTypeEnumApplication, Scheme: types.LoadBalancerSchemeEnumInternetFacing,
			Subnets: env.SubnetIDs, SecurityGroups: []string{env.WebSGID},
		})
		if err != nil {
			t.Fatalf("create load balancer %s: %v", name, err)
		}
		tg, err := direct.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(name + "-proxy"), TargetType: types.TargetTypeEnumLambda,
		})
		if err != nil {
			t.Fatalf("create target group %s-proxy: %v", name, err)
		}
		return aws.ToString(lb.LoadBalancers[0].LoadBalancerArn), aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	}
	inputFor := func(name, execution, lbARN, tgARN, cert string) step.Input {
		return step.Input{
			Spec:      spec.LoadBalancerSpec{Name: name, Region: env.Region, VPCID: env.VPCID, Domain: env.Domain, Tags: map[string]string{"team": "platform"}},
			Execution: execution,
			Results: step.Results{
				LoadBalancer: &step.LoadBalancerResult{ARN: lbARN},
				ProxyTarget:  &step.ProxyTargetResult{TargetGroupARN: tgARN},
				Certificate:  &step.CertificateResult{ARN: cert},
			},
		}
	}
	describe := func(t *testing.T, lbARN string) map[int32]types.Listener {
		t.Helper()
		out, err := direct.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
		if err != nil {
			t.Fatalf("describe listeners: %v", err)
		}
		byPort := map[int32]types.Listener{}
		for _, l := range out.Listeners {
			byPort[aws.ToInt32(l.Port)] = l
		}
		return byPort
	}
	tagsOf := func(t *testing.T, arn string) map[string]string {
		t.Helper()
		tags, err := listenerTags(ctx, direct, []string{arn})
		if err != nil {
			t.Fatal(err)
		}
		return tags[arn]
	}

	t.Run("HTTPS with redirect: create, re-run, delete", func(t *testing.T) {
		lbARN, tgARN := newALB(t, "web")
		in := inputFor("web", "exec-1", lbARN, tgARN, env.CertificateARN)

		reset(t)
		got, err := Ensure(ctx, api, in)
		if err != nil {
			t.Fatalf("Ensure: %v", err)
		}
		if m := mutating(t); !slices.Equal(m, []string{"CreateListener", "CreateListener"}) {
			t.Errorf("first run mutating calls = %v", m)
		}

		ls := describe(t, lbARN)
		if len(ls) != 2 {
			t.Fatalf("listeners = %v, want 443 and 80", slices.Collect(maps.Keys(ls)))
		}
		https, plain := ls[443], ls[80]
		if https.Protocol != types.ProtocolEnumHttps || aws.ToString(https.SslPolicy) != SSLPolicy ||
			!slices.Equal(defaultCertificateARNs(https.Certificates), []string{env.CertificateARN}) {
			t.Errorf("HTTPS listener: protocol %s, policy %q, certificates %v", https.Protocol, aws.ToString(https.SslPolicy), defaultCertificateARNs(https.Certificates))
		}
		if len(https.DefaultActions) != 1 || https.DefaultActions[0].Type != types.ActionTypeEnumForward ||
			!slices.Equal(forwardTargets(https.DefaultActions[0]), []string{tgARN}) {
			t.Errorf("HTTPS default actions = %+v", https.DefaultActions)
		}
		if plain.Protocol != types.ProtocolEnumHttp || len(plain.DefaultActions) != 1 || plain.DefaultActions[0].RedirectConfig == nil {
			t.Fatalf("HTTP listener = %+v", plain)
		}
		rc := plain.DefaultActions[0].RedirectConfig
		if plain.DefaultActions[0].Type != types.ActionTypeEnumRedirect || aws.ToString(rc.Protocol) != "HTTPS" || aws.ToString(rc.Port) != "443" ||
			aws.ToString(rc.Host) != "#{host}" || aws.ToString(rc.Path) != "/#{path}" || aws.ToString(rc.Query) != "#{query}" ||
			rc.StatusCode != types.RedirectActionStatusCodeEnumHttp301 {
			t.Errorf("HTTP redirect = %+v", rc)
		}
		if got.HTTPSListenerARN != aws.ToString(https.ListenerArn) || got.HTTPListenerARN != aws.ToString(plain.ListenerArn) {
			t.Errorf("result = %+v", got)
		}
		want := ownership.Tags("web", "exec-1", in.Spec.Tags)
		for _, l := range ls {
			if tags := tagsOf(t, aws.ToString(l.ListenerArn)); !maps.Equal(tags, want) {
				t.Errorf("listener %d tags = %v, want %v", aws.ToInt32(l.Port), tags, want)
			}
		}

		// Re-run, as the same execution and as a later one: nothing to do.
		for _, exec := range []string{"exec-1", "exec-2"} {
			reset(t)
			again, err := Ensure(ctx, api, inputFor("web", exec, lbARN, tgARN, env.CertificateARN))
			if err != nil {
				t.Fatalf("re-run as %s: %v", exec, err)
			}
			if m := mutating(t); len(m) != 0 {
				t.Errorf("re-run as %s made mutating calls %v", exec, m)
			}
			if again.HTTPSListenerARN != got.HTTPSListenerARN || again.HTTPListenerARN != got.HTTPListenerARN {
				t.Errorf("re-run as %s result = %+v", exec, again)
			}
			wantAction := step.Created
			if exec != "exec-1" {
				wantAction = step.Adopted
			}
			for _, r := range again.Resources {
				if r.Action != wantAction {
					t.Errorf("re-run as %s: %s reported %s, want %s", exec, r.ID, r.Action, wantAction)
				}
			}
		}

		// Rollback of another execution deletes nothing; this one's deletes both.
		deleted, left, err := DeleteCreatedBy(ctx, api, lbARN, "web", "exec-2")
		if err != nil || len(deleted) != 0 || len(left) != 0 {
			t.Fatalf("DeleteCreatedBy(exec-2) = %v, %v, %v", deleted, left, err)
		}
		if n := len(describe(t, lbARN)); n != 2 {
			t.Fatalf("after another execution's rollback: %d listeners", n)
		}
		deleted, left, err = DeleteCreatedBy(ctx, api, lbARN, "web", "exec-1")
		if err != nil || len(left) != 0 {
			t.Fatalf("DeleteCreatedBy(exec-1): left %v, err %v", left, err)
		}
		if ids := resourceIDs(deleted, step.Deleted); !slices.Equal(ids, sorted(got.HTTPSListenerARN, got.HTTPListenerARN)) {
			t.Errorf("deleted = %v", ids)
		}
		if ls := describe(t, lbARN); len(ls) != 0 {
			t.Errorf("listeners left: %v", slices.Collect(maps.Keys(ls)))
		}
		// Deleting again, and for a load balancer that is gone, is done.
		if _, err := direct.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lbARN)}); err != nil {
			t.Fatal(err)
		}
		if deleted, left, err := DeleteCreatedBy(ctx, api, lbARN, "web", "exec-1"); err != nil || len(deleted)+len(left) != 0 {
			t.Errorf("DeleteCreatedBy on a deleted load balancer = %v, %v, %v", deleted, left, err)
		}
	})

	t.Run("HTTP only, then upgraded to HTTPS by a later execution", func(t *testing.T) {
		lbARN, tgARN := newALB(t, "plain")

		reset(t)
		first, err := Ensure(ctx, api, inputFor("plain", "exec-1", lbARN, tgARN, ""))
		if err != nil {
			t.Fatalf("Ensure HTTP only: %v", err)
		}
		if m := mutating(t); !slices.Equal(m, []string{"CreateListener"}) {
			t.Errorf("HTTP only: mutating calls = %v", m)
		}
		ls := describe(t, lbARN)
		if len(ls) != 1 || ls[80].Protocol != types.ProtocolEnumHttp || first.HTTPSListenerARN != "" ||
			!slices.Equal(forwardTargets(ls[80].DefaultActions[0]), []string{tgARN}) {
			t.Fatalf("HTTP only: listeners %+v, result %+v", ls, first)
		}

		reset(t)
		if _, err := Ensure(ctx, api, inputFor("plain", "exec-1", lbARN, tgARN, "")); err != nil {
			t.Fatal(err)
		}
		if m := mutating(t); len(m) != 0 {
			t.Errorf("HTTP only re-run: mutating calls %v", m)
		}

		reset(t)
		up, err := Ensure(ctx, api, inputFor("plain", "exec-2", lbARN, tgARN, env.CertificateARN))
		if err != nil {
			t.Fatalf("Ensure upgrade: %v", err)
		}
		if m := mutating(t); !slices.Equal(m, []string{"CreateListener", "AddTags", "ModifyListener"}) {
			t.Errorf("upgrade: mutating calls = %v", m)
		}
		ls = describe(t, lbARN)
		if rc := ls[80].DefaultActions[0].RedirectConfig; ls[80].DefaultActions[0].Type != types.ActionTypeEnumRedirect || rc == nil || aws.ToString(rc.Port) != "443" {
			t.Errorf("upgrade: HTTP listener actions = %+v", ls[80].DefaultActions)
		}
		if up.HTTPListenerARN != first.HTTPListenerARN || ls[443].Protocol != types.ProtocolEnumHttps {
			t.Errorf("upgrade: result %+v, HTTPS listener %+v", up, ls[443])
		}

		// exec-2's rollback removes only the listener it created and puts
		// back the one it modified: port 80 forwards again instead of
		// redirecting to a deleted HTTPS listener.
		deleted, _, err := DeleteCreatedBy(ctx, api, lbARN, "plain", "exec-2")
		if err != nil || !slices.Equal(resourceIDs(deleted, step.Deleted), []string{up.HTTPSListenerARN}) ||
			!slices.Equal(resourceIDs(deleted, step.Updated), []string{first.HTTPListenerARN}) {
			t.Errorf("DeleteCreatedBy(exec-2) = %v, %v", deleted, err)
		}
		ls = describe(t, lbARN)
		if len(ls) != 1 || aws.ToString(ls[80].ListenerArn) != first.HTTPListenerARN {
			t.Errorf("after rollback: listeners %v", slices.Collect(maps.Keys(ls)))
		}
		if a := ls[80].DefaultActions; len(a) != 1 || a[0].Type != types.ActionTypeEnumForward || !slices.Equal(forwardTargets(a[0]), []string{tgARN}) {
			t.Errorf("after rollback: HTTP listener actions = %+v, want forward to %s", a, tgARN)
		}
		// A second rollback pass has nothing left to do.
		reset(t)
		if deleted, left, err := DeleteCreatedBy(ctx, api, lbARN, "plain", "exec-2"); err != nil || len(deleted)+len(left) != 0 || len(mutating(t)) != 0 {
			t.Errorf("second rollback: deleted %v left %v err %v calls %v", deleted, left, err, mutating(t))
		}
	})

	t.Run("a user's listener on an adopted ALB is a conflict", func(t *testing.T) {
		lbARN, tgARN := newALB(t, "adopted")
		userTG, err := direct.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String("users-app"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String(env.VPCID), TargetType: types.TargetTypeEnumInstance,
		})
		if err != nil {
			t.Fatal(err)
		}
		user, err := direct.CreateListener(ctx, &elbv2.CreateListenerInput{
			LoadBalancerArn: aws.String(lbARN), Port: aws.Int32(80), Protocol: types.ProtocolEnumHttp,
			DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: userTG.TargetGroups[0].TargetGroupArn}},
		})
		if err != nil {
			t.Fatal(err)
		}
		in := inputFor("adopted", "exec-1", lbARN, tgARN, env.CertificateARN)
		in.Results.LoadBalancer.Adopted = true

		reset(t)
		_, err = Ensure(ctx, api, in)
		if _, ok := steperr.Map(err).(*steperr.Conflict); !ok {
			t.Fatalf("err = %v, want Conflict", err)
		}
		// Every port is checked before anything is created: 443 is free,
		// yet not created.
		if m := mutating(t); len(m) != 0 {
			t.Errorf("mutating calls = %v", m)
		}
		ls := describe(t, lbARN)
		if l := ls[80]; aws.ToString(l.ListenerArn) != aws.ToString(user.Listeners[0].ListenerArn) ||
			!slices.Equal(forwardTargets(l.DefaultActions[0]), []string{aws.ToString(userTG.TargetGroups[0].TargetGroupArn)}) {
			t.Errorf("the user's listener changed: %+v", l)
		}
		if len(ls) != 1 {
			t.Errorf("listeners = %v, want the user's only", slices.Collect(maps.Keys(ls)))
		}
		// The rollback leaves the user's listener alone.
		if deleted, left, err := DeleteCreatedBy(ctx, api, lbARN, "adopted", "exec-1"); err != nil || len(deleted)+len(left) != 0 {
			t.Errorf("DeleteCreatedBy = %v, %v, %v", deleted, left, err)
		}
		if ls := describe(t, lbARN); len(ls) != 1 {
			t.Errorf("after rollback: listeners %v", slices.Collect(maps.Keys(ls)))
		}
	})
}

// countingClient counts the HTTP responses the SDK received.
type countingClient struct {
	next aws.HTTPClient
	n    atomic.Int64
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	c.n.Add(1)
	return resp, err
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
