package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
)

// Options are what the stack reads from the file system.
type Options struct {
	// Root is the repository's root: ConfigFile is read from it.
	Root string
	// BuildDir holds build/<function>/bootstrap (make build).
	BuildDir string
	// Env is the AWS account and region (nil: environment-agnostic).
	Env *awscdk.Environment
}

// Stack is the synthesized stack and the constructs tests look at.
type Stack struct {
	awscdk.Stack
	Settings  Settings
	Table     awsdynamodb.Table
	Functions map[string]awslambda.Function
	API       awsapigatewayv2.HttpApi
	Bucket    awss3.Bucket
	// Secret holds the credentials file (nil with Auth none).
	Secret    awssecretsmanager.Secret
	Topic     awssns.Topic
	DLQs      map[string]awssqs.Queue
	Rules     map[string]awsevents.Rule
	Dashboard awscloudwatch.Dashboard
	// StateMachine is Mason's workflow (mason.go).
	StateMachine awsstepfunctions.StateMachine
	// HistoryFailures is the history writer's on-failure queue.
	HistoryFailures awssqs.Queue

	opts          Options
	pendingAlarms []awscloudwatch.Alarm
}

// Output names.
const (
	OutputAPIURL       = "ApiUrl"
	OutputTableName    = "TableName"
	OutputConfigBucket = "ConfigBucket"
	// OutputCredentialsSecret is the credentials secret's ARN (only with
	// credentials): put the credentials file there.
	OutputCredentialsSecret = "CredentialsSecret"
)

// CredentialsPlaceholder is the credentials secret's value until an
// operator puts the credentials file there: a YAML document without
// principals, which the API functions refuse to start with ("principals:
// none"), so a stack never serves without credentials. CloudFormation
// writes it only when the secret is created (or when this text changes:
// never change it, it would overwrite the credentials).
const CredentialsPlaceholder = "# boskos credentials: replace this with the credentials file (see README, Deploying: credentials)\n"

// FunctionID is the construct id of function name's Lambda function
// ("acquirebystate" -> "AcquirebystateFunction", "mason-gc" ->
// "MasonGcFunction").
func FunctionID(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String() + "Function"
}

// Enabled returns the functions the stack deploys with s: every API
// function and job, except the janitor when it has no targets.
func Enabled(s Settings) []deploy.Function {
	var out []deploy.Function
	for _, f := range deploy.Functions {
		if f.Name == deploy.FnJanitor && len(s.JanitorTargets) == 0 {
			continue
		}
		out = append(out, f)
	}
	return out
}

// New defines the whole service in one stack: the table, every function
// with its least-privilege role, the HTTP API, the schedules with their
// dead-letter queues, the config bucket filled from s.ConfigFile, alarms to
// an SNS topic, a dashboard and the outputs.
func New(scope constructs.Construct, s Settings, o Options) (*Stack, error) {
	cfg, err := os.ReadFile(filepath.Join(o.Root, s.ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("stack %s: resources file: %w", s.Env, err)
	}
	for _, f := range Enabled(s) {
		if _, err := os.Stat(filepath.Join(o.BuildDir, f.Name, "bootstrap")); err != nil {
			return nil, fmt.Errorf("stack %s: %w (run make build)", s.Env, err)
		}
	}
	masonDoc, err := checkMasonDocument(o.Root)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", s.Env, err)
	}
	st := awscdk.NewStack(scope, jsii.String(s.StackName), &awscdk.StackProps{
		Env:         o.Env,
		Description: jsii.String("Boskos-compatible resource-leasing service (" + s.Env + "): HTTP API, one Lambda function per endpoint and job, one DynamoDB table."),
	})
	// Dashboards take no tags in CloudFormation (cfn-lint E3002).
	awscdk.Tags_Of(st).Add(jsii.String("boskos:env"), jsii.String(s.Env), &awscdk.TagProps{
		ExcludeResourceTypes: jsii.Strings("AWS::CloudWatch::Dashboard"),
	})
	b := &Stack{Stack: st, Settings: s, Functions: map[string]awslambda.Function{},
		DLQs: map[string]awssqs.Queue{}, Rules: map[string]awsevents.Rule{}, opts: o}
	removal := awscdk.RemovalPolicy_DESTROY
	if s.Retain {
		removal = awscdk.RemovalPolicy_RETAIN
	}

	b.table(removal)
	b.bucket(removal, cfg)
	if s.Auth.HasCredentials() {
		b.secret(removal)
	}
	for _, f := range Enabled(s) {
		b.function(f, removal)
	}
	b.api(removal)
	b.schedules()
	b.alarms()
	b.alarmHistory()
	b.dashboard()
	b.readAPI() // read.go
	if err := b.mason(removal, masonDoc); err != nil {
		return nil, fmt.Errorf("stack %s: %w", s.Env, err)
	}

	awscdk.NewCfnOutput(st, jsii.String(OutputAPIURL), &awscdk.CfnOutputProps{
		Description: jsii.String("Base URL for Boskos clients (the service lives at the host root)."),
		// Built from the API's id rather than its ApiEndpoint attribute, as
		// template.yaml does (emulators that skip ApiGatewayV2 resolve a
		// Ref but fail a GetAtt).
		Value: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("https://"), b.API.ApiId(), jsii.String(".execute-api."), st.Region(), jsii.String("."), st.UrlSuffix(),
		}),
	})
	awscdk.NewCfnOutput(st, jsii.String(OutputTableName), &awscdk.CfnOutputProps{
		Description: jsii.String("The DynamoDB table."), Value: b.Table.TableName(),
	})
	awscdk.NewCfnOutput(st, jsii.String(OutputConfigBucket), &awscdk.CfnOutputProps{
		Description: jsii.String("The config bucket; the reconciler applies s3://<bucket>/" + deploy.ConfigKey + "."),
		Value:       b.Bucket.BucketName(),
	})
	if b.Secret != nil {
		awscdk.NewCfnOutput(st, jsii.String(OutputCredentialsSecret), &awscdk.CfnOutputProps{
			Description: jsii.String("The credentials secret of the API functions: put the credentials file there (aws secretsmanager put-secret-value --secret-id <this> --secret-string file://credentials.yaml)."),
			Value:       b.Secret.SecretArn(),
		})
	}
	b.suppressions()
	b.historySuppressions()
	return b, nil
}

// SecretID is the construct id of the credentials secret.
const SecretID = "Credentials"

// secret is the credentials secret, encrypted with Secrets Manager's key,
// holding CredentialsPlaceholder until an operator puts the file there.
func (b *Stack) secret(removal awscdk.RemovalPolicy) {
	b.Secret = awssecretsmanager.NewSecret(b.Stack, jsii.String(SecretID), &awssecretsmanager.SecretProps{
		Description:       jsii.String("Boskos credentials file (" + b.Settings.Env + ", auth " + string(b.Settings.Auth) + "): principals with bcrypt hashes or IAM ARNs, their owners and roles"),
		SecretStringValue: awscdk.SecretValue_UnsafePlainText(jsii.String(CredentialsPlaceholder)),
		RemovalPolicy:     removal,
	})
}

// table is the single table of core/store/dynamostore, from deploy's names.
func (b *Stack) table(removal awscdk.RemovalPolicy) {
	str := awsdynamodb.AttributeType_STRING
	b.Table = awsdynamodb.NewTable(b.Stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(deploy.AttrPK), Type: str},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String(deploy.AttrSK), Type: str},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(deploy.AttrTTL),
		Stream:              awsdynamodb.StreamViewType(deploy.StreamViewType),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(b.Settings.Retain),
		RemovalPolicy:      removal,
	})
	b.Table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(deploy.IndexPool),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(deploy.AttrIndexPartition), Type: str},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(deploy.AttrIndexSortKey), Type: str},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
}

// bucket is the versioned, encrypted, private config bucket, filled with
// the environment's resources file at deploy.
func (b *Stack) bucket(removal awscdk.RemovalPolicy, cfg []byte) {
	b.Bucket = awss3.NewBucket(b.Stack, jsii.String("Config"), &awss3.BucketProps{
		Versioned:         jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     removal,
		AutoDeleteObjects: jsii.Bool(!b.Settings.Retain),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id: jsii.String("ExpireOldConfigVersions"), NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(90)),
		}},
	})
	awss3deployment.NewBucketDeployment(b.Stack, jsii.String("ConfigDeployment"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: b.Bucket,
		Sources:           &[]awss3deployment.ISource{awss3deployment.Source_Data(jsii.String(deploy.ConfigKey), jsii.String(string(cfg)), nil)},
		// Older versions stay in the bucket's history; nothing else lives there.
		Prune:          jsii.Bool(false),
		RetainOnDelete: jsii.Bool(b.Settings.Retain),
	})
}

// ConfigURI is the reconciler's BOSKOS_CONFIG_URI.
func (b *Stack) ConfigURI() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("s3://"), b.Bucket.BucketName(), jsii.String("/" + deploy.ConfigKey)})
}

// janitorTargets is BOSKOS_JANITOR_TARGETS.
func janitorTargets(ts []JanitorTarget) string {
	var parts []string
	for _, t := range ts {
		target := t.Webhook
		if target == "" {
			target = t.Function
		}
		parts = append(parts, t.Type+"="+target)
	}
	return strings.Join(parts, ",")
}

// function defines f's Lambda function, its log group and its own role,
// granted exactly f.DynamoDBActions (and what its job needs besides).
func (b *Stack) function(f deploy.Function, removal awscdk.RemovalPolicy) {
	s := b.Settings
	id := FunctionID(f.Name)
	logs := awslogs.NewLogGroup(b.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     s.LogRetention,
		RemovalPolicy: removal,
	})
	role := awsiam.NewRole(b.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Boskos " + f.Name + " function: its log group, X-Ray, the table actions its handler issues (and the credentials secret)"),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("Logs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn() + ":*"),
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("Table"),
		Actions:   jsii.Strings(f.DynamoDBActions...),
		Resources: &[]*string{b.Table.TableArn()},
	}))
	for _, a := range f.DynamoDBActions {
		if a == deploy.ActQuery {
			role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("PoolIndex"),
				Actions:   jsii.Strings(deploy.ActQuery),
				Resources: jsii.Strings(*b.Table.TableArn() + "/index/" + deploy.IndexPool),
			}))
		}
	}

	env := map[string]*string{
		deploy.EnvTable:      b.Table.TableName(),
		deploy.EnvLogLevel:   jsii.String(s.LogLevel),
		deploy.EnvRequestTTL: jsii.String(s.RequestTTL.String()),
	}
	if f.ReadsCredentials && b.Secret != nil {
		env[deploy.EnvCredentialsSecret] = b.Secret.SecretArn()
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("CredentialsSecret"),
			Actions:   jsii.Strings(deploy.ActGetSecretValue),
			Resources: &[]*string{b.Secret.SecretArn()},
		}))
	}
	memory, timeout, reserved := s.APIMemoryMB, s.APITimeout, s.APIReservedConcurrency
	if f.Kind != deploy.API {
		memory, timeout, reserved = s.JobMemoryMB, s.JobTimeout, s.JobReservedConcurrency
	}
	if f.Kind == deploy.Step {
		memory, timeout, reserved = b.stepSettings(f)
	}
	switch f.Name {
	case deploy.FnReaper:
		env[deploy.EnvReaperExpire] = jsii.String(s.ReaperExpire.String())
		env[deploy.EnvReaperTargetState] = jsii.String(s.ReaperTargetState)
	case deploy.FnHistoryWriter:
		env[deploy.EnvHistoryRetention] = jsii.String(s.historyRetention().String())
	case deploy.FnReconciler:
		env[deploy.EnvConfigURI] = b.ConfigURI()
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ConfigObject"),
			Actions:   jsii.Strings(deploy.ActGetObject),
			Resources: jsii.Strings(*b.Bucket.ArnForObjects(jsii.String(deploy.ConfigKey))),
		}))
	case deploy.FnJanitor:
		env[deploy.EnvJanitorTargets] = jsii.String(janitorTargets(s.JanitorTargets))
		env[deploy.EnvJanitorMaxFailures] = jsii.String(strconv.Itoa(s.JanitorMaxFailures))
		var fns []*string
		for _, t := range s.JanitorTargets {
			if t.Function == "" {
				continue
			}
			arn := t.Function
			if !strings.HasPrefix(arn, "arn:") {
				arn = *b.Stack.FormatArn(&awscdk.ArnComponents{
					Service: jsii.String("lambda"), Resource: jsii.String("function"), ResourceName: jsii.String(t.Function),
					ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
				})
			}
			fns = append(fns, jsii.String(arn))
		}
		if len(fns) > 0 {
			role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("JanitorTargets"), Actions: jsii.Strings(deploy.ActInvokeFunction), Resources: &fns,
			}))
		}
	}
	props := &awslambda.FunctionProps{
		Description:  jsii.String("Boskos " + f.Name + " (" + s.Env + ")"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(b.buildDir(), f.Name)), nil),
		MemorySize:   jsii.Number(float64(memory)),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(timeout.Seconds())),
		Tracing:      awslambda.Tracing_ACTIVE,
		LogGroup:     logs,
		Role:         role,
		Environment:  &env,
	}
	if reserved > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(reserved))
	}
	if f.Kind == deploy.Job {
		// A failed pass is not retried by Lambda: the next scheduled pass
		// does the work (every job is idempotent).
		props.RetryAttempts = jsii.Number(0)
	}
	b.Functions[f.Name] = awslambda.NewFunction(b.Stack, jsii.String(id), props)
	if f.Kind == deploy.Stream {
		b.streamFunction(f, b.Functions[f.Name], role)
	}
}

func (b *Stack) buildDir() string { return b.opts.BuildDir }

// api is the HTTP API: every route of every API function at the host root
// of the $default stage, with throttling, access logs and the
// environment's authorization.
func (b *Stack) api(removal awscdk.RemovalPolicy) {
	s := b.Settings
	props := &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(s.StackName),
		Description:        jsii.String("Boskos API (" + s.Env + "): every route at the host root"),
		CreateDefaultStage: jsii.Bool(false),
	}
	b.API = awsapigatewayv2.NewHttpApi(b.Stack, jsii.String("Api"), props)
	var auth awsapigatewayv2.IHttpRouteAuthorizer
	if s.Auth == AuthIAM {
		auth = awsapigatewayv2authorizers.NewHttpIamAuthorizer()
	}
	for _, f := range Enabled(s) {
		for i, r := range f.Routes {
			key := awsapigatewayv2.HttpRouteKey_DEFAULT()
			if r != deploy.CatchAll {
				// ANY: the function answers wrong methods with upstream's 405s.
				key = awsapigatewayv2.HttpRouteKey_With(jsii.String(r), awsapigatewayv2.HttpMethod_ANY)
			}
			awsapigatewayv2.NewHttpRoute(b.Stack, jsii.String(FunctionID(f.Name)+"Route"+strconv.Itoa(i)), &awsapigatewayv2.HttpRouteProps{
				HttpApi:     b.API,
				RouteKey:    key,
				Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(FunctionID(f.Name)+"Integration"+strconv.Itoa(i)), b.Functions[f.Name], nil),
				Authorizer:  auth,
			})
		}
	}
	access := awslogs.NewLogGroup(b.Stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: s.LogRetention, RemovalPolicy: removal,
	})
	stage := awsapigatewayv2.NewHttpStage(b.Stack, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    b.API,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit: jsii.Number(s.ThrottleRate), BurstLimit: jsii.Number(float64(s.ThrottleBurst)),
		},
	})
	cfn := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfn.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: access.LogGroupArn(),
		Format: jsii.String(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime",` +
			`"method":"$context.httpMethod","path":"$context.path","routeKey":"$context.routeKey","status":"$context.status",` +
			`"responseLength":"$context.responseLength","integrationLatency":"$context.integrationLatency","caller":"$context.identity.caller"}`),
	})
}

// rate is an EventBridge schedule of d (whole minutes).
func rate(d time.Duration) awsevents.Schedule {
	return awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(d.Minutes())))
}

// schedules runs every enabled job on its rate, each with its own
// dead-letter queue for events EventBridge could not deliver.
func (b *Stack) schedules() {
	s := b.Settings
	for _, f := range Enabled(s) {
		if f.Kind != deploy.Job {
			continue
		}
		id := FunctionID(f.Name)
		q := awssqs.NewQueue(b.Stack, jsii.String(id+"ScheduleDLQ"), &awssqs.QueueProps{
			Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:      jsii.Bool(true),
			RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		})
		b.DLQs[f.Name] = q
		b.Rules[f.Name] = awsevents.NewRule(b.Stack, jsii.String(id+"Schedule"), &awsevents.RuleProps{
			Description: jsii.String("Boskos " + f.Name + " pass (" + s.Env + ")"),
			Schedule:    rate(s.Schedules[f.Name]),
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(b.Functions[f.Name], &awseventstargets.LambdaFunctionProps{
				DeadLetterQueue: q,
				RetryAttempts:   jsii.Number(float64(s.ScheduleRetries)),
				MaxEventAge:     awscdk.Duration_Seconds(jsii.Number(s.ScheduleMaxEventAge.Seconds())),
			})},
		})
	}
}

// alarms send to one SNS topic: errors and throttles of every function,
// the table's throttling and system errors, every DLQ's depth, the API's
// 5xx, and with a janitor its Quarantined EMF metric.
func (b *Stack) alarms() {
	s := b.Settings
	b.Topic = awssns.NewTopic(b.Stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Boskos " + s.Env + " alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if s.AlarmEmail != "" {
		b.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(b.Topic)
	period := awscdk.Duration_Minutes(jsii.Number(5))
	sum := &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}
	alarm := func(id, desc string, m awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(b.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(desc),
			Metric:             m,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	for _, f := range Enabled(s) {
		fn, id := b.Functions[f.Name], FunctionID(f.Name)
		alarm(id+"Errors", "Boskos "+f.Name+": invocation errors", fn.MetricErrors(sum), s.Alarms.FunctionErrors)
		alarm(id+"Throttles", "Boskos "+f.Name+": throttled invocations", fn.MetricThrottles(sum), s.Alarms.FunctionThrottles)
	}
	throttles := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("r + w"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"r": b.Table.Metric(jsii.String("ReadThrottleEvents"), sum),
			"w": b.Table.Metric(jsii.String("WriteThrottleEvents"), sum),
		},
		Label:  jsii.String("throttle events"),
		Period: period,
	})
	alarm("TableThrottles", "Boskos table: throttled reads and writes", throttles, s.Alarms.TableThrottles)
	sysErrs := b.Table.MetricSystemErrorsForOperations(&awsdynamodb.SystemErrorsForOperationsMetricOptions{
		Period: period,
		Operations: &[]awsdynamodb.Operation{
			awsdynamodb.Operation_GET_ITEM, awsdynamodb.Operation_BATCH_GET_ITEM, awsdynamodb.Operation_PUT_ITEM,
			awsdynamodb.Operation_UPDATE_ITEM, awsdynamodb.Operation_DELETE_ITEM, awsdynamodb.Operation_QUERY,
			awsdynamodb.Operation_TRANSACT_WRITE_ITEMS,
		},
	})
	alarm("TableSystemErrors", "Boskos table: DynamoDB system errors", sysErrs, s.Alarms.TableSystemErrors)
	for _, f := range Enabled(s) {
		if q, ok := b.DLQs[f.Name]; ok {
			alarm(FunctionID(f.Name)+"DLQDepth", "Boskos "+f.Name+": scheduled events EventBridge could not deliver",
				q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}),
				s.Alarms.DLQDepth)
		}
	}
	alarm("Api5xx", "Boskos API: 5xx answers", b.API.MetricServerError(sum), s.Alarms.API5xx)
	if _, ok := b.Functions[deploy.FnJanitor]; ok {
		alarm("JanitorQuarantined", "Boskos janitor: resources quarantined after repeated cleanup failures (an operator must look)",
			b.emfMetric(deploy.FnJanitor, emf.Quarantined, &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}),
			s.Alarms.Quarantined)
	}
}

// emfMetric is the EMF metric name (package emf) that function fn emits,
// by its function dimension (the deployed function name).
func (b *Stack) emfMetric(fn, name string, o *awscloudwatch.MetricOptions) awscloudwatch.IMetric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(emf.Namespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{emf.DimFunction: b.Functions[fn].FunctionName()},
		Period:        o.Period,
		Statistic:     o.Statistic,
		Label:         o.Label,
	})
}

// dashboard shows the API, the functions, the table and the queues, and
// the functions' own EMF metrics (package emf): acquires and their latency,
// conflicts by function, reaped leases, cleanups and quarantined resources.
func (b *Stack) dashboard() {
	s := b.Settings
	period := awscdk.Duration_Minutes(jsii.Number(5))
	sum := &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}
	d := awscloudwatch.NewDashboard(b.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(s.StackName),
	})
	b.Dashboard = d
	labelled := func(label, stat string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String(stat), Label: jsii.String(label)}
	}
	var inv, errs, dur, throttles, conflicts []awscloudwatch.IMetric
	for _, f := range Enabled(s) {
		fn := b.Functions[f.Name]
		conflicts = append(conflicts, b.emfMetric(f.Name, emf.Conflicts, labelled(f.Name, "Sum")))
		label := &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum"), Label: jsii.String(f.Name)}
		inv = append(inv, fn.MetricInvocations(label))
		errs = append(errs, fn.MetricErrors(label))
		throttles = append(throttles, fn.MetricThrottles(label))
		dur = append(dur, fn.MetricDuration(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("p99"), Label: jsii.String(f.Name)}))
	}
	graph := func(title string, ms []awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &ms, Width: jsii.Number(12)})
	}
	var dlq []awscloudwatch.IMetric
	for _, f := range Enabled(s) {
		if q, ok := b.DLQs[f.Name]; ok {
			dlq = append(dlq, q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Label: jsii.String(f.Name)}))
		}
	}
	d.AddWidgets(
		graph("API requests and 5xx", []awscloudwatch.IMetric{b.API.MetricCount(sum), b.API.MetricServerError(sum), b.API.MetricClientError(sum)}),
		graph("API latency (p99)", []awscloudwatch.IMetric{b.API.MetricLatency(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("p99")})}),
	)
	d.AddWidgets(graph("Invocations", inv), graph("Errors", errs))
	d.AddWidgets(graph("Duration (p99)", dur), graph("Throttles", throttles))
	d.AddWidgets(
		graph("Table consumed capacity", []awscloudwatch.IMetric{
			b.Table.MetricConsumedReadCapacityUnits(sum), b.Table.MetricConsumedWriteCapacityUnits(sum),
		}),
		graph("Conflicts: failed conditional writes (lease races), by function", conflicts),
	)
	d.AddWidgets(
		graph("Acquires", []awscloudwatch.IMetric{b.emfMetric(deploy.FnAcquire, emf.Acquires, labelled("acquires", "Sum"))}),
		graph("Acquire latency (client wait)", []awscloudwatch.IMetric{
			b.emfMetric(deploy.FnAcquire, emf.AcquireLatency, labelled("p50", "p50")),
			b.emfMetric(deploy.FnAcquire, emf.AcquireLatency, labelled("p99", "p99")),
		}),
	)
	maint := []awscloudwatch.IMetric{b.emfMetric(deploy.FnReaper, emf.Reaped, labelled("reaped", "Sum"))}
	if _, ok := b.Functions[deploy.FnJanitor]; ok {
		maint = append(maint,
			b.emfMetric(deploy.FnJanitor, emf.JanitorCleaned, labelled("janitor cleaned", "Sum")),
			b.emfMetric(deploy.FnJanitor, emf.JanitorFailed, labelled("janitor failed", "Sum")),
			b.emfMetric(deploy.FnJanitor, emf.Quarantined, labelled("quarantined (max)", "Maximum")))
	}
	d.AddWidgets(graph("Maintenance: reaped leases, cleanups, quarantined", maint), graph("Schedule dead-letter queues", dlq))
}
