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
	"strconv"

	"strings"

	"github.com/autostop/autostop/shared/rulestore"
)

// NamePrefix starts the physical name of every resource the app deploys.
const NamePrefix = "autostop-"

// App is everything the system deploys.
type App struct {
	Functions     []Function
	StateMachines []StateMachine
	EventBuses    []EventBus
	Tables        []Table
	// Schedules are EventBridge rules on the default bus that invoke a
	// function on a schedule.
	Schedules []Schedule
}

// Table is a DynamoDB table: on-demand capacity, encrypted at rest with an
// AWS managed key, point-in-time recovery on (on AWS; the local backend has
// no backups), kept when the stack is deleted (it holds the users' rules).
type Table struct {
	// ID is the short name; the physical name is NamePrefix+ID.
	ID          string
	Description string
	// PartitionKey is the name of the table's only key attribute, a
	// string.
	PartitionKey string
}

// Name is the table's physical name.
func (t Table) Name() string { return NamePrefix + t.ID }

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
	// EnvRefs are environment variables whose values are ARNs of the app's
	// own resources, resolved by the deployer.
	EnvRefs map[string]Value
	// LocalConcurrency is how many processes of the function the local
	// runner may run at once (one invocation each, as Lambda's execution
	// environments); 0 takes the runner's default. On AWS the account's
	// concurrency applies.
	LocalConcurrency int
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
// functions or state machines, or the name of one of its tables, which the
// deployer resolves.
type Value struct {
	Literal string
	// Local replaces Literal on the local backend, whose executions are cut
	// off after 5 minutes (kumo gap 10): wait loops there use short waits.
	Local        string
	FunctionARN  string // a Function.ID
	StateMachine string // a StateMachine.ID
	Table        string // a Table.ID: its name
}

// Timing is a numeric substitution with its AWS and local values.
func Timing(aws, local int) Value {
	return Value{Literal: strconv.Itoa(aws), Local: strconv.Itoa(local)}
}

// EventBus is a custom bus and the rules on it.
type EventBus struct {
	Name  string
	Rules []Rule
}

// Rule sends matching events to a state machine or a function (exactly one).
type Rule struct {
	ID          string
	Description string
	// Pattern is the event pattern, as JSON.
	Pattern string
	// TargetStateMachine is a StateMachine.ID.
	TargetStateMachine string
	// TargetFunction is a Function.ID.
	TargetFunction string
}

// Name is the rule's physical name.
func (r Rule) Name() string { return NamePrefix + r.ID }

// ProvisionLoadBalancer is the ID of the provisioning state machine.
const ProvisionLoadBalancer = "provision-load-balancer"

// RulesTable is the ID of the rules table.
const RulesTable = "rules"

// Description returns the app: the provisioning workflow, the rules table,
// and the parts each later workflow adds (one file each).
func Description() App {
	return join(provisioning(), wake(), rules(), sleep(), teardown(), proxyUpdate())
}

// step is a workflow step's function: 128 MB, the given timeout, and
// environment variables naming the app's own resources.
func step(id, description string, timeout int32, env map[string]Value) Function {
	return Function{ID: id, Description: description, TimeoutSec: timeout, MemoryMB: 128, EnvRefs: env}
}

// rulesTableEnv names the rules table for the functions that use it.
func rulesTableEnv() map[string]Value {
	return map[string]Value{rulestore.EnvTableName: {Table: RulesTable}}
}

// join merges parts of the app; buses of the same name merge their rules.
func join(parts ...App) App {
	var out App
	for _, p := range parts {
		out.Functions = append(out.Functions, p.Functions...)
		out.StateMachines = append(out.StateMachines, p.StateMachines...)
		out.Tables = append(out.Tables, p.Tables...)
		out.Schedules = append(out.Schedules, p.Schedules...)
	next:
		for _, bus := range p.EventBuses {
			for i := range out.EventBuses {
				if out.EventBuses[i].Name == bus.Name {
					out.EventBuses[i].Rules = append(out.EventBuses[i].Rules, bus.Rules...)
					continue next
				}
			}
			out.EventBuses = append(out.EventBuses, EventBus{Name: bus.Name, Rules: append([]Rule(nil), bus.Rules...)})
		}
	}

	return out
}

// provisioning is the ProvisionLoadBalancer workflow, its functions and the
// rules table. (Its event starter moved to rules(): events start AttachRule,
// which provisions through a nested execution.)
func provisioning() App {
	return App{
		Functions: []Function{
			step("validate", "ProvisionLoadBalancer: checks the request before anything is created", 30, nil),
			step("ensure-load-balancer", "ProvisionLoadBalancer: finds, adopts or creates the ALB", 60, nil),
			{
				ID: "ensure-proxy-target", Description: "ProvisionLoadBalancer: proxy function alias, Lambda target group, invoke permission",
				TimeoutSec: 60, MemoryMB: 128, Env: map[string]string{"PROXY_FUNCTION_NAME": NamePrefix + "proxy"},
				// RegisterTargets is tried again while a new invoke
				// permission propagates (30 s; 3 s locally).
				EnvRefs: map[string]Value{"PERMISSION_WAIT_SECONDS": Timing(30, 3)},
			},
			step("ensure-certificate", "ProvisionLoadBalancer: attaches or issues the ACM certificate", 60, nil),
			step("ensure-listeners", "ProvisionLoadBalancer: HTTPS and HTTP listeners", 60, nil),
			step("ensure-dns", "ProvisionLoadBalancer: wildcard record in Route 53, or the CNAME to add", 60, nil),
			step("rollback", "ProvisionLoadBalancer: deletes what a failed execution created", 300, nil),
		},
		Tables: []Table{{
			ID:           RulesTable,
			Description:  "AutoStopping rules, one item per host: the rule, its state and what autostop created for it",
			PartitionKey: rulestore.PartitionKey,
		}},
		StateMachines: []StateMachine{{
			ID:      ProvisionLoadBalancer,
			ASLFile: "statemachine/provision-load-balancer.asl.json",
			Substitutions: map[string]Value{
				"ValidateFunctionArn":           {FunctionARN: "validate"},
				"EnsureLoadBalancerFunctionArn": {FunctionARN: "ensure-load-balancer"},
				"EnsureProxyTargetFunctionArn":  {FunctionARN: "ensure-proxy-target"},
				"EnsureCertificateFunctionArn":  {FunctionARN: "ensure-certificate"},
				"EnsureListenersFunctionArn":    {FunctionARN: "ensure-listeners"},
				"EnsureDnsFunctionArn":          {FunctionARN: "ensure-dns"},
				"RollbackFunctionArn":           {FunctionARN: "rollback"},
				// What this execution just created is visible to another
				// service a while later (a new certificate to ELB, an invoke
				// permission to a Lambda target): NotPropagated is retried
				// every 10 s for 3 minutes (every second for 15 s locally).
				"PropagationRetrySeconds": Timing(10, 1),
				"PropagationMaxAttempts":  Timing(18, 15),
				// ALBs take about 3 minutes to become active: the first
				// check after 150 s, then every 15 s, for up to 10 minutes
				// (each check is 3 state transitions: checking every 15 s
				// from the start cost ~36 for the ALB alone). Locally
				// (realistic timing: 3 s) 2 s, then every second.
				"LoadBalancerFirstWaitSeconds": Timing(150, 2),
				"LoadBalancerWaitSeconds":      Timing(15, 1),
				"LoadBalancerMaxAttempts":      Timing(30, 30),
				// Route 53 validation usually completes within 30 minutes,
				// other DNS providers can take hours: back off from 30 s to
				// 10 minutes, for up to ~24 hours (well under the 25,000
				// history events of a Standard execution).
				// Locally (scaled like the other loops against realistic
				// timing's 2 s record delay and 3 s issue delay): 2 s, then 4 s.
				"CertificateWaitSeconds":    Timing(30, 2),
				"CertificateMaxWaitSeconds": Timing(600, 4),
				"CertificateMaxAttempts":    Timing(150, 60),
				// INSYNC normally within 60 s: first check after 40 s, then
				// every 10 s (locally, realistic timing 2 s: 2 s, then 1 s).
				"DnsFirstWaitSeconds": Timing(40, 2),
				"DnsWaitSeconds":      Timing(10, 1),
				"DnsMaxAttempts":      Timing(60, 30),
				// The rollback's deletes AWS refuses for a while (a security
				// group the deleted ALB's network interfaces still use, a
				// certificate released moments ago: up to ~10 minutes) are
				// tried again every 30 s for 15 minutes.
				"RollbackWaitSeconds": Timing(30, 1),
				"RollbackMaxAttempts": Timing(30, 20),
			},
		}},
	}
}

// Table returns the table with the given ID.
func (a App) Table(id string) (Table, bool) {
	for _, t := range a.Tables {
		if t.ID == id {
			return t, true
		}
	}

	return Table{}, false
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
