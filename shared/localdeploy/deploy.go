// Package localdeploy deploys the app (shared/app) onto the local backend:
// each table is created as CDK creates it, each function is created in kumo
// and its built binary started against the Lambda Runtime API, each state
// machine is created from its ASL file with the same substitutions CDK
// applies, the event buses and rules are created with their targets, and
// each schedule is a rule on the default bus invoking its function.
//
// The backend must run with BackendOptions, so that the schedules fire at
// app.LocalScheduleScale.
package localdeploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/localaws"
)

// StatesRoleARN is the role the local state machines and event rules are
// created with; kumo does not evaluate IAM.
const StatesRoleARN = "arn:aws:iam::" + localaws.AccountID + ":role/autostop-local-states"

// ScheduleScaleEnv is kumo's setting (patch 0020) that runs schedule
// expressions faster than real time.
const ScheduleScaleEnv = "KUMO_EVENTBRIDGE_SCHEDULE_SCALE"

// BackendOptions returns opts with what the app needs of the local backend:
// its schedules run app.LocalScheduleScale times faster (the idle
// watcher's rate(1 minute) every second), matching the app's local timings
// (app.IdlePeriod, app.IdleUnit). Whatever runs the whole app locally
// starts the backend with it (make up, make demo, the end-to-end tests), so
// they all agree. A scale already in opts.KumoEnv is kept. Realistic
// timing is on when opts asks or AUTOSTOP_REALISTIC_TIMING does.
func BackendOptions(opts localaws.Options) localaws.Options {
	env := make(map[string]string, len(opts.KumoEnv)+1)
	for k, v := range opts.KumoEnv {
		env[k] = v
	}
	if _, ok := env[ScheduleScaleEnv]; !ok {
		env[ScheduleScaleEnv] = strconv.Itoa(app.LocalScheduleScale)
	}
	opts.KumoEnv = env
	// AWS's delays and eventual consistency, when the one switch asks.
	opts.RealisticTiming = opts.RealisticTiming || localaws.RealisticTimingFromEnv()

	return opts
}

// LocalSeconds is a Timing's local value (app.Value.Local, else its
// Literal), a number of seconds, as a duration: app.IdlePeriod is the
// period the local ALB front publishes RequestCount with.
func LocalSeconds(v app.Value) (time.Duration, error) {
	s := v.Local
	if s == "" {
		s = v.Literal
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("local timing %q: want a positive number of seconds", s)
	}

	return time.Duration(n) * time.Second, nil
}

// Options configures Deploy.
type Options struct {
	// RepoRoot holds statemachine/ (the ASL files).
	RepoRoot string
	// BinDir holds one <function ID>/bootstrap per function, built for this
	// machine (`make local-functions` writes .build/local).
	BinDir string
}

// Deployed names what Deploy created.
type Deployed struct {
	FunctionARNs     map[string]string // by function ID
	StateMachineARNs map[string]string // by state machine ID
	RuleARNs         map[string]string // by rule ID
	ScheduleARNs     map[string]string // by schedule ID: the rule's ARN
	TableNames       map[string]string // by table ID
}

// Deploy puts the app onto the backend. Functions start in parallel; Deploy
// returns once every one of them polls the runtime API.
func Deploy(ctx context.Context, b *localaws.Backend, a app.App, opts Options) (*Deployed, error) {
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}

	out := &Deployed{FunctionARNs: map[string]string{}, StateMachineARNs: map[string]string{}, RuleARNs: map[string]string{}, ScheduleARNs: map[string]string{}, TableNames: map[string]string{}}
	db := dynamodb.NewFromConfig(cfg)
	for _, t := range a.Tables {
		if err := CreateTable(ctx, db, t); err != nil {
			return nil, fmt.Errorf("deploy app locally: %w", err)
		}
		out.TableNames[t.ID] = t.Name()
	}
	// ARNs follow from names, so a function's environment can name a
	// state machine created after it.
	for _, f := range a.Functions {
		out.FunctionARNs[f.ID] = FunctionARN(b.Region(), f.Name())
	}
	for _, sm := range a.StateMachines {
		out.StateMachineARNs[sm.ID] = StateMachineARN(b.Region(), sm.Name())
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	for _, f := range a.Functions {
		env, err := out.environment(f)
		if err != nil {
			fail(err)
			continue
		}
		wg.Go(func() {
			cfg := localaws.FunctionConfig{
				Name: f.Name(), Description: f.Description, TimeoutSec: f.TimeoutSec, MemoryMB: f.MemoryMB, Env: env,
				Tags:         map[string]string{"autostop:component": f.ID},
				MaxProcesses: f.LocalConcurrency,
			}
			if err := b.DeployFunction(ctx, cfg, filepath.Join(opts.BinDir, f.ID, "bootstrap")); err != nil {
				fail(err)
			}
		})
	}

	states := sfn.NewFromConfig(cfg)
	for _, sm := range a.StateMachines {
		arn, err := createStateMachine(ctx, states, sm, opts.RepoRoot, out)
		if err != nil {
			fail(err)
			continue
		}
		out.StateMachineARNs[sm.ID] = arn
	}

	wg.Wait()

	events, functions := eventbridge.NewFromConfig(cfg), lambda.NewFromConfig(cfg)
	for _, bus := range a.EventBuses {
		if err := createBus(ctx, events, functions, bus, out); err != nil {
			fail(err)
		}
	}
	// Last, once every function polls: the first run comes one interval
	// (scaled) after the rule is put.
	for _, s := range a.Schedules {
		if err := createSchedule(ctx, events, functions, s, out); err != nil {
			fail(err)
		}
	}

	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("deploy app locally: %w", err)
	}

	return out, nil
}

// environment is a function's static environment plus its resolved EnvRefs.
func (d *Deployed) environment(f app.Function) (map[string]string, error) {
	env := make(map[string]string, len(f.Env)+len(f.EnvRefs))
	for k, v := range f.Env {
		env[k] = v
	}
	for k, ref := range f.EnvRefs {
		v, err := d.Resolve(ref)
		if err != nil {
			return nil, fmt.Errorf("function %s, environment %s: %w", f.ID, k, err)
		}
		env[k] = v
	}

	return env, nil
}

// StateMachineARN is a state machine's ARN in the local account.
func StateMachineARN(region, name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", region, localaws.AccountID, name)
}

// FunctionARN is a function's unqualified ARN in the local account.
func FunctionARN(region, name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, localaws.AccountID, name)
}

// Resolve turns a substitution into its local value.
func (d *Deployed) Resolve(v app.Value) (string, error) {
	switch {
	case v.FunctionARN != "":
		arn, ok := d.FunctionARNs[v.FunctionARN]
		if !ok {
			return "", fmt.Errorf("no function %q in the app", v.FunctionARN)
		}
		return arn, nil
	case v.StateMachine != "":
		arn, ok := d.StateMachineARNs[v.StateMachine]
		if !ok {
			return "", fmt.Errorf("state machine %q is not deployed (yet)", v.StateMachine)
		}
		return arn, nil
	case v.Table != "":
		name, ok := d.TableNames[v.Table]
		if !ok {
			return "", fmt.Errorf("no table %q in the app", v.Table)
		}
		return name, nil
	case v.Local != "":
		return v.Local, nil
	default:
		return v.Literal, nil
	}
}

// CreateTable creates a table of the app as the CDK stack declares it:
// on-demand, encrypted with the AWS managed key, tagged with its component.
// (kumo has no point-in-time recovery to turn on.)
func CreateTable(ctx context.Context, db *dynamodb.Client, t app.Table) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(t.Name()),
		BillingMode:          dbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String(t.PartitionKey), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String(t.PartitionKey), KeyType: dbtypes.KeyTypeHash}},
		SSESpecification:     &dbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: dbtypes.SSETypeKms},
		Tags:                 []dbtypes.Tag{{Key: aws.String("autostop:component"), Value: aws.String(t.ID)}},
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", t.Name(), err)
	}

	return nil
}

func createStateMachine(ctx context.Context, states *sfn.Client, sm app.StateMachine, root string, d *Deployed) (string, error) {
	asl, err := sm.ReadASL(root)
	if err != nil {
		return "", err
	}

	values := map[string]string{}
	for k, v := range sm.Substitutions {
		if values[k], err = d.Resolve(v); err != nil {
			return "", fmt.Errorf("state machine %s, substitution %s: %w", sm.ID, k, err)
		}
	}
	def, err := app.Substitute(asl, values)
	if err != nil {
		return "", fmt.Errorf("state machine %s: %w", sm.ID, err)
	}

	created, err := states.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(sm.Name()),
		Definition: aws.String(def),
		RoleArn:    aws.String(StatesRoleARN),
		Type:       sfntypes.StateMachineTypeStandard,
		Tags:       []sfntypes.Tag{{Key: aws.String("autostop:component"), Value: aws.String(sm.ID)}},
	})
	if err != nil {
		return "", fmt.Errorf("create state machine %s: %w", sm.Name(), err)
	}

	return aws.ToString(created.StateMachineArn), nil
}

func createBus(ctx context.Context, events *eventbridge.Client, functions *lambda.Client, bus app.EventBus, d *Deployed) error {
	if _, err := events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus.Name)}); err != nil {
		return fmt.Errorf("create event bus %s: %w", bus.Name, err)
	}

	for _, r := range bus.Rules {
		rule, err := events.PutRule(ctx, &eventbridge.PutRuleInput{
			Name: aws.String(r.Name()), EventBusName: aws.String(bus.Name),
			Description: aws.String(r.Description), EventPattern: aws.String(r.Pattern),
			State: ebtypes.RuleStateEnabled,
		})
		if err != nil {
			return fmt.Errorf("put rule %s on %s: %w", r.Name(), bus.Name, err)
		}
		d.RuleARNs[r.ID] = aws.ToString(rule.RuleArn)

		target := ebtypes.Target{Id: aws.String(r.ID)}
		if r.TargetFunction != "" {
			arn, err := allowRule(ctx, functions, r.ID, r.TargetFunction, aws.ToString(rule.RuleArn), d)
			if err != nil {
				return fmt.Errorf("rule %s: %w", r.Name(), err)
			}
			target.Arn = aws.String(arn)
		} else {
			arn, err := d.Resolve(app.Value{StateMachine: r.TargetStateMachine})
			if err != nil {
				return fmt.Errorf("rule %s: %w", r.ID, err)
			}
			target.Arn, target.RoleArn = aws.String(arn), aws.String(StatesRoleARN)
		}
		if _, err := events.PutTargets(ctx, &eventbridge.PutTargetsInput{
			Rule: aws.String(r.Name()), EventBusName: aws.String(bus.Name), Targets: []ebtypes.Target{target},
		}); err != nil {
			return fmt.Errorf("put target of rule %s: %w", r.Name(), err)
		}
	}

	return nil
}

// createSchedule puts a schedule as a rule on the default bus, allows it to
// invoke its function, and targets the function.
func createSchedule(ctx context.Context, events *eventbridge.Client, functions *lambda.Client, s app.Schedule, d *Deployed) error {
	rule, err := events.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String(s.Name()), Description: aws.String(s.Description),
		ScheduleExpression: aws.String(s.Expression), State: ebtypes.RuleStateEnabled,
	})
	if err != nil {
		return fmt.Errorf("put schedule %s (%s): %w", s.Name(), s.Expression, err)
	}
	d.ScheduleARNs[s.ID] = aws.ToString(rule.RuleArn)

	arn, err := allowRule(ctx, functions, s.ID, s.TargetFunction, aws.ToString(rule.RuleArn), d)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", s.Name(), err)
	}
	if _, err := events.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(s.Name()), Targets: []ebtypes.Target{{Id: aws.String(s.ID), Arn: aws.String(arn)}},
	}); err != nil {
		return fmt.Errorf("put target of schedule %s: %w", s.Name(), err)
	}

	return nil
}

// allowRule lets the rule ruleARN (a bus rule's or a schedule's, of the
// given ID) invoke the function, as AWS requires of EventBridge, and
// returns the function's ARN.
func allowRule(ctx context.Context, functions *lambda.Client, id, function, ruleARN string, d *Deployed) (string, error) {
	arn, err := d.Resolve(app.Value{FunctionARN: function})
	if err != nil {
		return "", err
	}
	if _, err := functions.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(arn), StatementId: aws.String("events-" + id), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("events.amazonaws.com"), SourceArn: aws.String(ruleARN),
	}); err != nil {
		return "", fmt.Errorf("allow %s to invoke %s: %w", ruleARN, function, err)
	}

	return arn, nil
}
