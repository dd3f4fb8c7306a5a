package rulestore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localdeploy"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

// newStore starts the local backend and creates the app's rules table on it
// as the local runner does.
func newStore(t *testing.T) *rulestore.Store {
	t.Helper()
	ctx := context.Background()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	table, ok := app.Description().Table(app.RulesTable)
	if !ok {
		t.Fatal("the app describes no rules table")
	}
	db := dynamodb.NewFromConfig(cfg)
	if err := localdeploy.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}

	return rulestore.New(db, table.Name())
}

// longAgo: no wake is stale.
var longAgo = time.Now().Add(-24 * time.Hour)

func sampleItem(host string, state rulestore.State) rulestore.Item {
	r := rule.Rule{
		Name: "app", InstanceIDs: []string{"i-0123456789abcdef0"}, Port: 8080, IdleMinutes: 15,
		HealthCheck: &rule.HealthCheck{Path: "/healthz", HealthyThresholdCount: 2}, Tags: map[string]string{"team": "a"},
	}.WithDefaults("autostop.example.test")
	r.Host = host

	return rulestore.Item{
		Host: host, Rule: r, LoadBalancer: "autostop-demo", State: state, AttachedBy: "evt-1",
		LoadBalancerARN: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/autostop-demo/1",
		TargetGroupARN:  "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/autostop-app/2",
		ListenerARN:     "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/autostop-demo/1/3",
	}
}

func TestCreateAndGet(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	want := sampleItem("app.autostop.example.test", rulestore.Stopped)

	created, err := s.Create(ctx, want)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created.Version != 1 {
		t.Errorf("created version %d, want 1", created.Version)
	}

	got, err := s.Get(ctx, "App.AutoStop.Example.Test.", false)
	if err != nil {
		t.Fatalf("Get (host in another case, trailing dot): %v", err)
	}
	want.Version = 1
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Get =\n%+v\nwant\n%+v", got, want)
	}

	other := sampleItem("app.autostop.example.test", rulestore.Running)
	other.AttachedBy = "evt-2"
	existing, err := s.Create(ctx, other)
	if !errors.Is(err, rulestore.ErrHostTaken) || existing.AttachedBy != "evt-1" || existing.State != rulestore.Stopped {
		t.Errorf("second Create = %+v, %v; want ErrHostTaken with the first item", existing, err)
	}

	if _, err := s.Get(ctx, "nothing.autostop.example.test", true); !errors.Is(err, rulestore.ErrNotFound) {
		t.Errorf("Get of an unknown host: %v, want ErrNotFound", err)
	}
}

// TestBeginWakeHasOneWinner: of many concurrent first requests, exactly one
// moves the rule to starting.
func TestBeginWakeHasOneWinner(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	host := "app.autostop.example.test"
	it := sampleItem(host, rulestore.Stopped)
	it.LastError = "the last wake failed"
	if _, err := s.Create(ctx, it); err != nil {
		t.Fatal(err)
	}

	const callers = 200
	var winners, losers atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			got, won, err := s.BeginWake(ctx, host, longAgo)
			switch {
			case err != nil:
				errs <- err
			case got.State != rulestore.Starting:
				errs <- fmt.Errorf("caller saw state %s (won %v), want starting", got.State, won)
			case won:
				winners.Add(1)
			default:
				losers.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if winners.Load() != 1 || losers.Load() != callers-1 {
		t.Fatalf("%d winners, %d losers; want 1 and %d", winners.Load(), losers.Load(), callers-1)
	}

	got, err := s.Get(ctx, host, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.LastError != "" || got.Phase != rulestore.PhaseStarting || time.Since(got.WakeRequestedAt) > time.Minute {
		t.Errorf("after the wake began: version %d, lastError %q, phase %q, wakeRequestedAt %v; want 2, cleared, starting, now",
			got.Version, got.LastError, got.Phase, got.WakeRequestedAt)
	}

	// A running rule, or one already starting, is not woken again.
	if _, won, err := s.BeginWake(ctx, host, longAgo); err != nil || won {
		t.Errorf("BeginWake of a starting rule: won %v, %v", won, err)
	}
	if _, err := s.Create(ctx, sampleItem("run.autostop.example.test", rulestore.Running)); err != nil {
		t.Fatal(err)
	}
	if _, won, err := s.BeginWake(ctx, "run.autostop.example.test", longAgo); err != nil || won {
		t.Errorf("BeginWake of a running rule: won %v, %v", won, err)
	}
	if _, _, err := s.BeginWake(ctx, "nothing.autostop.example.test", longAgo); !errors.Is(err, rulestore.ErrNotFound) {
		t.Errorf("BeginWake of an unknown host: %v, want ErrNotFound", err)
	}
}

// TestHoldsAreCapped: the cap holds across concurrent callers, released
// slots are reused, and leases past their expiry (a crashed invocation)
// are swept instead of blocking the rule for ever.
func TestHoldsAreCapped(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	host := "app.autostop.example.test"
	if _, err := s.Create(ctx, sampleItem(host, rulestore.Starting)); err != nil {
		t.Fatal(err)
	}
	const max, callers = 10, 60
	later := time.Now().Add(time.Minute)

	acquire := func(n int, expires time.Time) (held []rulestore.Lease) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				lease := rulestore.NewLease(expires)
				ok, err := s.AcquireHold(ctx, host, lease, max)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					held = append(held, lease)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return held
	}

	held := acquire(callers, later)
	if len(held) != max {
		t.Fatalf("%d of %d concurrent callers got a slot, want exactly %d", len(held), callers, max)
	}

	for _, lease := range held[:3] {
		if err := s.ReleaseHold(ctx, host, lease); err != nil {
			t.Fatal(err)
		}
	}
	if again := acquire(callers, later); len(again) != 3 {
		t.Errorf("after 3 releases %d callers got a slot, want 3", len(again))
	}
	if err := s.ReleaseHold(ctx, host, rulestore.NewLease(later)); err != nil {
		t.Errorf("releasing an unknown lease: %v", err)
	}

	// Crashed invocations: every slot held by a lease that has expired.
	host2 := "crash.autostop.example.test"
	if _, err := s.Create(ctx, sampleItem(host2, rulestore.Starting)); err != nil {
		t.Fatal(err)
	}
	for i := range max {
		if ok, err := s.AcquireHold(ctx, host2, rulestore.NewLease(time.Now().Add(-time.Second)), max); err != nil || !ok {
			t.Fatalf("acquire %d: %v, %v", i, ok, err)
		}
	}
	fresh := rulestore.NewLease(later)
	if ok, err := s.AcquireHold(ctx, host2, fresh, max); err != nil || !ok {
		t.Errorf("with every slot held by an expired lease: acquire = %v, %v; want the expired ones swept", ok, err)
	}
	got, err := s.Get(ctx, host2, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Holds) != 1 || got.Holds[0] != fresh {
		t.Errorf("holds after the sweep: %v, want only the new lease", got.Holds)
	}

	// Holding for an unknown host creates nothing.
	if _, err := s.AcquireHold(ctx, "nothing.autostop.example.test", fresh, max); !errors.Is(err, rulestore.ErrNotFound) {
		t.Errorf("hold for an unknown host: %v, want ErrNotFound", err)
	}
}

// TestFailWakeAndStaleWakes: a failed wake leaves the rule stopped with its
// error, only for the wake it reports on; a wake that never ended can be
// taken over once it is stale.
func TestFailWakeAndStaleWakes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	host := "app.autostop.example.test"
	if _, err := s.Create(ctx, sampleItem(host, rulestore.Stopped)); err != nil {
		t.Fatal(err)
	}
	first, won, err := s.BeginWake(ctx, host, longAgo)
	if err != nil || !won {
		t.Fatalf("BeginWake: %v, %v", won, err)
	}

	// A report about another wake changes nothing.
	if changed, err := s.FailWake(ctx, host, first.WakeRequestedAt.Add(-time.Second), "old news"); err != nil || changed {
		t.Errorf("FailWake of an older wake: changed %v, %v", changed, err)
	}
	changed, err := s.FailWake(ctx, host, first.WakeRequestedAt, "targets never became healthy: i-0123456789abcdef0 unhealthy (Target.ResponseCodeMismatch)")
	if err != nil || !changed {
		t.Fatalf("FailWake: changed %v, %v", changed, err)
	}
	got, err := s.Get(ctx, host, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != rulestore.Stopped || got.Phase != "" || got.LastError == "" || got.Version != first.Version+1 {
		t.Errorf("after FailWake: state %s, phase %q, lastError %q, version %d", got.State, got.Phase, got.LastError, got.Version)
	}

	// The next request wakes it again; while that wake is young nobody else
	// can take it over, once it is stale the next caller does.
	second, won, err := s.BeginWake(ctx, host, longAgo)
	if err != nil || !won || second.LastError != "" {
		t.Fatalf("BeginWake after a failure: won %v, lastError %q, %v", won, second.LastError, err)
	}
	if _, won, err := s.BeginWake(ctx, host, second.WakeRequestedAt.Add(-time.Second)); err != nil || won {
		t.Errorf("BeginWake of a young starting rule: won %v, %v", won, err)
	}
	if _, won, err := s.BeginWake(ctx, host, second.WakeRequestedAt.Add(time.Second)); err != nil || !won {
		t.Errorf("BeginWake of a stale starting rule: won %v, %v", won, err)
	}
}

// TestWakeProgress: the steps of a wake record its phase, its execution and
// its end, each only while the rule is still in that wake.
func TestWakeProgress(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	host := "app.autostop.example.test"
	if _, err := s.Create(ctx, sampleItem(host, rulestore.Stopped)); err != nil {
		t.Fatal(err)
	}
	w, _, err := s.BeginWake(ctx, host, longAgo)
	if err != nil {
		t.Fatal(err)
	}
	at := w.WakeRequestedAt
	exec := "arn:aws:states:us-east-1:000000000000:execution:autostop-wake-rule:app-1"
	ready := time.Now().Truncate(time.Millisecond)
	steps := []struct {
		name string
		do   func(time.Time) (bool, error)
	}{
		{"RecordWakeExecution", func(at time.Time) (bool, error) { return s.RecordWakeExecution(ctx, host, at, exec) }},
		{"SetPhase", func(at time.Time) (bool, error) { return s.SetPhase(ctx, host, at, rulestore.PhaseHealthCheck) }},
		{"FinishWake", func(at time.Time) (bool, error) { return s.FinishWake(ctx, host, at, "arn:listener-rule/1", ready) }},
	}
	for _, st := range steps {
		if changed, err := st.do(at.Add(time.Millisecond)); err != nil || changed {
			t.Errorf("%s for another wake: changed %v, %v", st.name, changed, err)
		}
		if changed, err := st.do(at); err != nil || !changed {
			t.Errorf("%s: changed %v, %v", st.name, changed, err)
		}
	}
	got, err := s.Get(ctx, host, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != rulestore.Running || got.Phase != "" || got.WakeExecution != exec || got.ListenerRuleARN != "arn:listener-rule/1" ||
		!got.ReadyAt.Equal(ready) || got.Version != w.Version+3 {
		t.Errorf("after the wake: %+v", got)
	}
	// A finished wake takes no more reports.
	if changed, err := s.FailWake(ctx, host, at, "late"); err != nil || changed {
		t.Errorf("FailWake after FinishWake: changed %v, %v", changed, err)
	}
}

// TestMarkDetaching: a rule in any state becomes detaching (once; a retry
// changes nothing), after which no wake begins and a wake in flight is
// superseded.
func TestMarkDetaching(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	host := "app.autostop.example.test"
	if _, err := s.Create(ctx, sampleItem(host, rulestore.Stopped)); err != nil {
		t.Fatal(err)
	}
	w, _, err := s.BeginWake(ctx, host, longAgo)
	if err != nil {
		t.Fatal(err)
	}
	it, err := s.MarkDetaching(ctx, host)
	if err != nil || it.State != rulestore.Detaching || it.Phase != "" || it.Version != w.Version+1 {
		t.Fatalf("MarkDetaching = %+v, %v", it, err)
	}
	again, err := s.MarkDetaching(ctx, host)
	if err != nil || again.Version != it.Version {
		t.Errorf("a second MarkDetaching: version %d (%v), want %d unchanged", again.Version, err, it.Version)
	}
	if changed, err := s.SetPhase(ctx, host, w.WakeRequestedAt, rulestore.PhaseSwitching); err != nil || changed {
		t.Errorf("the wake in flight still wrote: %v, %v", changed, err)
	}
	if _, won, err := s.BeginWake(ctx, host, time.Now()); err != nil || won {
		t.Errorf("a detaching rule was woken: %v, %v", won, err)
	}
	if _, err := s.MarkDetaching(ctx, "nothing.autostop.example.test"); !errors.Is(err, rulestore.ErrNotFound) {
		t.Errorf("MarkDetaching of an unknown host: %v, want ErrNotFound", err)
	}
}
