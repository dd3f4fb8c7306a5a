package ruleitem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	host = "app.autostop.example.test"
	exec = "evt-1"
)

// fakeStore has rulestore's semantics: Create only when the host is free
// (else the existing item and ErrHostTaken), Delete only the attacher's.
type fakeStore struct {
	items  map[string]rulestore.Item
	calls  []string
	getErr error
}

func newStore() *fakeStore { return &fakeStore{items: map[string]rulestore.Item{}} }

func (s *fakeStore) Create(_ context.Context, it rulestore.Item) (rulestore.Item, error) {
	s.calls = append(s.calls, "Create")
	if got, ok := s.items[it.Host]; ok {
		return got, fmt.Errorf("create: %w", rulestore.ErrHostTaken)
	}
	it.Version = 1
	s.items[it.Host] = it

	return it, nil
}

func (s *fakeStore) Get(_ context.Context, h string, _ bool) (rulestore.Item, error) {
	s.calls = append(s.calls, "Get")
	if s.getErr != nil {
		return rulestore.Item{}, s.getErr
	}
	it, ok := s.items[rule.NormalizeHost(h)]
	if !ok {
		return rulestore.Item{}, rulestore.ErrNotFound
	}

	return it, nil
}

func (s *fakeStore) MarkDetaching(_ context.Context, h string) (rulestore.Item, error) {
	s.calls = append(s.calls, "MarkDetaching")
	it, ok := s.items[h]
	if !ok {
		return rulestore.Item{}, rulestore.ErrNotFound
	}
	if it.State != rulestore.Detaching {
		it.State = rulestore.Detaching
		it.Version++
		s.items[h] = it
	}

	return it, nil
}

func (s *fakeStore) Delete(_ context.Context, h, by string) (bool, error) {
	s.calls = append(s.calls, "Delete")
	it, ok := s.items[h]
	if !ok {
		return false, nil
	}
	if it.AttachedBy != by {
		return false, fmt.Errorf("delete: %w", rulestore.ErrHostTaken)
	}
	delete(s.items, h)

	return true, nil
}

func attachInput(states ...string) ruledoc.AttachInput {
	r := rule.Rule{Name: "app", InstanceIDs: []string{"i-0a"}, Port: 8080, IdleMinutes: 15}.WithDefaults("autostop.example.test")
	v := &ruledoc.Validated{Rule: r, LoadBalancer: ruledoc.LoadBalancer{Name: "lb", ARN: "arn:lb", ListenerARN: "arn:listener"}}
	for i, s := range states {
		v.Instances = append(v.Instances, ruledoc.Instance{ID: fmt.Sprintf("i-%d", i), State: s})
	}

	return ruledoc.AttachInput{Execution: exec, Validated: v, Results: ruledoc.AttachResults{Target: &ruledoc.TargetResult{TargetGroupARN: "arn:tg"}}}
}

// existing is attachInput as ValidateRule returns it when it found an item.
func existing(why string) ruledoc.AttachInput {
	in := attachInput("stopped")
	in.Validated.Existing = why

	return in
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name        string
		in          ruledoc.AttachInput
		setup       func(s *fakeStore)
		wantAction  string
		wantRunning bool
		wantErr     any
		// wantNoCreate: the step reads the item and makes no write.
		wantNoCreate bool
	}{
		{name: "new: created stopped", in: attachInput("stopped", "running"), wantAction: step.Created},
		{name: "every instance running", in: attachInput("running", "running"), wantAction: step.Created, wantRunning: true},
		{name: "this execution's item: adopted (a retry)", in: attachInput("stopped"), wantAction: step.Adopted,
			setup: func(s *fakeStore) {
				it := attachInput().Validated
				s.items[host] = rulestore.Item{Host: host, Rule: it.Rule, LoadBalancer: "lb", AttachedBy: exec, State: rulestore.Running, Version: 4}
			}},
		{name: "an identical rule of another execution: adopted", in: attachInput("stopped"), wantAction: step.Adopted,
			setup: func(s *fakeStore) {
				s.items[host] = rulestore.Item{Host: host, Rule: attachInput().Validated.Rule, LoadBalancer: "lb", AttachedBy: "evt-0", State: rulestore.Stopped, Version: 1}
			}},
		{name: "ValidateRule saw an identical rule: read, not written", in: existing(ruledoc.ExistingIdenticalRule), wantAction: step.Adopted, wantNoCreate: true,
			setup: func(s *fakeStore) {
				s.items[host] = rulestore.Item{Host: host, Rule: attachInput().Validated.Rule, LoadBalancer: "lb", AttachedBy: "evt-0", State: rulestore.Stopped, Version: 1}
			}},
		{name: "ValidateRule saw an item that is gone since: created", in: existing(ruledoc.ExistingThisExecution), wantAction: step.Created},
		{name: "ValidateRule saw an identical rule, replaced since by another: Conflict", in: existing(ruledoc.ExistingIdenticalRule), wantErr: new(*steperr.Conflict),
			setup: func(s *fakeStore) {
				s.items[host] = rulestore.Item{Host: host, Rule: rule.Rule{Name: "other"}, LoadBalancer: "lb", AttachedBy: "evt-0"}
			}},
		{name: "another rule took the host: Conflict", in: attachInput("stopped"), wantErr: new(*steperr.Conflict),
			setup: func(s *fakeStore) {
				r := attachInput().Validated.Rule
				r.Port = 9
				s.items[host] = rulestore.Item{Host: host, Rule: r, LoadBalancer: "lb", AttachedBy: "evt-0"}
			}},
		{name: "before EnsureRuleTarget: InvalidRequest", in: ruledoc.AttachInput{Execution: exec, Validated: attachInput().Validated}, wantErr: new(*steperr.InvalidRequest)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			if tt.setup != nil {
				tt.setup(s)
			}
			before := s.items[host]
			res, err := Write(t.Context(), s, tt.in)
			if tt.wantErr != nil {
				if !errors.As(err, tt.wantErr) {
					t.Fatalf("err = %v, want %T", err, tt.wantErr)
				}
				if s.items[host].AttachedBy != before.AttachedBy {
					t.Error("the existing item changed")
				}
				return
			}
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if tt.wantNoCreate && slices.Contains(s.calls, "Create") {
				t.Errorf("calls %v, want no Create", s.calls)
			}
			if res.Action != tt.wantAction || res.InstancesRunning != tt.wantRunning || res.Host != host {
				t.Errorf("result %+v, want action %s, running %v", res, tt.wantAction, tt.wantRunning)
			}
			it := s.items[host]
			if tt.wantAction == step.Created {
				want := rulestore.Item{Host: host, Rule: tt.in.Validated.Rule, LoadBalancer: "lb", LoadBalancerARN: "arn:lb", ListenerARN: "arn:listener",
					TargetGroupARN: "arn:tg", State: rulestore.Stopped, AttachedBy: exec, Version: 1}
				a, _ := json.Marshal(it)
				b, _ := json.Marshal(want)
				if string(a) != string(b) {
					t.Errorf("item\n%s\nwant\n%s", a, b)
				}
			}
			if res.State != it.State || res.Version != it.Version || res.AttachedBy != it.AttachedBy {
				t.Errorf("result %+v does not describe the item %+v", res, it)
			}
		})
	}
}

func detachInput(detail string) ruledoc.DetachInput {
	return ruledoc.DetachInput{Detail: json.RawMessage(detail), Execution: "evt-9"}
}

func TestFind(t *testing.T) {
	s := newStore()
	s.items[host] = rulestore.Item{Host: host, Rule: rule.Rule{Name: "app"}, AttachedBy: exec}

	got, err := Find(t.Context(), s, detachInput(`{"host":"App.AutoStop.Example.Test."}`))
	if err != nil || !got.Found || got.Item == nil || got.Item.AttachedBy != exec || got.Host != host {
		t.Errorf("Find = %+v, %v", got, err)
	}
	// Found, the rule is marked detaching: nothing wakes it any more.
	if got.Item.State != rulestore.Detaching || s.items[host].State != rulestore.Detaching {
		t.Errorf("after Find: item %s, stored %s; want detaching", got.Item.State, s.items[host].State)
	}
	got, err = Find(t.Context(), s, detachInput(`{"host":"`+host+`","name":"app"}`))
	if err != nil || !got.Found {
		t.Errorf("Find with the right name = %+v, %v", got, err)
	}
	got, err = Find(t.Context(), s, detachInput(`{"host":"other.autostop.example.test"}`))
	if err != nil || got.Found || got.Item != nil {
		t.Errorf("Find of a free host = %+v, %v; want not found", got, err)
	}
	if _, err := Find(t.Context(), s, detachInput(`{"host":"`+host+`","name":"api"}`)); !errors.As(err, new(*steperr.Conflict)) {
		t.Errorf("Find with another name: %v, want Conflict", err)
	}
	if _, err := Find(t.Context(), s, detachInput(`{"host":"`+host+`","typo":1}`)); !errors.As(err, new(*steperr.InvalidRequest)) {
		t.Errorf("Find with an unknown field: %v, want InvalidRequest", err)
	}
	s.getErr = errors.New("boom")
	if _, err := Find(t.Context(), s, detachInput(`{"host":"`+host+`"}`)); err == nil {
		t.Error("a read error was swallowed")
	}
}

func TestRemove(t *testing.T) {
	s := newStore()
	it := rulestore.Item{Host: host, AttachedBy: exec}
	s.items[host] = it
	in := detachInput(`{"host":"` + host + `"}`)
	in.Found = &ruledoc.Found{Found: true, Host: host, Item: &it}

	res, err := Remove(t.Context(), s, in)
	if err != nil || len(res.Resources) != 1 || res.Resources[0].Kind != ruledoc.KindRuleItem {
		t.Fatalf("Remove = %+v, %v", res, err)
	}
	res, err = Remove(t.Context(), s, in)
	if err != nil || len(res.Resources) != 0 {
		t.Errorf("second Remove = %+v, %v; want nothing to do", res, err)
	}

	s.items[host] = rulestore.Item{Host: host, AttachedBy: "evt-7"}
	if _, err := Remove(t.Context(), s, in); !errors.As(err, new(*steperr.Conflict)) || s.items[host].AttachedBy != "evt-7" {
		t.Errorf("Remove of a re-attached host: %v, item %+v; want Conflict, kept", err, s.items[host])
	}
	if _, err := Remove(t.Context(), s, detachInput(`{}`)); !errors.As(err, new(*steperr.InvalidRequest)) {
		t.Errorf("Remove without FindRule: %v", err)
	}
}
