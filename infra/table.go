package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/autostop/autostop/shared/app"
)

// newTable declares one of the app's tables: on-demand (rules are read per
// request and written per wake: no capacity to plan), encrypted with the AWS
// managed key, point-in-time recovery on, and kept when the stack is deleted
// (it holds the users' rules). CloudFormation names it, so deleting and
// deploying the stack again does not collide with the kept table; the
// functions get its name through their environment.
func newTable(scope constructs.Construct, stack awscdk.Stack, t app.Table) awsdynamodb.Table {
	table := awsdynamodb.NewTable(scope, jsii.String(cfnID(t.ID)), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(t.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Encryption:   awsdynamodb.TableEncryption_AWS_MANAGED,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	awscdk.Tags_Of(table).Add(jsii.String("autostop:component"), jsii.String(t.ID), nil)
	awscdk.NewCfnOutput(stack, jsii.String(cfnID(t.ID)+"TableName"), &awscdk.CfnOutputProps{
		Value:       table.TableName(),
		Description: jsii.String(t.Description),
	})

	return table
}
