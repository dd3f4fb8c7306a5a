package main

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/autostop/autostop/shared/app"
)

// ContextAlarmEmail is an e-mail address the stack's alarms are sent to
// (through the SNS topic AlarmTopicName, which the stack then creates; the
// address must confirm the subscription). Default: none, the alarms exist
// without actions.
const ContextAlarmEmail = "alarmEmail"

// AlarmTopicName is the SNS topic of the alarms.
const AlarmTopicName = app.NamePrefix + "alarms"

// AlarmPeriodMinutes is the period every alarm evaluates: one period with
// at least one error, failed execution or dead letter fires it.
const AlarmPeriodMinutes = 5

// FunctionErrorsAlarmName and ExecutionsFailedAlarmName name the alarms of
// a function and of a state machine.
func FunctionErrorsAlarmName(functionID string) string {
	return app.NamePrefix + functionID + "-errors"
}

func ExecutionsFailedAlarmName(machineID string) string {
	return app.NamePrefix + machineID + "-executions-failed"
}

var emailAddress = regexp.MustCompile(`^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$`)

// readAlarmEmail reads the alarmEmail context: "" (unset) or one address.
func readAlarmEmail(s string) (string, error) {
	if s == "" || emailAddress.MatchString(s) {
		return s, nil
	}

	return "", fmt.Errorf("context %s=%q: want one e-mail address", ContextAlarmEmail, s)
}

// newAlarms declares an alarm on the Errors of every function (a step that
// failed, retried or not; the proxy's failed requests; a failed idle-watch
// run) and on the failed executions of every state machine, and, with an
// e-mail address, the encrypted SNS topic every alarm of the stack (the
// dead-letter queue's too) notifies.
func (s *Stack) newAlarms(scope constructs.Construct, email string) {
	period := awscdk.Duration_Minutes(jsii.Number(AlarmPeriodMinutes))
	atLeastOne := func(m awscloudwatch.IMetric, id, name, description string) awscloudwatch.Alarm {
		return awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(name),
			AlarmDescription:   jsii.String(description),
			Metric:             m,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
	}

	alarms := []awscloudwatch.Alarm{}
	if s.DeadLetterAlarm != nil {
		alarms = append(alarms, s.DeadLetterAlarm)
	}
	for _, id := range sortedIDs(s.Functions) {
		m := s.Functions[id].MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")})
		alarms = append(alarms, atLeastOne(m, cfnID(id)+"ErrorsAlarm", FunctionErrorsAlarmName(id),
			"autostop: function "+app.NamePrefix+id+" returned an error (see its log group)"))
	}
	for _, id := range sortedIDs(s.StateMachines) {
		m := s.StateMachines[id].MetricFailed(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")})
		alarms = append(alarms, atLeastOne(m, cfnID(id)+"ExecutionsFailedAlarm", ExecutionsFailedAlarmName(id),
			"autostop: an execution of "+app.NamePrefix+id+" failed (see its execution history)"))
	}
	s.Alarms = alarms

	if email == "" {
		return
	}
	s.AlarmTopic = newAlarmTopic(scope, email)
	action := awscloudwatchactions.NewSnsAction(s.AlarmTopic)
	for _, a := range alarms {
		a.AddAlarmAction(action)
	}
	awscdk.NewCfnOutput(awscdk.Stack_Of(scope), jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Value:       s.AlarmTopic.TopicArn(),
		Description: jsii.String("the SNS topic of the alarms (context " + ContextAlarmEmail + ")"),
	})
}

// newAlarmTopic declares the alarms' topic, encrypted with a key of its own
// (CloudWatch cannot publish to a topic encrypted with the AWS managed key
// of SNS, whose policy cannot be changed), TLS only, and the e-mail
// subscription.
func newAlarmTopic(scope constructs.Construct, email string) awssns.Topic {
	stack := awscdk.Stack_Of(scope)
	cloudwatch := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)
	key := awskms.NewKey(scope, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("autostop: encrypts the SNS topic " + AlarmTopicName),
		EnableKeyRotation: jsii.Bool(true),
		// The topic goes with the stack; so does its key (after the
		// shortest waiting period).
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		PendingWindow: awscdk.Duration_Days(jsii.Number(7)),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublishToTheEncryptedTopic"),
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), nil)

	topic := awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
		TopicName:   jsii.String(AlarmTopicName),
		DisplayName: jsii.String("autostop alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// The topic policy replaces SNS's default one: CloudWatch may publish
	// this account's alarms.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsOfThisAccount"),
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": stack.Account()},
			"ArnLike": map[string]interface{}{"aws:SourceArn": arnPattern(stack,
				"arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*", "", nil)},
		},
	}))
	topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))

	return topic
}

func sortedIDs[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)

	return out
}
