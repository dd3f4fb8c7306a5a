package ruletarget

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

var fastDeletes = Config{DeleteAttempts: 3, DeleteBackoff: time.Millisecond}

func TestDeleteTargetGroup(t *testing.T) {
	name := TargetGroupName("app", testHost)
	withTargets := func(f *fake, execution string) *fakeTG {
		tg := ruleTG(f, execution, nil)
		tg.targets = []elbtypes.TargetDescription{{Id: aws.String(i1), Port: aws.Int32(8080)}}
		return tg
	}
	tests := []struct {
		name        string
		setup       func(f *fake)
		byARN       bool
		owner       Owner
		wantMut     []string
		wantDeleted int
		wantLeft    int
		wantKept    int
		wantErr     bool
		wantGone    bool
	}{
		{name: "the rule's, by name: targets deregistered, deleted", setup: func(f *fake) { withTargets(f, testExec) },
			owner: Owner{Host: testHost, LoadBalancer: testLB}, wantMut: []string{"DeregisterTargets", "DeleteTargetGroup"}, wantDeleted: 2, wantGone: true},
		{name: "the rule's, by ARN", setup: func(f *fake) { withTargets(f, testExec) }, byARN: true,
			owner: Owner{Host: testHost, LoadBalancer: testLB}, wantMut: []string{"DeregisterTargets", "DeleteTargetGroup"}, wantDeleted: 2, wantGone: true},
		{name: "rollback: this execution's", setup: func(f *fake) { withTargets(f, testExec) },
			owner: Owner{Host: testHost, LoadBalancer: testLB, Execution: testExec}, wantMut: []string{"DeregisterTargets", "DeleteTargetGroup"}, wantDeleted: 2, wantGone: true},
		{name: "rollback: another execution's is kept", setup: func(f *fake) { withTargets(f, "evt-0") },
			owner: Owner{Host: testHost, LoadBalancer: testLB, Execution: testExec}, wantKept: 1},
		{name: "another host's is kept", setup: func(f *fake) { withTargets(f, testExec).tags[ownership.RuleKey] = "x.autostop.example.test" },
			owner: Owner{Host: testHost, LoadBalancer: testLB}, wantKept: 1},
		{name: "untagged is kept", setup: func(f *fake) { withTargets(f, testExec).tags = map[string]string{} }, byARN: true,
			owner: Owner{Host: testHost, LoadBalancer: testLB}, wantKept: 1},
		{name: "missing by name: done", owner: Owner{Host: testHost, LoadBalancer: testLB}},
		{name: "missing by ARN: done", byARN: true, owner: Owner{Host: testHost, LoadBalancer: testLB}},
		{name: "in use after every attempt: left", setup: func(f *fake) {
			withTargets(f, testExec)
			f.errs["DeleteTargetGroup"] = []error{apiErr(codeResourceInUse), apiErr(codeResourceInUse), apiErr(codeResourceInUse)}
		}, owner: Owner{Host: testHost, LoadBalancer: testLB}, wantMut: []string{"DeregisterTargets", "DeleteTargetGroup", "DeleteTargetGroup", "DeleteTargetGroup"}, wantDeleted: 1, wantLeft: 1},
		{name: "in use once: deleted on the retry", setup: func(f *fake) {
			withTargets(f, testExec)
			f.errs["DeleteTargetGroup"] = []error{apiErr(codeResourceInUse)}
		}, owner: Owner{Host: testHost, LoadBalancer: testLB}, wantMut: []string{"DeregisterTargets", "DeleteTargetGroup", "DeleteTargetGroup"}, wantDeleted: 2, wantGone: true},
		{name: "denied: left, error", setup: func(f *fake) {
			withTargets(f, testExec)
			f.errs["DeleteTargetGroup"] = []error{apiErr("AccessDenied")}
		}, owner: Owner{Host: testHost, LoadBalancer: testLB}, wantMut: []string{"DeregisterTargets", "DeleteTargetGroup"}, wantDeleted: 1, wantLeft: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			ref := Ref{Name: name}
			if tt.byARN {
				ref = Ref{ARN: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/" + name + "/1"}
			}
			deleted, left, kept, err := DeleteTargetGroup(t.Context(), f, fastDeletes, ref, tt.owner)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if len(deleted) != tt.wantDeleted || len(left) != tt.wantLeft || len(kept) != tt.wantKept {
				t.Errorf("deleted %v, left %v, kept %v; want %d, %d, %d", deleted, left, kept, tt.wantDeleted, tt.wantLeft, tt.wantKept)
			}
			if got := f.mutating(); !slices.Equal(got, tt.wantMut) {
				t.Errorf("mutating calls %v, want %v", got, tt.wantMut)
			}
			if gone := f.tgByName(name) == nil; tt.wantGone && !gone {
				t.Error("the target group is still there")
			}
		})
	}
}

func TestUntag(t *testing.T) {
	f := newFake()
	f.addInstance(i1, "running", testVPC, map[string]string{ownership.RuleKey: testHost, "Name": "web-1"})
	f.addInstance(i2, "stopped", testVPC, map[string]string{ownership.RuleKey: "other.autostop.example.test"})
	f.addInstance("i-0000000000000000c", "stopped", testVPC, nil)

	deleted, left, err := Untag(t.Context(), f, "App.AutoStop.Example.Test", []string{i1, i2, "i-0000000000000000c", "i-00000000000000dead"})
	if err != nil || len(left) != 0 || len(deleted) != 1 || deleted[0].ID != i1 {
		t.Fatalf("Untag = %v, %v, %v; want %s's tag deleted only", deleted, left, err, i1)
	}
	if _, ok := f.instances[i1].tags[ownership.RuleKey]; ok || f.instances[i1].tags["Name"] != "web-1" {
		t.Errorf("%s tags %v: want only %s removed", i1, f.instances[i1].tags, ownership.RuleKey)
	}
	if f.instances[i2].tags[ownership.RuleKey] != "other.autostop.example.test" {
		t.Errorf("another rule's tag was removed: %v", f.instances[i2].tags)
	}
	if f.instances[i1].state != "running" || f.instances[i2].state != "stopped" {
		t.Error("instance states changed")
	}

	f.calls = nil
	deleted, _, err = Untag(t.Context(), f, testHost, []string{i1, i2})
	if err != nil || len(deleted) != 0 || len(f.mutating()) != 0 {
		t.Errorf("second Untag = %v, %v, calls %v; want nothing to do", deleted, err, f.calls)
	}
}

func TestDescribeInstancesReportsMissing(t *testing.T) {
	f := newFake()
	f.addInstance(i1, "running", testVPC, nil)
	found, missing, err := DescribeInstances(t.Context(), f, []string{i1, "i-00000000000000dead"})
	if err != nil || len(found) != 1 || !slices.Equal(missing, []string{"i-00000000000000dead"}) {
		t.Fatalf("DescribeInstances = %v, %v, %v", found, missing, err)
	}
	f.errs["DescribeInstances"] = []error{apiErr("UnauthorizedOperation")}
	if _, _, err := DescribeInstances(t.Context(), f, []string{i1}); err == nil {
		t.Error("an access error was swallowed")
	}
}

func TestDetach(t *testing.T) {
	f := newFake()
	f.addInstance(i1, "running", testVPC, map[string]string{ownership.RuleKey: testHost})
	f.addInstance(i2, "stopped", testVPC, map[string]string{ownership.RuleKey: testHost})
	tg := ruleTG(f, "evt-0", nil)
	tg.targets = []elbtypes.TargetDescription{{Id: aws.String(i1), Port: aws.Int32(8080)}, {Id: aws.String(i2), Port: aws.Int32(8080)}}
	v := validated()
	in := ruledoc.DetachInput{Execution: "evt-9", Found: &ruledoc.Found{Found: true, Host: testHost, Item: &rulestore.Item{
		Host: testHost, Rule: v.Rule, LoadBalancer: testLB, TargetGroupARN: aws.ToString(tg.tg.TargetGroupArn), AttachedBy: "evt-0",
	}}}

	res, err := Detach(t.Context(), f.clients(), fastDeletes, in)
	if err != nil {
		t.Fatalf("Detach: %v", err)
	}
	got := byKind(res.Resources)
	if len(got[ruledoc.KindTargetGroup]) != 1 || len(got[ruledoc.KindTarget]) != 2 || len(got[ruledoc.KindInstanceTag]) != 2 {
		t.Errorf("resources %v", got)
	}
	if len(f.tgs) != 0 || f.instances[i1].tags[ownership.RuleKey] != "" || f.instances[i2].tags[ownership.RuleKey] != "" {
		t.Errorf("left: target groups %d, tags %v %v", len(f.tgs), f.instances[i1].tags, f.instances[i2].tags)
	}
	if f.instances[i1].state != "running" || f.instances[i2].state != "stopped" {
		t.Error("instance states changed")
	}

	f.calls = nil
	res, err = Detach(t.Context(), f.clients(), fastDeletes, in)
	if err != nil || len(res.Resources) != 0 || len(f.mutating()) != 0 {
		t.Errorf("second Detach = %+v, %v, calls %v; want nothing to do", res, err, f.calls)
	}

	// A target group that stays in use fails the step, naming it.
	f = newFake()
	tg = ruleTG(f, "evt-0", nil)
	in.Found.Item.TargetGroupARN = aws.ToString(tg.tg.TargetGroupArn)
	f.errs["DeleteTargetGroup"] = []error{apiErr(codeResourceInUse), apiErr(codeResourceInUse), apiErr(codeResourceInUse)}
	if _, err := Detach(t.Context(), f.clients(), fastDeletes, in); err == nil || !strings.Contains(err.Error(), "still in use") {
		t.Errorf("Detach with the target group in use: %v", err)
	}

	if _, err := Detach(t.Context(), f.clients(), fastDeletes, ruledoc.DetachInput{}); !errors.As(err, new(*steperr.InvalidRequest)) {
		t.Errorf("Detach without FindRule: %v, want InvalidRequest", err)
	}
}
