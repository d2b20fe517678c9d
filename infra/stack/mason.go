package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
)

// MasonSettings are Mason's per-environment settings (the values live in
// Environments, with the rest).
type MasonSettings struct {
	// LogLevel is the state machine's CloudWatch Logs level (cdk-nag
	// wants ALL) and LogExecutionData whether the lines carry the states'
	// input and output (the claim, Fulfill's answer, a failure's cause;
	// never userdata).
	LogLevel         awsstepfunctions.LogLevel
	LogExecutionData bool
	// Tracing turns on X-Ray for the state machine.
	Tracing bool
	// Wait is BOSKOS_MASON_WAIT: how long a construction waits before
	// trying again to lease its needs.
	Wait time.Duration
	// StepReservedConcurrency caps each step function's concurrency (0 =
	// unreserved). A cap delays constructions (Step Functions retries a
	// throttled step, then the construction fails): keep it above the
	// number of constructions that run at once.
	StepReservedConcurrency int
	// ConverterFunctions are the Lambda functions (names or ARNs) that
	// types with config.type Lambda name: mason-construct may invoke
	// them, nothing else.
	ConverterFunctions []string
	// ExecutionsFailed and ExecutionsTimedOut are the alarm thresholds
	// (sum over 5 minutes) of executions that failed (a construction that
	// failed ends in the Fail state ConstructionFailed, after releasing
	// everything) and that timed out.
	ExecutionsFailed, ExecutionsTimedOut float64
}

// Mason output and file names.
const (
	// OutputMasonStateMachine is the output with the state machine's ARN.
	OutputMasonStateMachine = "MasonStateMachineArn"
	// MasonDocumentFile is the workflow document, relative to the
	// repository's root (core/mason embeds the same file as
	// mason.Document).
	MasonDocumentFile = "core/mason/workflow.asl.json"
	// StepTimeoutMargin is how much longer a step function may run than
	// its Task state's TimeoutSeconds, so that Step Functions' own
	// States.Timeout (which the document retries) comes first.
	StepTimeoutMargin = 5 * time.Second
	// maxFunctionTimeout is Lambda's bound.
	maxFunctionTimeout = 900 * time.Second
)

// stepSettings are the memory, timeout and reserved concurrency of the
// step function f: the jobs' memory, and its Task state's TimeoutSeconds
// plus StepTimeoutMargin (at most Lambda's 900 s).
func (b *Stack) stepSettings(f deploy.Function) (memory int, timeout time.Duration, reserved int) {
	timeout = maxFunctionTimeout
	tasks, err := mason.DocumentTasks()
	if err == nil { // New checked the document before any function
		for _, t := range tasks {
			if t.Name == f.Step && t.TimeoutSeconds > 0 {
				timeout = min(time.Duration(t.TimeoutSeconds)*time.Second+StepTimeoutMargin, maxFunctionTimeout)
			}
		}
	}
	return b.Settings.JobMemoryMB, timeout, b.Settings.Mason.StepReservedConcurrency
}

// checkMasonDocument checks, before anything is defined, that the
// repository's workflow document is core/mason's and that every Task
// state has a step function.
func checkMasonDocument(root string) ([]byte, error) {
	doc, err := os.ReadFile(filepath.Join(root, MasonDocumentFile))
	if err != nil {
		return nil, fmt.Errorf("mason: %w", err)
	}
	if string(doc) != string(mason.Document) {
		return nil, fmt.Errorf("mason: %s is not the document core/mason was built with (rebuild the app)", MasonDocumentFile)
	}
	tasks, err := mason.DocumentTasks()
	if err != nil {
		return nil, err
	}
	steps := deploy.StepFunctions()
	for _, t := range tasks {
		if _, ok := steps[t.Name]; !ok {
			return nil, fmt.Errorf("mason: the Task state %s has no step function in core/deploy", t.Name)
		}
	}
	return doc, nil
}

// mason defines the workflow's Standard state machine from the document
// (read at synth time), each Task's Resource substituted with the ARN of
// its step function, which its role may invoke and nothing else; logs and
// X-Ray per environment; the dispatcher's state machine ARN and
// states:StartExecution on it; mason-fulfill's wait; mason-construct's
// invoke grant on the converter functions; alarms on failed and timed-out
// executions; the dashboard's Mason row; the output.
func (b *Stack) mason(removal awscdk.RemovalPolicy, doc []byte) error {
	s := b.Settings
	tasks, err := mason.DocumentTasks()
	if err != nil {
		return err
	}
	logs := awslogs.NewLogGroup(b.Stack, jsii.String("MasonStateMachineLogs"), &awslogs.LogGroupProps{
		// The prefix CloudWatch Logs keeps the resource policy small for.
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + s.StackName + "-mason"),
		Retention:     s.LogRetention,
		RemovalPolicy: removal,
	})
	role := awsiam.NewRole(b.Stack, jsii.String("MasonStateMachineRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
		Description: jsii.String("Boskos Mason workflow: invoke its step functions, log, trace"),
	})
	subs := map[string]*string{}
	var arns []*string
	steps := deploy.StepFunctions()
	for _, t := range tasks {
		fn, ok := b.Functions[steps[t.Name].Name]
		if !ok {
			return fmt.Errorf("mason: no function %s for the Task state %s", steps[t.Name].Name, t.Name)
		}
		subs[mason.TaskResourceVariable(t.Name)] = fn.FunctionArn()
		arns = append(arns, fn.FunctionArn())
	}
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("InvokeSteps"), Actions: jsii.Strings("lambda:InvokeFunction"), Resources: &arns,
	}))
	sm := awsstepfunctions.NewStateMachine(b.Stack, jsii.String("MasonStateMachine"), &awsstepfunctions.StateMachineProps{
		Comment:                 jsii.String("Boskos Mason (" + s.Env + "): one execution per virtual resource under construction"),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(doc))),
		DefinitionSubstitutions: &subs,
		Role:                    role,
		Logs: &awsstepfunctions.LogOptions{
			Destination: logs, Level: s.Mason.LogLevel, IncludeExecutionData: jsii.Bool(s.Mason.LogExecutionData),
		},
		TracingEnabled: jsii.Bool(s.Mason.Tracing),
		// It holds no data (the store does): deleted with the stack even
		// where the table and the logs are retained.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	b.StateMachine = sm

	dispatch := b.Functions[deploy.FnMasonDispatch]
	dispatch.AddEnvironment(jsii.String(deploy.EnvMasonStateMachineARN), sm.StateMachineArn(), nil)
	dispatch.Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("StartExecutions"), Actions: jsii.Strings("states:StartExecution"), Resources: &[]*string{sm.StateMachineArn()},
	}))
	b.Functions[deploy.FnMasonFulfill].AddEnvironment(jsii.String(deploy.EnvMasonWait), jsii.String(s.Mason.Wait.String()), nil)
	if len(s.Mason.ConverterFunctions) > 0 {
		var fns []*string
		for _, f := range s.Mason.ConverterFunctions {
			fns = append(fns, b.lambdaARN(f))
		}
		b.Functions[deploy.FnMasonConstruct].Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ConverterFunctions"), Actions: jsii.Strings("lambda:InvokeFunction"), Resources: &fns,
		}))
	}

	period := awscdk.Duration_Minutes(jsii.Number(5))
	sum := &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}
	action := awscloudwatchactions.NewSnsAction(b.Topic)
	for _, a := range []struct {
		id, desc  string
		metric    awscloudwatch.Metric
		threshold float64
	}{
		{"MasonExecutionsFailed", "Boskos Mason: constructions that failed (their resources were released as dirty; the reason is in the virtual resource's masonError)",
			sm.MetricFailed(sum), s.Mason.ExecutionsFailed},
		{"MasonExecutionsTimedOut", "Boskos Mason: executions that timed out (the dispatcher releases their claims once stale)",
			sm.MetricTimedOut(sum), s.Mason.ExecutionsTimedOut},
	} {
		awscloudwatch.NewAlarm(b.Stack, jsii.String(a.id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(a.desc),
			Metric:             a.metric,
			Threshold:          jsii.Number(a.threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}).AddAlarmAction(action)
	}

	labelled := func(label string, m awscloudwatch.Metric) awscloudwatch.IMetric {
		return m.With(&awscloudwatch.MetricOptions{Label: jsii.String(label)})
	}
	graph := func(title string, ms ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &ms, Width: jsii.Number(12)})
	}
	b.Dashboard.AddWidgets(
		graph("Mason executions",
			labelled("started", sm.MetricStarted(sum)), labelled("succeeded", sm.MetricSucceeded(sum)),
			labelled("failed", sm.MetricFailed(sum)), labelled("timed out", sm.MetricTimedOut(sum))),
		graph("Mason: virtual resources constructed, failures",
			b.emfMetric(deploy.FnMasonFree, emf.MasonConstructed, &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum"), Label: jsii.String("constructed")}),
			b.emfMetric(deploy.FnMasonGarbageCollect, emf.MasonFailures, &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum"), Label: jsii.String("failed")})),
	)
	awscdk.NewCfnOutput(b.Stack, jsii.String(OutputMasonStateMachine), &awscdk.CfnOutputProps{
		Description: jsii.String("Mason's workflow: one execution per virtual resource under construction."),
		Value:       sm.StateMachineArn(),
	})

	// Step Functions' CloudWatch Logs delivery (logs:CreateLogDelivery,
	// ...) and X-Ray (xray:PutTraceSegments, ...) support no
	// resource-level permissions: IAM accepts only Resource "*". The role
	// invokes exactly the step functions.
	suppress(role, true, "AwsSolutions-IAM5",
		"Step Functions' log delivery and X-Ray actions support no resource-level permissions (Resource \"*\" only); lambda:InvokeFunction is limited to the five step functions",
		"Resource::*")
	return nil
}

// lambdaARN is the ARN of a Lambda function given by name or ARN.
func (b *Stack) lambdaARN(fn string) *string {
	if strings.HasPrefix(fn, "arn:") {
		return jsii.String(fn)
	}
	return b.Stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("lambda"), Resource: jsii.String("function"), ResourceName: jsii.String(fn),
		ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}
