package main

import (
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func suppress(c constructs.IConstruct, s ...*cdknag.NagPackSuppression) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(true))
}

func iam5(reason string, appliesTo ...string) *cdknag.NagPackSuppression {
	a := make([]interface{}, 0, len(appliesTo))
	for _, s := range appliesTo {
		a = append(a, s)
	}

	return &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(reason), AppliesTo: &a}
}

// nagResource is how cdk-nag names a resource pattern in its findings: a
// pseudo parameter as <AWS::…>, unless the stack's environment fixes it
// (cdk synth sets the region).
func nagResource(stack awscdk.Stack, pattern, zone string) string {
	pseudo := func(name string, v *string) string {
		if *awscdk.Token_IsUnresolved(v) {
			return "<" + name + ">"
		}

		return *v
	}
	r := strings.NewReplacer(
		"${AWS::Partition}", pseudo("AWS::Partition", stack.Partition()),
		"${AWS::Region}", pseudo("AWS::Region", stack.Region()),
		"${AWS::AccountId}", pseudo("AWS::AccountId", stack.Account()),
		"${HostedZone}", zone,
	)

	return "Resource::" + r.Replace(pattern)
}

// suppressRole explains the wildcard CDK adds to a function's role for
// active tracing (its default policy; the step's grants are in StepPolicy).
func suppressRole(role constructs.IConstruct) {
	suppress(role, iam5("X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions (active tracing)", "Resource::*"))
}

// suppressStepPolicy explains every wildcard of a step's grants with the
// grant's own reason (Grant.Why).
func suppressStepPolicy(c constructs.IConstruct, functionID, zone string) {
	suppressGrants(c, Permissions[functionID], zone)
}

// suppressGrants explains every wildcard resource of grants with the
// grant's own reason (Grant.Why).
func suppressGrants(c constructs.IConstruct, grants []Grant, zone string) {
	var s []*cdknag.NagPackSuppression
	byReason := map[string]map[string]bool{}
	for _, g := range grants {
		for _, r := range g.Resources {
			if !strings.Contains(strings.ReplaceAll(r, "${HostedZone}", zone), "*") {
				continue
			}
			if byReason[g.Why] == nil {
				byReason[g.Why] = map[string]bool{}
			}
			byReason[g.Why][nagResource(awscdk.Stack_Of(c), r, zone)] = true
		}
	}
	reasons := make([]string, 0, len(byReason))
	for why := range byReason {
		reasons = append(reasons, why)
	}
	sort.Strings(reasons)
	for _, why := range reasons {
		s = append(s, iam5(why, keysOf(byReason[why])...))
	}
	suppress(c, s...)
}

// suppressStateMachine explains the wildcards of a state machine's role:
// log delivery and X-Ray, and the executions of the state machines it runs
// as nested executions (named at run time).
func suppressStateMachine(c constructs.IConstruct, nested ...string) {
	s := []*cdknag.NagPackSuppression{iam5("Step Functions log delivery (logs:*LogDelivery*, DescribeLogGroups, …) and X-Ray do not support resource-level permissions", "Resource::*")}
	if len(nested) > 0 {
		var runs []string
		for _, name := range nested {
			runs = append(runs, nagResource(awscdk.Stack_Of(c), nestedRuns(name), ""))
		}
		s = append(s, iam5("the nested executions this state machine starts are named at run time (after its own execution)", runs...))
	}
	suppress(c, s...)
}

func suppressDeadLetters(q awssqs.Queue) {
	suppress(q, &cdknag.NagPackSuppression{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("this queue is itself the dead-letter queue of the EventBridge rule targets and the on-failure destination of the bus rules' functions, watched by an alarm"),
	})
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)

	return out
}
