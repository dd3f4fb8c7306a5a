package history

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// provisionASL has one state of each kind the graph draws differently, a
// loop (Provision → Active? → Wait → Provision), a Next and a Catch to the
// same state, a name that is not an identifier and one with a quote.
const provisionASL = `{
  "StartAt": "Init",
  "States": {
    "Init": {"Type": "Pass", "Next": "Provision"},
    "Provision": {
      "Type": "Task", "Resource": "${ProvisionFunctionArn}",
      "Retry": [{"ErrorEquals": ["Throttled"], "MaxAttempts": 3}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Rollback"}],
      "Next": "Active?"
    },
    "Active?": {
      "Type": "Choice",
      "Choices": [
        {"Variable": "$.results.loadBalancer.state", "StringEquals": "active", "Next": "Say \"done\""},
        {"And": [{"Variable": "$.a", "IsPresent": true}, {"Variable": "$.b", "BooleanEquals": false}], "Next": "Rollback"}
      ],
      "Default": "Wait"
    },
    "Wait": {"Type": "Wait", "Seconds": 5, "Next": "Provision"},
    "Say \"done\"": {"Type": "Pass", "Next": "Done"},
    "Done": {"Type": "Succeed"},
    "Rollback": {
      "Type": "Task", "Resource": "${RollbackFunctionArn}",
      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
      "Next": "Failed"
    },
    "Failed": {"Type": "Fail", "Error": "ProvisionFailed"}
  }
}`

func TestMermaid(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	ran := func(state, typ string, attempts int, errName string, exited bool) Entry {
		// An error on a state that never exited: its last attempt
		// failed (the other kind, exited, is a retried one).
		e := Entry{State: state, Type: typ, Entered: t0, Attempts: attempts, Error: errName, Failed: errName != "" && !exited}
		if exited {
			e.Exited = t0.Add(time.Second)
		}
		return e
	}
	tests := []struct {
		name    string
		entries []Entry
		want    string   // the whole output, when set
		lines   []string // lines the output has
		not     []string // lines it has not
	}{
		{
			name: "no entries",
			want: `flowchart TD
    start((start))
    Init["Init"]
    Provision["Provision"]
    Active_{"Active?"}
    Wait(["Wait"])
    Say__done_["Say #quot;done#quot;"]
    Done["Done"]
    Rollback["Rollback"]
    Failed["Failed"]
    finish((end))
    start --> Init
    Init --> Provision
    Provision --> Active_
    Provision -. "catch States.ALL" .-> Rollback
    Active_ -- "default" --> Wait
    Active_ -- "$.results.loadBalancer.state == #quot;active#quot;" --> Say__done_
    Active_ -- "choice 2" --> Rollback
    Wait --> Provision
    Say__done_ --> Done
    Done --> finish
    Rollback --> Failed
    Rollback -. "catch States.ALL" .-> Failed
    Failed --> finish
    classDef visited fill:#d4edda,stroke:#28a745
    classDef failed fill:#f8d7da,stroke:#dc3545
`,
		},
		{
			name: "a failure caught into the rollback",
			entries: []Entry{ran("Init", "Pass", 0, "", true), ran("Provision", "Task", 1, "AccessDenied", false),
				ran("Rollback", "Task", 1, "", true), ran("Failed", "Fail", 0, "", false)},
			want: `flowchart TD
    start((start))
    Init["Init"]
    Provision["Provision"]
    Active_{"Active?"}
    Wait(["Wait"])
    Say__done_["Say #quot;done#quot;"]
    Done["Done"]
    Rollback["Rollback"]
    Failed["Failed"]
    finish((end))
    start ==> Init
    Init ==> Provision
    Provision --> Active_
    Provision == "catch States.ALL" ==> Rollback
    Active_ -- "default" --> Wait
    Active_ -- "$.results.loadBalancer.state == #quot;active#quot;" --> Say__done_
    Active_ -- "choice 2" --> Rollback
    Wait --> Provision
    Say__done_ --> Done
    Done --> finish
    Rollback ==> Failed
    Rollback -. "catch States.ALL" .-> Failed
    Failed ==> finish
    classDef visited fill:#d4edda,stroke:#28a745
    classDef failed fill:#f8d7da,stroke:#dc3545
    class Init,Rollback visited
    class Provision,Failed failed
`,
		},
		{
			name: "a failure caught, the state exited with the Catcher's output",
			entries: []Entry{ran("Init", "Pass", 0, "", true), {State: "Provision", Type: "Task", Entered: t0, Exited: t0.Add(time.Second), Attempts: 1, Error: "AccessDenied", Failed: true},
				ran("Rollback", "Task", 1, "", true), ran("Failed", "Fail", 0, "", false)},
			lines: []string{`    Provision == "catch States.ALL" ==> Rollback`, `    class Init,Rollback visited`, `    class Provision,Failed failed`},
			not:   []string{`    Provision ==> Rollback`},
		},
		{
			name: "a success through the loop, entered twice",
			entries: []Entry{ran("Init", "Pass", 0, "", true), ran("Provision", "Task", 1, "", true),
				ran("Active?", "Choice", 0, "", true), ran("Wait", "Wait", 0, "", true),
				ran("Provision", "Task", 1, "", true), ran("Active?", "Choice", 0, "", true),
				ran(`Say "done"`, "Pass", 0, "", true), ran("Done", "Succeed", 0, "", true)},
			lines: []string{`    Provision["Provision<br/>×2"]`, `    Active_{"Active?<br/>×2"}`, `    Init ==> Provision`,
				`    Active_ == "default" ==> Wait`, `    Wait ==> Provision`,
				`    Active_ == "$.results.loadBalancer.state == #quot;active#quot;" ==> Say__done_`,
				`    Done ==> finish`, `    Provision -. "catch States.ALL" .-> Rollback`, `    Failed --> finish`,
				`    class Init,Provision,Active_,Wait,Say__done_,Done visited`},
			not: []string{`    class Provision failed`},
		},
		{
			name: "a retried task, still running",
			entries: []Entry{ran("Init", "Pass", 0, "", true), ran("Provision", "Task", 3, "Throttled", true),
				ran("Active?", "Choice", 0, "", false)},
			lines: []string{`    Provision["Provision<br/>3 attempts"]`, `    Provision ==> Active_`,
				`    Provision -. "catch States.ALL" .-> Rollback`, `    class Init,Provision,Active_ visited`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Mermaid(provisionASL, tt.entries)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("Mermaid =\n%s\nwant\n%s", got, tt.want)
			}
			have := map[string]bool{}
			for _, l := range strings.Split(got, "\n") {
				have[l] = true
			}
			for _, l := range tt.lines {
				if !have[l] {
					t.Errorf("no line %q in\n%s", l, got)
				}
			}
			for _, l := range tt.not {
				if have[l] {
					t.Errorf("line %q in\n%s", l, got)
				}
			}
		})
	}
}

func TestMermaidNodeIDs(t *testing.T) {
	got, err := Mermaid(`{"StartAt": "A?", "States": {"A?": {"Type": "Pass", "Next": "A!"},
		"A!": {"Type": "Parallel", "Next": "end"}, "end": {"Type": "Map", "Next": "1st"},
		"1st": {"Type": "Pass", "Next": "start"}, "start": {"Type": "Pass", "End": true}}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{`A_["A?"]`, `A__2["A! (parallel)"]`, `s_end["end (map)"]`, `s_1st["1st"]`,
		`start_2["start"]`, `A_ --> A__2`, `start --> A_`, `start_2 --> finish`} {
		if !strings.Contains(got, "\n    "+l+"\n") {
			t.Errorf("no line %q in\n%s", l, got)
		}
	}
}

func TestMermaidRuleLabels(t *testing.T) {
	for rule, want := range map[string]string{
		`{"Variable": "$.x", "IsPresent": true}`:                              "$.x is present",
		`{"Variable": "$.x", "IsNull": false}`:                                "$.x is not null",
		`{"Variable": "$.ready", "BooleanEquals": true}`:                      "$.ready == true",
		`{"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.max"}`:        "$.n >= $.max",
		`{"Variable": "$.t", "TimestampLessThan": "2026-01-01T00:00:00Z"}`:    `$.t < "2026-01-01T00:00:00Z"`,
		`{"Variable": "$.results.loadBalancer.listeners", "IsPresent": true}`: "$.results.loadBalancer.listeners is pre…",
		`{"Condition": "{% $states.input.n > 1 %}"}`:                          "$states.input.n > 1",
		`{"Not": {"Variable": "$.x", "IsPresent": true}}`:                     "choice 3",
	} {
		var r map[string]json.RawMessage
		if err := json.Unmarshal([]byte(rule), &r); err != nil {
			t.Fatal(err)
		}
		if got := ruleLabel(r, 3); got != want {
			t.Errorf("ruleLabel(%s) = %q, want %q", rule, got, want)
		}
	}
}

func TestMermaidErrors(t *testing.T) {
	for _, def := range []string{`not json`, `{}`, `{"StartAt": "A", "States": {}}`, `{"StartAt": "A", "States": []}`,
		`{"StartAt": "B", "States": {"A": {"Type": "Succeed"}}}`, `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}`,
		`{"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "A": {"Type": "Fail"}}}`} {
		if _, err := Mermaid(def, nil); err == nil || !strings.HasPrefix(err.Error(), "read state machine definition: ") {
			t.Errorf("Mermaid(%s) error = %v", def, err)
		}
	}
}

// TestMermaidDeployedDefinitions draws every definition the project
// deploys: each top-level state gets a node, each Next an edge. Some
// placeholders stand unquoted for numbers, so each ${…} is filled with 1
// first, as the deployment does with real values.
func TestMermaidDeployedDefinitions(t *testing.T) {
	files, err := filepath.Glob("../../statemachine/*.asl.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no definitions: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			def := regexp.MustCompile(`\$\{[A-Za-z0-9_]+\}`).ReplaceAllString(string(data), "1")
			got, err := Mermaid(def, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, states, err := readDefinition(def)
			if err != nil {
				t.Fatal(err)
			}
			ids, used := map[string]string{}, map[string]bool{"start": true, "finish": true}
			for _, s := range states {
				ids[s.Name] = nodeID(s.Name, used)
			}
			for _, s := range states {
				id := ids[s.Name]
				if !strings.Contains(got, "\n    "+id+`["`+escape(s.Name)) && !strings.Contains(got, "\n    "+id+`{"`+escape(s.Name)) &&
					!strings.Contains(got, "\n    "+id+`(["`+escape(s.Name)) {
					t.Errorf("no node for %q (%s)", s.Name, id)
				}
				if s.Next != "" && !strings.Contains(got, "\n    "+id+" --> "+ids[s.Next]+"\n") {
					t.Errorf("no edge %s --> %s", id, ids[s.Next])
				}
			}
		})
	}
}
