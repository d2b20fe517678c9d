package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// CheckNag adds cdk-nag's AwsSolutions pack to scope: its findings are
// errors and warnings of the synthesized stack (tests require none).
func CheckNag(scope awscdk.App) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// suppress records that construct (and, with children, everything under
// it) accepts the AwsSolutions finding id for reason, limited to appliesTo
// (finding details such as "Resource::*") when given.
func suppress(construct constructs.IConstruct, children bool, id, reason string, appliesTo ...any) {
	sup := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		sup.AppliesTo = &appliesTo
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &[]*cdknag.NagPackSuppression{sup}, jsii.Bool(children))
}

// suppressions are the AwsSolutions findings this stack accepts, each with
// its reason. Everything else the pack reports fails the infra tests.
func (b *Stack) suppressions() {
	for name, fn := range b.Functions {
		// Tracing: ACTIVE adds xray:PutTraceSegments and
		// xray:PutTelemetryRecords, which have no resource-level
		// permissions (Resource "*" is the only form IAM accepts). The
		// log statement is bound to the function's own log group; ":*"
		// are its log streams, which Lambda creates at run time.
		suppress(fn.Role(), true, "AwsSolutions-IAM5",
			"X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions; "+
				"the log statement is limited to the function's own log group, whose streams Lambda names at run time ("+name+")",
			"Resource::*", &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<[A-Za-z0-9]+Logs[0-9A-F]{8}\.Arn>:\*$/`)})
	}
	for _, q := range b.DLQs {
		// These queues are the dead-letter queues of the schedules' targets
		// (EventBridge's DeadLetterConfig, which cdk-nag does not see): a
		// dead-letter queue of a dead-letter queue would only move the
		// undelivered events once more. Their depth is alarmed instead.
		suppress(q, false, "AwsSolutions-SQS3",
			"this queue is the dead-letter queue of an EventBridge schedule target; its depth has an alarm")
	}
	// The config bucket holds one small object written at deploy (and by
	// `boskos config push`); its versions are the audit trail. Access logs
	// would need a second bucket per environment for no reader.
	suppress(b.Bucket, false, "AwsSolutions-S1",
		"config bucket: one object written at deploy, versioned (the history of every config), private, TLS only")
	if reason, ok := map[AuthMode]string{
		// Environments with auth none are for development and are
		// throttled; staging and prod authenticate.
		AuthNone: "this environment's auth mode is none (development, throttled): anyone who reaches the API may act as any owner",
		// Basic: the API functions authenticate every request but
		// /healthz with HTTP Basic against the credentials secret (what
		// the upstream client and boskosctl send); an API Gateway
		// authorizer cannot read that file.
		AuthBasic: "auth mode basic: the Lambda functions authenticate HTTP Basic credentials against the credentials secret (bcrypt, owner-bound, throttled)",
	}[b.Settings.Auth]; ok {
		for _, c := range *b.API.Node().Scope().Node().Children() {
			if strings.Contains(*c.Node().Id(), "Route") {
				suppress(c, true, "AwsSolutions-APIG4", reason)
			}
		}
	}
	if b.Secret != nil {
		// The secret is a file of bcrypt hashes and IAM ARNs that an
		// operator edits (boskos credentials add) and puts there; there is
		// no password of an AWS service to rotate, and a rotation Lambda
		// could not invent principals. Changes are picked up within
		// BOSKOS_CREDENTIALS_TTL.
		suppress(b.Secret, false, "AwsSolutions-SMG4",
			"the secret holds an operator-edited credentials file (bcrypt hashes, IAM ARNs), not a service password a rotation function could change; updates reach the functions within BOSKOS_CREDENTIALS_TTL")
	}
	// CDK's own BucketDeployment and S3 auto-delete providers: a singleton
	// Lambda function the CDK writes (its runtime, its managed basic
	// execution policy and its s3:* wildcards over the asset and the config
	// buckets are the CDK's, not ours).
	for _, c := range *b.Stack.Node().Children() {
		id := *c.Node().Id()
		if strings.HasPrefix(id, "Custom::CDKBucketDeployment") || strings.HasPrefix(id, "Custom::S3AutoDeleteObjects") {
			reason := "CDK-managed custom resource provider (BucketDeployment / auto-delete objects) that copies config/<env>.yaml into the config bucket"
			suppress(c, true, "AwsSolutions-IAM4", reason,
				"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
			suppress(c, true, "AwsSolutions-IAM5", reason)
			suppress(c, true, "AwsSolutions-L1", reason)
		}
	}
}
