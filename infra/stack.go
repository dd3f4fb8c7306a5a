package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/ownership"
)

// StackName is the CloudFormation stack's name.
const StackName = "Autostop"

// Context keys (cdk.json or `cdk deploy -c key=value`).
const (
	// ContextLogRetentionDays is the retention of every log group, in days
	// (a CloudWatch Logs value: 1, 3, 5, 7, 14, 30, 60, 90, …). Default 30.
	ContextLogRetentionDays = "logRetentionDays"
	// ContextHostedZoneID limits the Route 53 permissions to one hosted
	// zone. Default "*": any zone of the account.
	ContextHostedZoneID = "hostedZoneId"
	// ContextDNSDomain limits the Route 53 records the steps may change to
	// names under one domain (the condition key
	// route53:ChangeResourceRecordSetsNormalizedRecordNames): every
	// request's domain must then be this one or below it. Default: none
	// (any name of the allowed zones).
	ContextDNSDomain = "dnsDomain"

	// Elsewhere: ContextAlarmEmail (alarms.go) sends the alarms to an
	// e-mail address; ContextProxyReservedConcurrency (concurrency.go);
	// ContextFunctionVpcID, ContextFunctionSubnetIDs and
	// ContextFunctionAvailabilityZones (vpc.go) put the functions in an
	// existing VPC. Default: no VPC.
)

// ReservedConcurrency is the reserved concurrency of every function: none,
// by decision (issue 6, item 2); the proxy's can be set with the context
// ContextProxyReservedConcurrency. No step has to be kept from running twice
// at once:
//   - every step is idempotent and tells its resources from others' by the
//     ownership tags of the create call, so two executions for the same
//     load balancer converge (the second adopts what the first created) and
//     two executions for different ones never touch the same resource;
//   - rollback deletes only what carries its own execution's tag, so two
//     rollbacks never compete for a resource. The one real race — execution
//     A's rollback deleting the ALB that execution B adopted meanwhile — is
//     between two different functions (rollback and B's ensure-*), keyed by
//     load balancer name; Lambda's reserved concurrency is per function and
//     not per key, so it cannot prevent it. (B then fails and rolls back
//     its own part, or, if B had already succeeded, its ALB is gone; running
//     B's request again recreates it.) Closing that race takes a per-name
//     lock or a rollback that spares an ALB another execution adopted, not
//     concurrency;
//   - a reservation of 1 would serialize every load balancer of the account
//     behind one another (throttled invocations retried by the state
//     machine), and reserving any concurrency fails to deploy in accounts
//     whose concurrency quota is still the new-account 10 (Lambda keeps 10
//     unreserved).
//
// A test checks that no function sets ReservedConcurrentExecutions.
const ReservedConcurrency = 0

// Config is what the stack is built from.
type Config struct {
	// RepoRoot holds functions' assets (.build/lambda/<id>/bootstrap) and
	// the ASL files.
	RepoRoot string
	App      app.App
}

// Stack is the deployed app, with its parts for tests.
type Stack struct {
	Stack     awscdk.Stack
	Functions map[string]awslambda.Function
	// FunctionSecurityGroup is the functions' security group when they run
	// in a VPC (context functionVpcId), else nil.
	FunctionSecurityGroup awsec2.SecurityGroup
	StateMachines         map[string]awsstepfunctions.StateMachine
	DeadLetters           awssqs.Queue
	// DeadLetterAlarm fires when the dead-letter queue holds a message.
	DeadLetterAlarm awscloudwatch.Alarm
	Tables          map[string]awsdynamodb.Table
	// Alarms are every alarm of the stack (alarms.go); AlarmTopic, which
	// they notify, exists with the context alarmEmail only.
	Alarms     []awscloudwatch.Alarm
	AlarmTopic awssns.Topic
}

var retention = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// contextString reads a context value, or def.
func contextString(scope constructs.Construct, key, def string) string {
	v := scope.Node().TryGetContext(jsii.String(key))
	if v == nil {
		return def
	}

	return strings.TrimSpace(fmt.Sprint(v))
}

func logRetention(scope constructs.Construct) (awslogs.RetentionDays, error) {
	s := contextString(scope, ContextLogRetentionDays, "30")
	days, err := strconv.ParseFloat(s, 64)
	r, ok := retention[int(days)]
	if err != nil || !ok || days != float64(int(days)) {
		valid := make([]int, 0, len(retention))
		for d := range retention {
			valid = append(valid, d)
		}
		sort.Ints(valid)

		return "", fmt.Errorf("context %s=%q: want one of %v", ContextLogRetentionDays, s, valid)
	}

	return r, nil
}

// AssetDir is where `make functions` puts a function's bootstrap.
func AssetDir(repoRoot, functionID string) string {
	return filepath.Join(repoRoot, ".build", "lambda", functionID)
}

// NewStack builds the Autostop stack from the app description.
func NewStack(scope constructs.Construct, id string, cfg Config, props *awscdk.StackProps) (*Stack, error) {
	for _, f := range cfg.App.Functions {
		if _, err := os.Stat(filepath.Join(AssetDir(cfg.RepoRoot, f.ID), "bootstrap")); err != nil {
			return nil, fmt.Errorf("function %s has no arm64 bootstrap (%w): run `make functions` first", f.ID, err)
		}
	}
	keep, err := logRetention(scope)
	if err != nil {
		return nil, err
	}
	vpc, err := readFunctionVPC(func(k string) any { return scope.Node().TryGetContext(jsii.String(k)) })
	if err != nil {
		return nil, err
	}
	proxyReserved, err := readProxyReservedConcurrency(func(k string) any { return scope.Node().TryGetContext(jsii.String(k)) })
	if err != nil {
		return nil, err
	}

	if props == nil {
		props = &awscdk.StackProps{}
	}
	if props.Description == nil {
		props.Description = jsii.String("autostop: AutoStopping for idle workloads (functions, ProvisionLoadBalancer workflow, autostop event bus, rules table)")
	}
	s := &Stack{
		Stack:         awscdk.NewStack(scope, jsii.String(id), props),
		Functions:     map[string]awslambda.Function{},
		StateMachines: map[string]awsstepfunctions.StateMachine{},
		Tables:        map[string]awsdynamodb.Table{},
	}
	zone := contextString(s.Stack, ContextHostedZoneID, "*")
	zone = strings.TrimPrefix(zone, "/hostedzone/")
	domain, err := readDNSDomain(contextString(s.Stack, ContextDNSDomain, ""))
	if err != nil {
		return nil, err
	}
	alarmEmail, err := readAlarmEmail(contextString(s.Stack, ContextAlarmEmail, ""))
	if err != nil {
		return nil, err
	}

	tables := constructs.NewConstruct(s.Stack, jsii.String("Tables"))
	tableARNs := map[string]string{}
	for _, t := range cfg.App.Tables {
		s.Tables[t.ID] = newTable(tables, s.Stack, t)
		tableARNs[TablePlaceholder(t.ID)] = *s.Tables[t.ID].TableArn()
	}

	functions := constructs.NewConstruct(s.Stack, jsii.String("Functions"))
	var network *functionNetwork
	if vpc != nil {
		network = newFunctionNetwork(functions, *vpc)
		s.FunctionSecurityGroup = network.securityGroup
	}
	for _, f := range cfg.App.Functions {
		s.Functions[f.ID] = newFunction(functions, f, cfg.RepoRoot, keep, GrantScope{Zone: zone, Domain: domain, Tables: tableARNs}, network)
		if f.ID == ProxyFunctionID && proxyReserved > 0 {
			fn := s.Functions[f.ID].Node().DefaultChild().(awslambda.CfnFunction)
			fn.SetReservedConcurrentExecutions(jsii.Number(float64(proxyReserved)))
		}
	}

	machines := constructs.NewConstruct(s.Stack, jsii.String("StateMachines"))
	for _, sm := range cfg.App.StateMachines {
		m, err := s.newStateMachine(machines, sm, cfg.RepoRoot, keep)
		if err != nil {
			return nil, err
		}
		s.StateMachines[sm.ID] = m
	}

	// EnvRefs, now that every ARN exists.
	for _, f := range cfg.App.Functions {
		refs := make([]string, 0, len(f.EnvRefs))
		for k := range f.EnvRefs {
			refs = append(refs, k)
		}
		sort.Strings(refs)
		for _, k := range refs {
			arn, err := s.arn(f.EnvRefs[k])
			if err != nil {
				return nil, fmt.Errorf("function %s: env %s: %w", f.ID, k, err)
			}
			s.Functions[f.ID].AddEnvironment(jsii.String(k), arn, nil)
		}
	}

	if err := s.newEvents(constructs.NewConstruct(s.Stack, jsii.String("Events")), cfg.App.EventBuses, cfg.App.Schedules); err != nil {
		return nil, err
	}
	s.newAlarms(constructs.NewConstruct(s.Stack, jsii.String("Alarms")), alarmEmail)

	return s, nil
}

// arn resolves a reference to one of the app's own resources (a table's
// name, the ARN of anything else).
func (s *Stack) arn(v app.Value) (*string, error) {
	switch {
	case v.FunctionARN != "":
		if f, ok := s.Functions[v.FunctionARN]; ok {
			return f.FunctionArn(), nil
		}

		return nil, fmt.Errorf("no function %q", v.FunctionARN)
	case v.StateMachine != "":
		if m, ok := s.StateMachines[v.StateMachine]; ok {
			return m.StateMachineArn(), nil
		}

		return nil, fmt.Errorf("no state machine %q", v.StateMachine)
	case v.Table != "":
		if t, ok := s.Tables[v.Table]; ok {
			return t.TableName(), nil
		}

		return nil, fmt.Errorf("no table %q", v.Table)
	case v.Literal != "":
		return jsii.String(v.Literal), nil
	}

	return nil, errors.New("empty value")
}

// arnPattern fills the ${…} of a permission's resource pattern; tables maps
// a table placeholder ("RulesTable", see TablePlaceholder) to its ARN.
func arnPattern(stack awscdk.Stack, pattern, zone string, tables map[string]string) *string {
	pairs := []string{
		"${AWS::Partition}", *stack.Partition(),
		"${AWS::Region}", *stack.Region(),
		"${AWS::AccountId}", *stack.Account(),
		"${HostedZone}", zone,
	}
	for name, arn := range tables {
		pairs = append(pairs, "${"+name+"}", arn)
	}

	return jsii.String(strings.NewReplacer(pairs...).Replace(pattern))
}

// TablePlaceholder is how a grant's resource names one of the app's tables:
// "${RulesTable}" for the table "rules", filled with its ARN.
func TablePlaceholder(tableID string) string { return cfnID(tableID) + "Table" }

// GrantScope is what the stack fills a grant's patterns and conditions
// with.
type GrantScope struct {
	// Zone is the hosted zone of ${HostedZone} (context hostedZoneId).
	Zone string
	// Domain, when set (context dnsDomain), limits the Route 53 record
	// names a step may change to names under it.
	Domain string
	// Tables maps a table placeholder ("RulesTable", see TablePlaceholder)
	// to its ARN.
	Tables map[string]string
}

// conditions are an IAM statement's conditions: operator → key → value.
type conditions map[string]map[string]any

func (c conditions) add(op, key string, v any) {
	if c[op] == nil {
		c[op] = map[string]any{}
	}
	c[op][key] = v
}

// Statements turns a function's grants into IAM statements.
func Statements(stack awscdk.Stack, grants []Grant, in GrantScope) []awsiam.PolicyStatement {
	var out []awsiam.PolicyStatement
	for _, g := range grants {
		resources := make([]*string, 0, len(g.Resources))
		for _, r := range g.Resources {
			resources = append(resources, arnPattern(stack, r, in.Zone, in.Tables))
		}
		cond := conditions{}
		key := TagKey
		if g.TagKey != "" {
			key = g.TagKey
		}
		switch g.Tag {
		case RequestTag:
			cond.add("Null", "aws:RequestTag/"+key, "false")
		case ResourceTag:
			cond.add("Null", "aws:ResourceTag/"+key, "false")
			if key == TagKey && hasDelete(g.Actions) {
				// Deletes: the resource must also say autostop created it.
				cond.add("StringEquals", "aws:ResourceTag/"+ownership.ManagedByKey, ownership.ManagedByValue)
			}
		}
		if len(g.CreateActions) > 0 {
			service := strings.SplitN(g.Actions[0], ":", 2)[0]
			cond.add("StringEquals", service+":CreateAction", g.CreateActions)
		}
		if g.MetricNamespace != "" {
			cond.add("StringEquals", "cloudwatch:namespace", g.MetricNamespace)
		}
		for k, v := range g.Equals {
			cond.add("StringEquals", k, v)
		}
		if len(g.TagKeys) > 0 {
			cond.add("ForAllValues:StringEquals", "aws:TagKeys", g.TagKeys)
		}
		for k, v := range g.AllOf {
			cond.add("ForAllValues:StringEquals", k, v)
		}
		if in.Domain != "" && slices.Contains(g.Actions, "route53:ChangeResourceRecordSets") {
			cond.add("ForAllValues:StringLike", recordNames, []string{RecordNamesUnder(in.Domain)})
		}
		props := &awsiam.PolicyStatementProps{Actions: jsii.Strings(g.Actions...), Resources: &resources}
		if len(cond) > 0 {
			c := map[string]interface{}{}
			for op, kv := range cond {
				c[op] = kv
			}
			props.Conditions = &c
		}
		out = append(out, awsiam.NewPolicyStatement(props))
	}

	return out
}

// hasDelete reports whether one of actions deletes a resource.
func hasDelete(actions []string) bool {
	for _, a := range actions {
		if _, op, _ := strings.Cut(a, ":"); strings.HasPrefix(op, "Delete") {
			return true
		}
	}

	return false
}

func newFunction(scope constructs.Construct, f app.Function, root string, keep awslogs.RetentionDays, grants GrantScope, network *functionNetwork) awslambda.Function {
	c := constructs.NewConstruct(scope, jsii.String(f.ID))
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{Retention: keep})
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("autostop " + f.ID + ": only the calls its step makes (infra/permissions.go)"),
	})
	logs.GrantWrite(role)

	env := map[string]*string{}
	for k, v := range f.Env {
		env[k] = jsii.String(v)
	}
	props := &awslambda.FunctionProps{
		FunctionName:  jsii.String(f.Name()),
		Description:   jsii.String(f.Description),
		Code:          awslambda.Code_FromAsset(jsii.String(AssetDir(root, f.ID)), nil),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(float64(f.TimeoutSec))),
		MemorySize:    jsii.Number(float64(f.MemoryMB)),
		Environment:   &env,
		Role:          role,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Tracing:       awslambda.Tracing_ACTIVE,
		// No ReservedConcurrentExecutions: see ReservedConcurrency.
	}
	if network != nil {
		props.Vpc = network.vpc
		props.VpcSubnets = &awsec2.SubnetSelection{Subnets: &network.subnets}
		props.SecurityGroups = &[]awsec2.ISecurityGroup{network.securityGroup}
		network.policy.AttachToRole(role)
	}
	fn := awslambda.NewFunction(c, jsii.String("Function"), props)
	if network != nil {
		// Lambda checks at create time that the role may manage the
		// network interfaces: the policy must exist first.
		fn.Node().AddDependency(network.policy)
	}

	if step := Permissions[f.ID]; len(step) > 0 {
		stack := awscdk.Stack_Of(c)
		policy := awsiam.NewPolicy(c, jsii.String("StepPolicy"), &awsiam.PolicyProps{
			PolicyName: jsii.String(StepPolicyName(f.ID)),
			Roles:      &[]awsiam.IRole{role},
			Statements: ptrs(Statements(stack, step, grants)),
		})
		suppressStepPolicy(policy, f.ID, grants.Zone)
	}
	suppressRole(role)

	return fn
}

// StepPolicyName is the name of the policy holding a function's grants.
func StepPolicyName(functionID string) string { return app.NamePrefix + functionID + "-step" }

func (s *Stack) newStateMachine(scope constructs.Construct, sm app.StateMachine, root string, keep awslogs.RetentionDays) (awsstepfunctions.StateMachine, error) {
	asl, err := sm.ReadASL(root)
	if err != nil {
		return nil, err
	}
	placeholders := map[string]bool{}
	for _, p := range app.Placeholders(asl) {
		placeholders[p] = true
	}
	subs := map[string]*string{}
	var fnArns []*string
	var nested []string // state machines this one runs as nested executions
	for name, v := range sm.Substitutions {
		if !placeholders[name] {
			return nil, fmt.Errorf("state machine %s: substitution %s is not used by %s", sm.ID, name, sm.ASLFile)
		}
		delete(placeholders, name)
		arn, err := s.arn(v)
		if err != nil {
			return nil, fmt.Errorf("state machine %s: substitution %s: %w", sm.ID, name, err)
		}
		subs[name] = arn
		if v.FunctionARN != "" {
			fnArns = append(fnArns, arn)
		}
		if v.StateMachine != "" {
			nested = append(nested, app.NamePrefix+v.StateMachine)
		}
	}
	if len(placeholders) > 0 {
		return nil, fmt.Errorf("state machine %s: no substitution for %v", sm.ID, keys(placeholders))
	}

	c := constructs.NewConstruct(scope, jsii.String(sm.ID))
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		LogGroupName: StateMachineLogGroupName(s.Stack, sm),
		Retention:    keep,
	})
	m := awsstepfunctions.NewStateMachine(c, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(sm.Name()),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(asl)),
		DefinitionSubstitutions: &subs,
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(true),
		},
		TracingEnabled: jsii.Bool(true),
	})
	if len(fnArns) > 0 {
		sort.Slice(fnArns, func(i, j int) bool { return *fnArns[i] < *fnArns[j] })
		m.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("lambda:InvokeFunction"),
			Resources: &fnArns,
		}))
	}
	for _, name := range nested {
		for _, st := range NestedExecutionStatements(s.Stack, name) {
			m.AddToRolePolicy(st)
		}
	}
	suppressStateMachine(c, nested...)
	awscdk.NewCfnOutput(s.Stack, jsii.String(cfnID(sm.ID)+"Arn"), &awscdk.CfnOutputProps{
		Value:       m.StateMachineArn(),
		Description: jsii.String("ARN of the " + sm.Name() + " state machine"),
	})

	return m, nil
}

// StateMachineLogPrefix is where Step Functions log groups belong: log
// delivery to a group under /aws/vendedlogs/ needs no entry of its own in
// the account's CloudWatch Logs resource policy (limited to 5,120
// characters).
const StateMachineLogPrefix = "/aws/vendedlogs/states/"

// StateMachineLogGroupName is the name of a state machine's log group:
// StateMachineLogPrefix, the state machine's name, and the unique part of
// the stack's ID (the UUID CloudFormation gives the stack when it creates
// it). Log groups are kept when the stack is deleted, so a stack deployed
// again gets new names instead of colliding with the kept groups; an update
// of the stack keeps them.
func StateMachineLogGroupName(stack awscdk.Stack, sm app.StateMachine) *string {
	stackUUID := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), stack.StackId(), nil))

	return awscdk.Fn_Join(jsii.String(""), jsii.Strings(StateMachineLogPrefix+sm.Name()+"-", *stackUUID))
}

// NestedExecutionStatements are what a state machine's role needs to run
// the state machine called name as a nested execution and wait for it
// (arn:aws:states:::states:startExecution.sync:2): start it, describe and
// stop its executions, and manage the EventBridge rule Step Functions uses
// to learn that a child execution ended.
func NestedExecutionStatements(stack awscdk.Stack, name string) []awsiam.PolicyStatement {
	arn := func(pattern string) *string {
		return arnPattern(stack, pattern, "", nil)
	}

	return []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("states:StartExecution"),
			Resources: &[]*string{arn(nestedMachine(name))},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("states:DescribeExecution", "states:StopExecution"),
			Resources: &[]*string{arn(nestedRuns(name))},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("events:PutTargets", "events:PutRule", "events:DescribeRule"),
			Resources: &[]*string{arn(nestedEventsRule)},
		}),
	}
}

// The resources of NestedExecutionStatements.
const nestedEventsRule = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"

func nestedMachine(name string) string {
	return "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + name
}

func nestedRuns(name string) string {
	return "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:" + name + ":*"
}

// newEvents declares the event buses and their rules, and the schedules
// (rules on the default bus), all delivering to their targets with retries
// and the one dead-letter queue, and what Lambda does when a target
// function fails (newAsyncInvokes).
func (s *Stack) newEvents(scope constructs.Construct, buses []app.EventBus, schedules []app.Schedule) error {
	if len(buses) == 0 && len(schedules) == 0 {
		return nil
	}
	dlq := awssqs.NewQueue(scope, jsii.String("DeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	s.DeadLetters = dlq
	suppressDeadLetters(dlq)
	alarm := dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(5)),
		Statistic: jsii.String("Maximum"),
	}).CreateAlarm(scope, jsii.String("DeadLettersAlarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String("autostop: events the rules could not deliver after retries, or a function failed on after its retries, are waiting in the dead-letter queue"),
		Threshold:          jsii.Number(0),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String("DeadLetterQueueUrl"), &awscdk.CfnOutputProps{Value: dlq.QueueUrl(),
		Description: jsii.String("events no target accepted after retries, and invocation records of events the bus rules' functions failed on")})
	awscdk.NewCfnOutput(s.Stack, jsii.String("DeadLetterAlarmName"), &awscdk.CfnOutputProps{Value: alarm.AlarmName()})
	s.DeadLetterAlarm = alarm

	for _, b := range buses {
		bus := awsevents.NewEventBus(scope, jsii.String(cfnID(b.Name)+"Bus"), &awsevents.EventBusProps{EventBusName: jsii.String(b.Name)})
		awscdk.NewCfnOutput(s.Stack, jsii.String(cfnID(b.Name)+"EventBusName"), &awscdk.CfnOutputProps{Value: bus.EventBusName()})
		for _, r := range b.Rules {
			var pattern map[string]interface{}
			if err := json.Unmarshal([]byte(r.Pattern), &pattern); err != nil || len(pattern) == 0 {
				return fmt.Errorf("rule %s: pattern %q is not a JSON object (%v)", r.ID, r.Pattern, err)
			}
			var target awsevents.IRuleTarget
			switch {
			case r.TargetFunction != "":
				fn, ok := s.Functions[r.TargetFunction]
				if !ok {
					return fmt.Errorf("rule %s: no function %q", r.ID, r.TargetFunction)
				}
				target = awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
					DeadLetterQueue: dlq,
					MaxEventAge:     awscdk.Duration_Hours(jsii.Number(1)),
					RetryAttempts:   jsii.Number(185),
				})
			case r.TargetStateMachine != "":
				m, ok := s.StateMachines[r.TargetStateMachine]
				if !ok {
					return fmt.Errorf("rule %s: no state machine %q", r.ID, r.TargetStateMachine)
				}
				target = awseventstargets.NewSfnStateMachine(m, &awseventstargets.SfnStateMachineProps{
					DeadLetterQueue: dlq,
					MaxEventAge:     awscdk.Duration_Hours(jsii.Number(1)),
					RetryAttempts:   jsii.Number(185),
				})
			default:
				return fmt.Errorf("rule %s has no target", r.ID)
			}
			rule := awsevents.NewRule(scope, jsii.String(cfnID(r.ID)+"Rule"), &awsevents.RuleProps{
				RuleName:    jsii.String(r.Name()),
				Description: jsii.String(r.Description),
				EventBus:    bus,
				// The construct wants a typed pattern; the description's
				// JSON replaces it below, as is.
				EventPattern: &awsevents.EventPattern{Source: jsii.Strings("placeholder")},
				Targets:      &[]awsevents.IRuleTarget{target},
			})
			rule.Node().DefaultChild().(awsevents.CfnRule).AddPropertyOverride(jsii.String("EventPattern"), pattern)
		}
	}

	for _, sc := range schedules {
		if err := s.newSchedule(scope, sc, dlq); err != nil {
			return err
		}
	}

	return s.newAsyncInvokes(scope, buses, schedules, dlq)
}

// ScheduleMaxEventAge is how long EventBridge retries a schedule's
// invocation of its function: a minute, the interval of the app's
// schedules (the idle watcher's rate(1 minute)), after which the next run
// supersedes it. An event still undelivered then goes to the dead-letter
// queue, whose alarm reports it.
const ScheduleMaxEventAge = 60

// newSchedule declares a schedule: a rule on the default event bus with the
// schedule expression, invoking its function (CDK adds the invoke
// permission for this rule).
func (s *Stack) newSchedule(scope constructs.Construct, sc app.Schedule, dlq awssqs.Queue) error {
	fn, ok := s.Functions[sc.TargetFunction]
	if !ok {
		return fmt.Errorf("schedule %s: no function %q", sc.ID, sc.TargetFunction)
	}
	if sc.Expression == "" {
		return fmt.Errorf("schedule %s has no expression", sc.ID)
	}
	awsevents.NewRule(scope, jsii.String(cfnID(sc.ID)+"Rule"), &awsevents.RuleProps{
		RuleName:    jsii.String(sc.Name()),
		Description: jsii.String(sc.Description),
		Schedule:    awsevents.Schedule_Expression(jsii.String(sc.Expression)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: dlq,
			MaxEventAge:     awscdk.Duration_Seconds(jsii.Number(ScheduleMaxEventAge)),
			// As many as fit in the event's age.
			RetryAttempts: jsii.Number(185),
		})},
	})

	return nil
}

// cfnID turns "rule-created" into "RuleCreated".
func cfnID(s string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}

	return b.String()
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)

	return out
}

func sortStrings(s []string) { sort.Strings(s) }

func ptrs[T any](s []T) *[]T { return &s }
