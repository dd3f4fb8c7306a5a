// Package app is the one description of what autostop deploys: its Lambda
// functions, its Step Functions state machines (from the ASL files in
// statemachine/) and its EventBridge bus and rules. The CDK stack (infra/)
// and the local runner (shared/localdeploy) both read Description, so what
// runs locally and what is deployed to AWS cannot drift apart.
package app

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// NamePrefix starts the physical name of every resource the app deploys.
const NamePrefix = "autostop-"

// App is everything the system deploys.
type App struct {
	Functions     []Function
	StateMachines []StateMachine
	EventBuses    []EventBus
}

// Function is one Lambda function, built from functions/<Dir>.
type Function struct {
	// ID is the function's short name ("proxy", "validate"); its physical
	// name is NamePrefix+ID and its code is functions/<ID>.
	ID          string
	Description string
	TimeoutSec  int32
	MemoryMB    int32
	// Env is the function's static environment.
	Env map[string]string
}

// Name is the function's physical name.
func (f Function) Name() string { return NamePrefix + f.ID }

// StateMachine is a Standard workflow defined by an ASL file.
type StateMachine struct {
	// ID is the short name; the physical name is NamePrefix+ID.
	ID string
	// ASLFile is the definition, relative to the repository root.
	ASLFile string
	// Substitutions fill the ${Name} placeholders of the ASL file.
	Substitutions map[string]Value
}

// Name is the state machine's physical name.
func (s StateMachine) Name() string { return NamePrefix + s.ID }

// Value is a substitution: a literal, or the ARN of one of the app's
// functions or state machines, which the deployer resolves.
type Value struct {
	Literal      string
	FunctionARN  string // a Function.ID
	StateMachine string // a StateMachine.ID
}

// EventBus is a custom bus and the rules on it.
type EventBus struct {
	Name  string
	Rules []Rule
}

// Rule starts a state machine for matching events.
type Rule struct {
	ID          string
	Description string
	// Pattern is the event pattern, as JSON.
	Pattern string
	// TargetStateMachine is a StateMachine.ID.
	TargetStateMachine string
}

// Name is the rule's physical name.
func (r Rule) Name() string { return NamePrefix + r.ID }

// Description returns the app.
func Description() App {
	return App{
		Functions: []Function{
			{
				ID:          "proxy",
				Description: "Proxy manager behind the ALB's default rule: starts stopped workloads and shows the progress page",
				TimeoutSec:  30,
				MemoryMB:    128,
			},
		},
	}
}

// Function returns the function with the given ID.
func (a App) Function(id string) (Function, bool) {
	for _, f := range a.Functions {
		if f.ID == id {
			return f, true
		}
	}

	return Function{}, false
}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Placeholders returns the ${…} names used in an ASL document, sorted.
func Placeholders(asl string) []string {
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(asl, -1) {
		seen[m[1]] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)

	return out
}

// Substitute replaces every ${Name} in asl with values[Name], as Step
// Functions' DefinitionSubstitutions does. A placeholder without a value, or
// a value without a placeholder, is an error.
func Substitute(asl string, values map[string]string) (string, error) {
	used := map[string]bool{}
	var missing []string

	out := placeholder.ReplaceAllStringFunc(asl, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		used[name] = true

		return v
	})

	var unused []string
	for k := range values {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)

	if len(missing) > 0 || len(unused) > 0 {
		return "", fmt.Errorf("substitute ASL: no value for %v, unused values %v", missing, unused)
	}

	return out, nil
}

// ReadASL reads a state machine's definition from the repository.
func (s StateMachine) ReadASL(repoRoot string) (string, error) {
	b, err := os.ReadFile(filepath.Join(repoRoot, s.ASLFile))
	if err != nil {
		return "", fmt.Errorf("read ASL of %s: %w", s.ID, err)
	}

	return strings.TrimSpace(string(b)), nil
}
