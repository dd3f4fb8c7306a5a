package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSubstitute(t *testing.T) {
	tests := []struct {
		name    string
		asl     string
		values  map[string]string
		want    string
		wantErr string
	}{
		{name: "all filled", asl: `{"Resource":"${Fn}","X":"${Fn}-${Wait}"}`, values: map[string]string{"Fn": "arn:1", "Wait": "5"}, want: `{"Resource":"arn:1","X":"arn:1-5"}`},
		{name: "missing value", asl: `{"Resource":"${Fn}"}`, values: map[string]string{}, wantErr: "no value for [Fn]"},
		{name: "unused value", asl: `{}`, values: map[string]string{"Fn": "x"}, wantErr: "unused values [Fn]"},
		{name: "not a placeholder", asl: `{"a":"$.b","c":"${ not}"}`, values: nil, want: `{"a":"$.b","c":"${ not}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Substitute(tt.asl, tt.values)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	got := Placeholders(`${B} ${A} ${B} $A`)
	if strings.Join(got, ",") != "A,B" {
		t.Fatalf("got %v", got)
	}
}

// TestDescriptionIsConsistent checks what both the CDK stack and the local
// runner rely on: unique IDs, code for every function, an ASL file for every
// state machine whose placeholders all have a substitution and the other way
// round, and rule targets that exist.
func TestDescriptionIsConsistent(t *testing.T) {
	a := Description()
	tables := map[string]bool{}
	for _, tb := range a.Tables {
		if tables[tb.ID] {
			t.Errorf("duplicate table %s", tb.ID)
		}
		tables[tb.ID] = true
		if tb.PartitionKey == "" {
			t.Errorf("table %s has no partition key", tb.ID)
		}
	}
	seen := map[string]bool{}
	for _, f := range a.Functions {
		if seen[f.ID] {
			t.Errorf("duplicate function %s", f.ID)
		}
		seen[f.ID] = true
		if _, err := os.Stat(filepath.Join("../../functions", f.ID, "main.go")); err != nil {
			t.Errorf("function %s has no code: %v", f.ID, err)
		}
		for k, v := range f.EnvRefs {
			if v.StateMachine == "" && v.FunctionARN == "" && v.Table == "" && v.Literal == "" {
				t.Errorf("function %s: EnvRefs %s refers to nothing", f.ID, k)
			}
			if v.Table != "" && !tables[v.Table] {
				t.Errorf("function %s: EnvRefs %s names unknown table %s", f.ID, k, v.Table)
			}
		}
		if f.TimeoutSec <= 0 || f.MemoryMB < 128 {
			t.Errorf("function %s: timeout %d s, memory %d MB", f.ID, f.TimeoutSec, f.MemoryMB)
		}
	}
	machines := map[string]bool{}
	for _, sm := range a.StateMachines {
		machines[sm.ID] = true
		asl, err := sm.ReadASL("../..")
		if err != nil {
			t.Fatal(err)
		}
		values := map[string]string{}
		for k, v := range sm.Substitutions {
			values[k] = "x"
			if v.FunctionARN != "" && !seen[v.FunctionARN] {
				t.Errorf("state machine %s: substitution %s names unknown function %s", sm.ID, k, v.FunctionARN)
			}
		}
		if _, err := Substitute(asl, values); err != nil {
			t.Errorf("state machine %s: %v", sm.ID, err)
		}
	}
	for _, s := range a.Schedules {
		if !seen[s.TargetFunction] {
			t.Errorf("schedule %s targets unknown function %q", s.ID, s.TargetFunction)
		}
		if !strings.HasPrefix(s.Expression, "rate(") && !strings.HasPrefix(s.Expression, "cron(") {
			t.Errorf("schedule %s: %q is not a schedule expression", s.ID, s.Expression)
		}
	}
	for _, bus := range a.EventBuses {
		for _, r := range bus.Rules {
			switch {
			case (r.TargetStateMachine == "") == (r.TargetFunction == ""):
				t.Errorf("rule %s must target exactly one state machine or function", r.ID)
			case r.TargetStateMachine != "" && !machines[r.TargetStateMachine]:
				t.Errorf("rule %s targets unknown state machine %s", r.ID, r.TargetStateMachine)
			case r.TargetFunction != "" && !seen[r.TargetFunction]:
				t.Errorf("rule %s targets unknown function %s", r.ID, r.TargetFunction)
			}
		}
	}
}

func TestJoinMergesBusesByName(t *testing.T) {
	a := App{Functions: []Function{{ID: "a"}}, EventBuses: []EventBus{{Name: "bus", Rules: []Rule{{ID: "r1"}}}}}
	b := App{Functions: []Function{{ID: "b"}}, Tables: []Table{{ID: "t"}},
		EventBuses: []EventBus{{Name: "bus", Rules: []Rule{{ID: "r2"}}}, {Name: "other", Rules: []Rule{{ID: "r3"}}}}}
	got := join(a, b)
	if len(got.Functions) != 2 || len(got.Tables) != 1 || len(got.EventBuses) != 2 {
		t.Fatalf("join = %+v", got)
	}
	if r := got.EventBuses[0].Rules; len(r) != 2 || r[0].ID != "r1" || r[1].ID != "r2" {
		t.Errorf("bus rules %+v, want r1 and r2", r)
	}
	if len(a.EventBuses[0].Rules) != 1 {
		t.Errorf("join changed its input: %+v", a.EventBuses[0].Rules)
	}
}
