package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/boskos-serverless/boskos/core/deploy"
)

// The history writer's event source mapping (the lease history, see the
// README): the table's stream, batches of HistoryBatchSize records, the
// records of the resource items only (a filter on the key's namespace, so
// queue entries, counters and the history records themselves never invoke
// it), one batch at a time per shard (a resource's changes stay in order),
// partial batch failures reported by the function, a failing batch split in
// two and retried up to HistoryRetries times, then its description sent to
// the on-failure queue (whose depth alarms). TRIM_HORIZON: a new mapping
// starts from the oldest record the stream keeps (24 hours).
const (
	HistoryBatchSize = 100
	HistoryRetries   = 10
	// HistoryFilter is the mapping's filter pattern.
	HistoryFilter = `{"dynamodb":{"Keys":{"` + deploy.AttrPK + `":{"S":["` + deploy.ResourceNamespace + `"]}}}}`
)

// HistoryFailureQueueID is the construct id of the history writer's
// on-failure queue.
const HistoryFailureQueueID = "HistoryWriterFailureQueue"

// streamFunction wires a Stream function (the history writer): its event
// source mapping on the table's stream with the on-failure queue, and its
// role's grants for them (the stream's read actions; ListStreams has no
// resource-level permissions).
func (b *Stack) streamFunction(f deploy.Function, fn awslambda.Function, role awsiam.Role) {
	id := FunctionID(f.Name)
	q := awssqs.NewQueue(b.Stack, jsii.String(HistoryFailureQueueID), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	b.HistoryFailures = q
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("TableStream"),
		Actions:   jsii.Strings(deploy.StreamActions[0], deploy.StreamActions[1], deploy.StreamActions[2]),
		Resources: &[]*string{b.Table.TableStreamArn()},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ListStreams"),
		Actions:   jsii.Strings(deploy.StreamActions[3]),
		Resources: jsii.Strings("*"),
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("FailureQueue"),
		Actions:   jsii.Strings(deploy.ActSendMessage),
		Resources: &[]*string{q.QueueArn()},
	}))
	esm := awslambda.NewCfnEventSourceMapping(b.Stack, jsii.String(id+"Stream"), &awslambda.CfnEventSourceMappingProps{
		FunctionName:               fn.FunctionName(),
		EventSourceArn:             b.Table.TableStreamArn(),
		StartingPosition:           jsii.String("TRIM_HORIZON"),
		BatchSize:                  jsii.Number(HistoryBatchSize),
		BisectBatchOnFunctionError: jsii.Bool(true),
		MaximumRetryAttempts:       jsii.Number(HistoryRetries),
		ParallelizationFactor:      jsii.Number(1),
		FunctionResponseTypes:      jsii.Strings("ReportBatchItemFailures"),
		FilterCriteria: &awslambda.CfnEventSourceMapping_FilterCriteriaProperty{
			Filters: &[]*awslambda.CfnEventSourceMapping_FilterProperty{{Pattern: jsii.String(HistoryFilter)}},
		},
		DestinationConfig: &awslambda.CfnEventSourceMapping_DestinationConfigProperty{
			OnFailure: &awslambda.CfnEventSourceMapping_OnFailureProperty{Destination: q.QueueArn()},
		},
	})
	// The mapping starts reading once the role can read the stream.
	esm.Node().AddDependency(role)
	a := awscloudwatch.NewAlarm(b.Stack, jsii.String(id+"FailureQueueDepth"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("Boskos " + f.Name + ": stream batches the history writer gave up on (their records are not in the history)"),
		Metric: q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(b.Settings.Alarms.DLQDepth),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	b.pendingAlarms = append(b.pendingAlarms, a)
}

// alarmHistory sends the history writer's alarms to the topic (the topic
// is made after the functions).
func (b *Stack) alarmHistory() {
	for _, a := range b.pendingAlarms {
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(b.Topic))
	}
}

// historySuppressions are the AwsSolutions findings the history writer's
// resources accept.
func (b *Stack) historySuppressions() {
	if b.HistoryFailures != nil {
		suppress(b.HistoryFailures, false, "AwsSolutions-SQS3",
			"this queue is the on-failure destination of the history writer's event source mapping; its depth has an alarm")
	}
	if fn, ok := b.Functions[deploy.FnHistoryWriter]; ok {
		suppress(fn.Role(), true, "AwsSolutions-IAM5",
			"dynamodb:ListStreams supports no resource-level permissions (the event source mapping's poller calls it); the stream's read actions are on the table's stream only",
			"Resource::*")
	}
}
