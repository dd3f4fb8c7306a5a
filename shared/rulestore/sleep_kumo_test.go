package rulestore_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/autostop/autostop/shared/rulestore"
)

// running creates a rule and wakes it to running behind a host rule, as
// the wake workflow leaves it.
func running(t *testing.T, s *rulestore.Store, host string) rulestore.Item {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Create(ctx, sampleItem(host, rulestore.Stopped)); err != nil {
		t.Fatal(err)
	}
	w, won, err := s.BeginWake(ctx, host, longAgo)
	if err != nil || !won {
		t.Fatalf("BeginWake: %v, %v", won, err)
	}
	ready := time.Now().UTC().Truncate(time.Millisecond)
	if ok, err := s.FinishWake(ctx, host, w.WakeRequestedAt, "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/autostop-demo/1/3/9", ready); err != nil || !ok {
		t.Fatalf("FinishWake: %v, %v", ok, err)
	}
	it, err := s.Get(ctx, host, true)
	if err != nil {
		t.Fatal(err)
	}

	return it
}

// TestSleepCycle: a running rule goes to sleep in conditional steps that
// only apply to the current sleep, ends stopped, and a request that came
// meanwhile is remembered for the sleep to wake the rule.
func TestSleepCycle(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	host := "app.autostop.example.test"
	it := running(t, s, host)

	// Judged on an older readyAt (woken again since): no sleep.
	if _, won, err := s.BeginSleep(ctx, host, it.ReadyAt.Add(-time.Minute), rulestore.SleepIdle); err != nil || won {
		t.Fatalf("BeginSleep on a stale readyAt: won %v, %v", won, err)
	}
	sl, won, err := s.BeginSleep(ctx, host, it.ReadyAt, rulestore.SleepIdle)
	if err != nil || !won {
		t.Fatalf("BeginSleep: won %v, %v", won, err)
	}
	if sl.State != rulestore.Stopping || sl.SleepReason != rulestore.SleepIdle || sl.SleepRequestedAt.IsZero() {
		t.Fatalf("after BeginSleep: %+v", sl)
	}
	// Only one sleep: a second BeginSleep loses.
	if _, won, err := s.BeginSleep(ctx, host, it.ReadyAt, rulestore.SleepIdle); err != nil || won {
		t.Errorf("second BeginSleep: won %v, %v", won, err)
	}
	// A young stopping rule is not woken by a request; WantWake records it.
	if _, won, err := s.BeginWake(ctx, host, longAgo); err != nil || won {
		t.Errorf("BeginWake of a stopping rule: won %v, %v", won, err)
	}
	if w, set, err := s.WantWake(ctx, host); err != nil || !set || !w.WakeWanted {
		t.Errorf("WantWake: set %v, wakeWanted %v, %v", set, w.WakeWanted, err)
	}

	old := sl.SleepRequestedAt.Add(-time.Second)
	if ok, err := s.ClearHostRule(ctx, host, old); err != nil || ok {
		t.Errorf("ClearHostRule of another sleep: %v, %v", ok, err)
	}
	if ok, err := s.RecordSleepExecution(ctx, host, sl.SleepRequestedAt, "arn:aws:states:us-east-1:000000000000:execution:autostop-sleep-rule:x"); err != nil || !ok {
		t.Errorf("RecordSleepExecution: %v, %v", ok, err)
	}
	if ok, err := s.ClearHostRule(ctx, host, sl.SleepRequestedAt); err != nil || !ok {
		t.Errorf("ClearHostRule: %v, %v", ok, err)
	}
	stoppedAt := time.Now().UTC().Truncate(time.Millisecond)
	done, ok, err := s.FinishSleep(ctx, host, sl.SleepRequestedAt, stoppedAt, "")
	if err != nil || !ok {
		t.Fatalf("FinishSleep: %v, %v", ok, err)
	}
	if done.State != rulestore.Stopped || done.ListenerRuleARN != "" || !done.WakeWanted || !done.StoppedAt.Equal(stoppedAt) ||
		done.SleepExecution == "" || done.Broken != "" {
		t.Errorf("after FinishSleep: %+v", done)
	}
	// The wake it asks for clears WakeWanted.
	w, won, err := s.BeginWake(ctx, host, longAgo)
	if err != nil || !won || w.WakeWanted {
		t.Errorf("BeginWake after the sleep: won %v, wakeWanted %v, %v", won, w.WakeWanted, err)
	}
	// WantWake on a rule that is not stopping sets nothing.
	if _, set, err := s.WantWake(ctx, host); err != nil || set {
		t.Errorf("WantWake on a starting rule: set %v, %v", set, err)
	}
}

// TestFailSleepNeverLeavesTrafficToStoppedInstances: a sleep that failed
// before its host rule was deleted puts the rule back to running; one that
// failed after goes to stopped. A terminated instance breaks the rule, and
// a broken rule is never woken.
func TestFailSleepAndBroken(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)

	before := "before.autostop.example.test"
	it := running(t, s, before)
	sl, _, err := s.BeginSleep(ctx, before, it.ReadyAt, rulestore.SleepIdle)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.FailSleep(ctx, before, sl.SleepRequestedAt, "AccessDenied: elasticloadbalancing:DeleteRule")
	if err != nil || !ok || got.State != rulestore.Running || got.LastError == "" || got.ListenerRuleARN == "" {
		t.Errorf("FailSleep with the host rule in place: ok %v, %+v, %v", ok, got, err)
	}

	after := "after.autostop.example.test"
	it = running(t, s, after)
	sl, _, err = s.BeginSleep(ctx, after, it.ReadyAt, rulestore.SleepIdle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClearHostRule(ctx, after, sl.SleepRequestedAt); err != nil {
		t.Fatal(err)
	}
	got, ok, err = s.FailSleep(ctx, after, sl.SleepRequestedAt, "UnauthorizedOperation: ec2:StopInstances")
	if err != nil || !ok || got.State != rulestore.Stopped || got.LastError == "" {
		t.Errorf("FailSleep after the host rule was deleted: ok %v, %+v, %v", ok, got, err)
	}

	gone := "gone.autostop.example.test"
	it = running(t, s, gone)
	sl, _, err = s.BeginSleep(ctx, gone, it.ReadyAt, rulestore.SleepTerminatedOutside)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err = s.FinishSleep(ctx, gone, sl.SleepRequestedAt, time.Now(), "instance i-0123456789abcdef0 was terminated outside autostop")
	if err != nil || !ok || got.Broken == "" || got.State != rulestore.Stopped {
		t.Fatalf("FinishSleep broken: ok %v, %+v, %v", ok, got, err)
	}
	if _, won, err := s.BeginWake(ctx, gone, time.Now().Add(time.Hour)); err != nil || won {
		t.Errorf("BeginWake of a broken rule: won %v, %v", won, err)
	}
}

// TestList reads every rule over several scan pages.
func TestList(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var want []string
	for i := range 2*rulestore.ListPageSize + 50 {
		host := fmt.Sprintf("r%03d.autostop.example.test", i)
		if _, err := s.Create(ctx, sampleItem(host, rulestore.Stopped)); err != nil {
			t.Fatal(err)
		}
		want = append(want, host)
	}
	items, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(items))
	for i, it := range items {
		got[i] = it.Host
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listed %d rules %v, want %d", len(got), got, len(want))
	}
}
