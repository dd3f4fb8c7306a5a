// Package statemachine holds the Amazon States Language definitions, the
// single source of truth for both the CDK stack and the local backend. Its
// tests check the rules every workflow follows.
package statemachine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/steperr"
)

// lambdaServiceErrors must be retried by every Task (DESIGN.md, Retries).
var lambdaServiceErrors = []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}

type state struct {
	Type    string
	Comment string
	Next    string
	End     bool
	Default string
	Choices []struct{ Next string }
	Retry   []struct{ ErrorEquals []string }
	Catch   []struct {
		ErrorEquals []string
		Next        string
	}
}

type machine struct {
	Comment string
	StartAt string
	States  map[string]state
}

// load reads an ASL file with every ${…} placeholder filled with a number,
// so the document parses as JSON.
func load(t *testing.T, path string) machine {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, p := range app.Placeholders(string(raw)) {
		values[p] = "1"
	}
	doc, err := app.Substitute(string(raw), values)
	if err != nil {
		t.Fatal(err)
	}
	var m machine
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("%s is not valid JSON after substitution: %v", path, err)
	}

	return m
}

func aslFiles(t *testing.T) []string {
	files, err := filepath.Glob("*.asl.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no ASL files: %v", err)
	}

	return files
}

func TestEveryTaskRetriesAndCatches(t *testing.T) {
	known := append([]string{"States.ALL", "States.TaskFailed", "States.Timeout"}, lambdaServiceErrors...)
	known = append(known, steperr.Names...)

	for _, file := range aslFiles(t) {
		m := load(t, file)
		for name, s := range m.States {
			if s.Type != "Task" {
				continue
			}
			var retried []string
			for _, r := range s.Retry {
				retried = append(retried, r.ErrorEquals...)
			}
			for _, e := range append(lambdaServiceErrors, "Throttled") {
				if !slices.Contains(retried, e) {
					t.Errorf("%s: Task %s does not retry %s", file, name, e)
				}
			}
			catchesAll := false
			for _, c := range s.Catch {
				catchesAll = catchesAll || slices.Contains(c.ErrorEquals, "States.ALL")
			}
			if !catchesAll {
				t.Errorf("%s: Task %s has no Catch for States.ALL", file, name)
			}
			for _, r := range s.Retry {
				for _, e := range r.ErrorEquals {
					if !slices.Contains(known, e) {
						t.Errorf("%s: Task %s retries %q, which no step returns (steperr.Names)", file, name, e)
					}
				}
			}
			for _, c := range s.Catch {
				for _, e := range c.ErrorEquals {
					if !slices.Contains(known, e) {
						t.Errorf("%s: Task %s catches %q, which no step returns", file, name, e)
					}
				}
			}
		}
	}
}

func TestStatesAreCommentedAndConnected(t *testing.T) {
	for _, file := range aslFiles(t) {
		m := load(t, file)
		if m.Comment == "" {
			t.Errorf("%s has no top-level Comment", file)
		}
		reached := map[string]bool{}
		var walk func(string)
		walk = func(name string) {
			if name == "" || reached[name] {
				return
			}
			s, ok := m.States[name]
			if !ok {
				t.Errorf("%s: transition to missing state %q", file, name)
				return
			}
			reached[name] = true
			walk(s.Next)
			walk(s.Default)
			for _, c := range s.Choices {
				walk(c.Next)
			}
			for _, c := range s.Catch {
				walk(c.Next)
			}
		}
		walk(m.StartAt)
		for name, s := range m.States {
			if strings.TrimSpace(s.Comment) == "" {
				t.Errorf("%s: state %s has no Comment (Workflow Studio shows it)", file, name)
			}
			if !reached[name] {
				t.Errorf("%s: state %s is unreachable", file, name)
			}
			terminal := s.End || s.Type == "Succeed" || s.Type == "Fail" || s.Type == "Choice"
			if !terminal && s.Next == "" {
				t.Errorf("%s: state %s has neither Next nor End", file, name)
			}
		}
	}
}
