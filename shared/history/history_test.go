package history

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/step"
)

// events builds a history the way Step Functions writes one.
type events struct {
	now time.Time
	all []types.HistoryEvent
}

func newEvents() *events { return &events{now: time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)} }

func (h *events) add(t types.HistoryEventType, after time.Duration, set func(*types.HistoryEvent)) *events {
	h.now = h.now.Add(after)
	e := types.HistoryEvent{Id: int64(len(h.all) + 1), Type: t, Timestamp: aws.Time(h.now)}
	if set != nil {
		set(&e)
	}
	h.all = append(h.all, e)

	return h
}

func (h *events) enter(kind, name, input string) *events {
	return h.add(types.HistoryEventType(kind+"StateEntered"), 0, func(e *types.HistoryEvent) {
		e.StateEnteredEventDetails = &types.StateEnteredEventDetails{Name: aws.String(name), Input: aws.String(input)}
	})
}

func (h *events) exit(kind, name string, after time.Duration, output string) *events {
	return h.add(types.HistoryEventType(kind+"StateExited"), after, func(e *types.HistoryEvent) {
		e.StateExitedEventDetails = &types.StateExitedEventDetails{Name: aws.String(name), Output: aws.String(output)}
	})
}

func (h *events) attempt(after time.Duration, errName string) *events {
	h.add(types.HistoryEventTypeLambdaFunctionScheduled, 0, nil)
	if errName == "" {
		return h.add(types.HistoryEventTypeLambdaFunctionSucceeded, after, nil)
	}

	return h.add(types.HistoryEventTypeLambdaFunctionFailed, after, func(e *types.HistoryEvent) {
		e.LambdaFunctionFailedEventDetails = &types.LambdaFunctionFailedEventDetails{Error: aws.String(errName), Cause: aws.String(errName + " cause")}
	})
}

func TestTimeline(t *testing.T) {
	lb := `{"kind":"load-balancer","id":"arn:lb","action":"created"}`
	sg := `{"kind":"security-group","id":"sg-1","action":"created"}`
	rec := `{"kind":"record","id":"*.d A","action":"created"}`
	alias := `{"kind":"alias","id":"arn:live","action":"updated"}`
	t0 := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)

	tests := []struct {
		name string
		h    *events
		want []Entry
	}{
		{
			name: "a task retried once, then a wait loop turn",
			h: newEvents().
				enter("Task", "EnsureLoadBalancer", `{"results":{}}`).attempt(time.Second, "Throttled").attempt(2*time.Second, "").
				exit("Task", "EnsureLoadBalancer", 0, `{"results":{"loadBalancer":{"resources":[`+sg+`,`+lb+`]}}}`).
				enter("Wait", "WaitForLoadBalancer", `{"results":{"loadBalancer":{"resources":[`+sg+`,`+lb+`]}}}`).
				exit("Wait", "WaitForLoadBalancer", 15*time.Second, `{"results":{"loadBalancer":{"resources":[`+sg+`,`+lb+`]}}}`),
			want: []Entry{
				{State: "EnsureLoadBalancer", Type: "Task", Entered: t0, Exited: t0.Add(3 * time.Second), Attempts: 2, Error: "Throttled", Cause: "Throttled cause",
					Resources: []step.Resource{{Kind: "security-group", ID: "sg-1", Action: "created"}, {Kind: "load-balancer", ID: "arn:lb", Action: "created"}}},
				{State: "WaitForLoadBalancer", Type: "Wait", Entered: t0.Add(3 * time.Second), Exited: t0.Add(18 * time.Second)},
			},
		},
		{
			name: "a later step adds only its own resources",
			h: newEvents().
				enter("Task", "EnsureDNS", `{"results":{"loadBalancer":{"resources":[`+lb+`]}}}`).attempt(time.Second, "").
				exit("Task", "EnsureDNS", 0, `{"results":{"loadBalancer":{"resources":[`+lb+`]},"dns":{"resources":[`+rec+`]}}}`),
			want: []Entry{{State: "EnsureDNS", Type: "Task", Entered: t0, Exited: t0.Add(time.Second), Attempts: 1,
				Resources: []step.Resource{{Kind: "record", ID: "*.d A", Action: "created"}}}},
		},
		{
			name: "a failure caught into the rollback, which deletes",
			h: newEvents().
				enter("Task", "EnsureListeners", `{}`).attempt(time.Second, "AccessDenied").
				enter("Task", "Rollback", `{"error":{}}`).attempt(time.Second, "").
				exit("Task", "Rollback", 0, `{"rollback":{"deleted":[{"kind":"load-balancer","id":"arn:lb","action":"deleted"}],"left":[]}}`).
				enter("Fail", "ProvisioningFailed", `{}`),
			want: []Entry{
				{State: "EnsureListeners", Type: "Task", Entered: t0, Attempts: 1, Error: "AccessDenied", Cause: "AccessDenied cause", Failed: true},
				{State: "Rollback", Type: "Task", Entered: t0.Add(time.Second), Exited: t0.Add(2 * time.Second), Attempts: 1,
					Resources: []step.Resource{{Kind: "load-balancer", ID: "arn:lb", Action: "deleted"}}},
				{State: "ProvisioningFailed", Type: "Fail", Entered: t0.Add(2 * time.Second)},
			},
		},
		{
			name: "a failure caught: the state exits with the Catcher's output; a resource changed back is named again",
			h: newEvents().
				enter("Task", "MoveAlias", `{}`).attempt(time.Second, "").
				exit("Task", "MoveAlias", 0, `{"moved":{"resources":[`+alias+`]}}`).
				enter("Task", "VerifyTarget", `{"moved":{"resources":[`+alias+`]}}`).attempt(time.Second, "CheckFailed").
				exit("Task", "VerifyTarget", 0, `{"moved":{"resources":[`+alias+`]},"error":{}}`).
				enter("Task", "MoveAliasBack", `{"moved":{"resources":[`+alias+`]},"error":{}}`).attempt(time.Second, "").
				exit("Task", "MoveAliasBack", 0, `{"moved":{"resources":[`+alias+`]},"movedBack":{"resources":[`+alias+`]},"error":{}}`),
			want: []Entry{
				{State: "MoveAlias", Type: "Task", Entered: t0, Exited: t0.Add(time.Second), Attempts: 1, Resources: []step.Resource{{Kind: "alias", ID: "arn:live", Action: "updated"}}},
				{State: "VerifyTarget", Type: "Task", Entered: t0.Add(time.Second), Exited: t0.Add(2 * time.Second), Attempts: 1, Error: "CheckFailed", Cause: "CheckFailed cause", Failed: true},
				{State: "MoveAliasBack", Type: "Task", Entered: t0.Add(2 * time.Second), Exited: t0.Add(3 * time.Second), Attempts: 1, Resources: []step.Resource{{Kind: "alias", ID: "arn:live", Action: "updated"}}},
			},
		},
		{
			name: "a Map state exits after the state inside it",
			h: newEvents().
				enter("Map", "DetachRules", `{}`).
				enter("Task", "DetachRule", `{}`).attempt(time.Second, "").
				exit("Task", "DetachRule", 0, `{"deleted":[`+rec+`]}`).
				exit("Map", "DetachRules", time.Second, `{}`).
				enter("Task", "DeleteDNS", `{}`),
			want: []Entry{
				{State: "DetachRules", Type: "Map", Entered: t0, Exited: t0.Add(2 * time.Second)},
				{State: "DetachRule", Type: "Task", Entered: t0, Exited: t0.Add(time.Second), Attempts: 1,
					Resources: []step.Resource{{Kind: "record", ID: "*.d A", Action: "created"}}},
				{State: "DeleteDNS", Type: "Task", Entered: t0.Add(2 * time.Second)},
			},
		},
		{
			name: "no events",
			h:    newEvents(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Timeline(tt.h.all)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Timeline =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestEntryDuration(t *testing.T) {
	t0 := time.Now()
	if d := (Entry{Entered: t0, Exited: t0.Add(1500 * time.Millisecond)}).Duration(); d != 1500*time.Millisecond {
		t.Errorf("Duration = %v, want 1.5s", d)
	}
	if d := (Entry{Entered: t0}).Duration(); d != 0 {
		t.Errorf("never exited: Duration = %v, want 0", d)
	}
}

func TestResourcesInIgnoresOtherShapes(t *testing.T) {
	got := resourcesIn(`{"b":[{"kind":"x","id":"2","action":"created"}],"a":{"kind":"y","id":"1"},"c":"not json object","d":{"kind":"z","id":"3","action":"adopted","extra":1}}`)
	want := []step.Resource{{Kind: "x", ID: "2", Action: "created"}, {Kind: "z", ID: "3", Action: "adopted"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resourcesIn = %+v, want %+v", got, want)
	}
	if got := resourcesIn(`not json`); got != nil {
		t.Errorf("not JSON: %+v", got)
	}
}
