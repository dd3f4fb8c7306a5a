package main

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/autostop/autostop/shared/app"
)

// AsyncInvoke is what Lambda does with a failed asynchronous invocation of
// a function (EventBridge invokes its targets asynchronously: once Lambda
// has queued the event, the rule's retry policy and dead-letter queue are
// done with it, and only this configuration decides what happens when the
// function fails).
type AsyncInvoke struct {
	// RetryAttempts after the first failure (Lambda: 0–2, default 2).
	RetryAttempts int
	// MaxEventAgeSec is how long Lambda keeps trying (60–21600, default
	// 21600).
	MaxEventAgeSec int
	// DeadLetters: an invocation still failing after that goes to the
	// stack's dead-letter queue (an on-failure destination), whose alarm
	// fires.
	DeadLetters bool
}

var (
	// RuleTargetAsync is for the targets of the bus rules
	// (start-provisioning): an event the function failed on — a rule's
	// workflow not started — is retried twice for at most an hour, then
	// kept in the dead-letter queue (14 days) to be replayed.
	RuleTargetAsync = AsyncInvoke{RetryAttempts: 2, MaxEventAgeSec: 3600, DeadLetters: true}
	// ScheduleTargetAsync is for the targets of the schedules
	// (idle-watch): a failed run is not retried, the next scheduled run
	// supersedes it (the schedule is every minute); the function's Errors
	// alarm reports the failure. Nothing goes to the dead-letter queue: a
	// scheduled event carries nothing to replay.
	ScheduleTargetAsync = AsyncInvoke{RetryAttempts: 0, MaxEventAgeSec: ScheduleMaxEventAge}
)

// AsyncInvokes returns the AsyncInvoke of every function EventBridge
// invokes, by Function.ID: RuleTargetAsync for the bus rules' targets,
// ScheduleTargetAsync for the schedules'. The app description has no field
// for it: what the function is a target of decides. A function that is
// both is an error (say which applies in shared/app first).
func AsyncInvokes(buses []app.EventBus, schedules []app.Schedule) (map[string]AsyncInvoke, error) {
	out := map[string]AsyncInvoke{}
	for _, b := range buses {
		for _, r := range b.Rules {
			if r.TargetFunction != "" {
				out[r.TargetFunction] = RuleTargetAsync
			}
		}
	}
	for _, sc := range schedules {
		if prev, ok := out[sc.TargetFunction]; ok && prev != ScheduleTargetAsync {
			return nil, fmt.Errorf("function %s is the target of a bus rule and of schedule %s: its failed invocations cannot be handled both ways", sc.TargetFunction, sc.ID)
		}
		out[sc.TargetFunction] = ScheduleTargetAsync
	}

	return out, nil
}

// DeadLetterPolicyName is the policy that lets Lambda send a function's
// failed invocations to the dead-letter queue (Lambda sends them with the
// function's role).
func DeadLetterPolicyName(functionID string) string {
	return app.NamePrefix + functionID + "-dead-letters"
}

// newAsyncInvokes declares the asynchronous invocation configuration of
// every EventBridge target function.
func (s *Stack) newAsyncInvokes(scope constructs.Construct, buses []app.EventBus, schedules []app.Schedule, dlq awssqs.Queue) error {
	configs, err := AsyncInvokes(buses, schedules)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(configs))
	for id := range configs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fn, ok := s.Functions[id]
		if !ok {
			return fmt.Errorf("EventBridge target: no function %q", id)
		}
		a := configs[id]
		props := &awslambda.CfnEventInvokeConfigProps{
			FunctionName:             fn.FunctionName(),
			Qualifier:                jsii.String("$LATEST"),
			MaximumRetryAttempts:     jsii.Number(float64(a.RetryAttempts)),
			MaximumEventAgeInSeconds: jsii.Number(float64(a.MaxEventAgeSec)),
		}
		var policy awsiam.Policy
		if a.DeadLetters {
			props.DestinationConfig = &awslambda.CfnEventInvokeConfig_DestinationConfigProperty{
				OnFailure: &awslambda.CfnEventInvokeConfig_OnFailureProperty{Destination: dlq.QueueArn()},
			}
			policy = awsiam.NewPolicy(scope, jsii.String(cfnID(id)+"DeadLetterPolicy"), &awsiam.PolicyProps{
				PolicyName: jsii.String(DeadLetterPolicyName(id)),
				Roles:      &[]awsiam.IRole{fn.Role()},
				Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Actions:   jsii.Strings("sqs:SendMessage"),
					Resources: jsii.Strings(*dlq.QueueArn()),
				})},
			})
		}
		cfg := awslambda.NewCfnEventInvokeConfig(scope, jsii.String(cfnID(id)+"AsyncInvoke"), props)
		if policy != nil {
			// Lambda checks that the role may send to the destination
			// when the configuration is created.
			cfg.Node().AddDependency(policy)
		}
	}

	return nil
}
