package stack_test

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
	"github.com/boskos-serverless/boskos/infra/stack"
)

// stepWant are the memory, timeout and reserved concurrency of the step
// function f: the jobs' memory, its Task state's TimeoutSeconds plus
// stack.StepTimeoutMargin (at most 900 s), Mason's reserved concurrency.
func stepWant(t assert.TestingT, s stack.Settings, f deploy.Function) (int, time.Duration, int) {
	tasks, err := mason.DocumentTasks()
	assert.NoError(t, err)
	timeout := time.Duration(0)
	for _, tk := range tasks {
		if tk.Name == f.Step {
			timeout = min(time.Duration(tk.TimeoutSeconds)*time.Second+stack.StepTimeoutMargin, 900*time.Second)
		}
	}
	assert.NotZero(t, timeout, "%s: the document has no Task state %s", f.Name, f.Step)
	return s.JobMemoryMB, timeout, s.Mason.StepReservedConcurrency
}

// masonActions are the actions Mason adds to function f's role.
func masonActions(s stack.Settings, f deploy.Function) []string {
	switch {
	case f.Name == deploy.FnMasonDispatch:
		return []string{"states:StartExecution"}
	case f.Name == deploy.FnMasonConstruct && len(s.Mason.ConverterFunctions) > 0:
		return []string{"lambda:InvokeFunction"}
	}
	return nil
}

// checkMason: one Standard state machine whose definition is core/mason's
// document with every Task state's placeholder substituted with the ARN
// of its step function (so every Task state of the document has its
// function in the stack), logging and tracing as the environment says,
// a role that may invoke exactly the step functions (and deliver logs
// and traces, which have no resource-level permissions); the dispatcher
// gets its ARN and may start executions of it alone; mason-fulfill gets
// the wait; mason-construct may invoke exactly the converter functions;
// the dashboard shows Mason's metrics; the output names the machine.
func checkMason(t assert.TestingT, s *synthesized) {
	machines := s.ofType("AWS::StepFunctions::StateMachine")
	if !assert.Equal(t, []string{s.machineID}, machines, "one state machine") {
		return
	}
	p := s.props(s.machineID)
	assert.Equal(t, "STANDARD", p["StateMachineType"])
	assert.Equal(t, string(mason.Document), p["DefinitionString"], "the definition is core/mason's document")
	tasks, err := mason.DocumentTasks()
	if !assert.NoError(t, err) {
		return
	}
	subs, _ := p["DefinitionSubstitutions"].(map[string]any)
	steps := deploy.StepFunctions()
	want := map[string]any{}
	var invoke []string
	for _, tk := range tasks {
		f, ok := steps[tk.Name]
		if !assert.True(t, ok, "Task state %s: no step function in core/deploy", tk.Name) {
			continue
		}
		id, ok := s.fnIDs[f.Name]
		if !assert.True(t, ok, "Task state %s: the stack has no function %s", tk.Name, f.Name) {
			continue
		}
		want[mason.TaskResourceVariable(tk.Name)] = getAtt(id, "Arn")
		invoke = append(invoke, jsonOf(getAtt(id, "Arn")))
		assert.True(t, strings.Contains(p["DefinitionString"].(string), `"Resource": "`+mason.TaskResource(tk.Name)+`"`), "Task state %s's Resource", tk.Name)
	}
	assert.Equal(t, jsonOf(want), jsonOf(subs), "DefinitionSubstitutions: each Task state's placeholder -> its step function's ARN")

	ms := s.settings.Mason
	lc, _ := p["LoggingConfiguration"].(map[string]any)
	if assert.NotNil(t, lc, "logging") {
		assert.Equal(t, string(ms.LogLevel), lc["Level"], "log level")
		assert.Equal(t, ms.LogExecutionData, lc["IncludeExecutionData"], "execution data in the logs")
		dests, _ := lc["Destinations"].([]any)
		if assert.Len(t, dests, 1) {
			arn := dests[0].(map[string]any)["CloudWatchLogsLogGroup"].(map[string]any)["LogGroupArn"].(map[string]any)["Fn::GetAtt"].([]any)
			lg := s.props(arn[0].(string))
			assert.Equal(t, string(s.settings.LogRetention), retentionName(lg["RetentionInDays"]), "log retention")
			assert.True(t, strings.HasPrefix(lg["LogGroupName"].(string), "/aws/vendedlogs/states/"), "a vended-logs group")
		}
	}
	assert.Equal(t, jsonOf(map[string]any{"Enabled": ms.Tracing}), jsonOf(p["TracingConfiguration"]), "X-Ray")

	role := p["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	var invoked []string
	for _, st := range s.statements(role) {
		assert.Equal(t, "Allow", st["Effect"])
		for _, a := range strs(st["Action"]) {
			switch {
			case a == "lambda:InvokeFunction":
				if res, ok := st["Resource"].([]any); ok {
					for _, r := range res {
						invoked = append(invoked, jsonOf(r))
					}
				} else {
					invoked = append(invoked, jsonOf(st["Resource"]))
				}
			case strings.HasPrefix(a, "logs:") || strings.HasPrefix(a, "xray:"):
				assert.Equal(t, "*", st["Resource"], "%s", a)
			default:
				assert.Fail(t, "unexpected action", "the state machine's role may %s", a)
			}
		}
	}
	sort.Strings(invoke)
	sort.Strings(invoked)
	assert.Equal(t, invoke, invoked, "the state machine invokes exactly its step functions")

	dp := s.props(s.fnIDs[deploy.FnMasonDispatch])
	vars := dp["Environment"].(map[string]any)["Variables"].(map[string]any)
	assert.True(t, same(ref(s.machineID), vars[deploy.EnvMasonStateMachineARN]), "the dispatcher's %s", deploy.EnvMasonStateMachineARN)
	var started []string
	for _, st := range s.statements(s.roleIDs[deploy.FnMasonDispatch]) {
		if slices.Contains(strs(st["Action"]), "states:StartExecution") {
			started = append(started, jsonOf(st["Resource"]))
		}
	}
	assert.Equal(t, []string{jsonOf(ref(s.machineID))}, started, "the dispatcher starts executions of the state machine only")
	fv := s.props(s.fnIDs[deploy.FnMasonFulfill])["Environment"].(map[string]any)["Variables"].(map[string]any)
	assert.Equal(t, ms.Wait.String(), fv[deploy.EnvMasonWait], "mason-fulfill's wait")

	var conv []string
	for _, st := range s.statements(s.roleIDs[deploy.FnMasonConstruct]) {
		if slices.Contains(strs(st["Action"]), "lambda:InvokeFunction") {
			conv = append(conv, jsonOf(st["Resource"]))
		}
	}
	if len(ms.ConverterFunctions) == 0 {
		assert.Empty(t, conv, "mason-construct invokes nothing without converter functions")
	} else if assert.Len(t, conv, 1) {
		for _, f := range ms.ConverterFunctions {
			assert.Contains(t, conv[0], f, "mason-construct may invoke the converter %s", f)
		}
	}

	out, ok := s.tpl.Outputs[stack.OutputMasonStateMachine]
	if assert.True(t, ok, "output %s", stack.OutputMasonStateMachine) {
		assert.True(t, same(ref(s.machineID), out["Value"]))
	}
	dash := s.ofType("AWS::CloudWatch::Dashboard")
	if assert.Len(t, dash, 1) {
		body := jsonOf(s.props(dash[0])["DashboardBody"])
		for _, m := range []string{emf.MasonConstructed, emf.MasonFailures, "ExecutionsFailed", "ExecutionsStarted"} {
			assert.Contains(t, body, m, "dashboard: %s", m)
		}
	}
}

// TestMasonConverterFunctions: with converter functions in the settings,
// mason-construct may invoke exactly them (by name or ARN); every other
// check still passes.
func TestMasonConverterFunctions(t *testing.T) {
	s := shared(t, "dev+converters", func() (*synthesized, error) {
		settings, _ := stack.Lookup("dev")
		settings.Mason.ConverterFunctions = []string{"cluster-builder", "arn:aws:lambda:us-east-1:123456789012:function:other-builder"}
		return synthStack(settings, nil)
	})
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.check(t, s) })
	}
	t.Run("cdk-nag", func(t *testing.T) { assert.Empty(t, s.nag) })
	var conv string
	for _, st := range s.statements(s.roleIDs[deploy.FnMasonConstruct]) {
		if slices.Contains(strs(st["Action"]), "lambda:InvokeFunction") {
			conv = jsonOf(st["Resource"])
		}
	}
	assert.Contains(t, conv, ":function:cluster-builder")
	assert.Contains(t, conv, "arn:aws:lambda:us-east-1:123456789012:function:other-builder")
	assert.NotContains(t, conv, "*")
}

// TestMasonChecksCatchBrokenStack: the check fails on real mistakes: a
// Task state whose placeholder points at another step's function, a
// state machine role that may invoke a function that is not a step, a
// dispatcher allowed to start executions of any state machine.
func TestMasonChecksCatchBrokenStack(t *testing.T) {
	s := shared(t, "broken-mason", func() (*synthesized, error) {
		settings, _ := stack.Lookup("dev")
		return synthStack(settings, func(st *stack.Stack) {
			recycle := st.Functions[deploy.FnMasonRecycle].Node().DefaultChild().(awscdk.CfnElement)
			cfn := st.StateMachine.Node().DefaultChild().(awsstepfunctions.CfnStateMachine)
			cfn.AddPropertyOverride(strPtr("DefinitionSubstitutions.FreeFunctionArn"),
				map[string]any{"Fn::GetAtt": []any{*st.GetLogicalId(recycle), "Arn"}})
			st.StateMachine.Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("lambda:InvokeFunction"), Resources: jsii.Strings("arn:aws:lambda:us-east-1:123456789012:function:somebody-else"),
			}))
			st.Functions[deploy.FnMasonDispatch].Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("states:StartExecution"), Resources: jsii.Strings("*"),
			}))
		})
	})
	var r recorder
	checkMason(&r, s)
	msgs := strings.Join(r.failures, "\n")
	for _, want := range []string{
		"DefinitionSubstitutions: each Task state's placeholder -> its step function's ARN",
		"the state machine invokes exactly its step functions",
		"the dispatcher starts executions of the state machine only",
	} {
		assert.Contains(t, msgs, want)
	}
}

// TestSAMMasonParity: template.yaml and the CDK stack deploy the same
// Mason: each Task state's placeholder substituted with the same step
// function's ARN, the step functions with the same timeouts, the
// dispatcher and the step functions with the same Step Functions and
// Lambda actions.
func TestSAMMasonParity(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	require.NoError(t, err)
	var sam struct {
		Resources map[string]struct {
			Type       string `json:"Type"`
			Properties struct {
				CodeUri                 string            `json:"CodeUri"`
				Timeout                 float64           `json:"Timeout"`
				DefinitionURI           string            `json:"DefinitionUri"`
				DefinitionSubstitutions map[string]string `json:"DefinitionSubstitutions"`
				Policies                []struct {
					Statement []struct {
						Action any `json:"Action"`
					} `json:"Statement"`
				} `json:"Policies"`
			} `json:"Properties"`
		} `json:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &sam))
	s := envStack(t, "dev")

	samFn := map[string]string{} // logical id -> function name
	samSubs := map[string]string{}
	samTimeouts, samActions := map[string]float64{}, map[string][]string{}
	for id, r := range sam.Resources {
		switch r.Type {
		case "AWS::Serverless::Function":
			fn := strings.Trim(strings.TrimPrefix(r.Properties.CodeUri, "build/"), "/")
			samFn[id] = fn
			samTimeouts[fn] = r.Properties.Timeout
			for _, pol := range r.Properties.Policies {
				for _, st := range pol.Statement {
					samActions[fn] = append(samActions[fn], masonCompared(strs(st.Action))...)
				}
			}
		case "AWS::Serverless::StateMachine":
			assert.Equal(t, stack.MasonDocumentFile, r.Properties.DefinitionURI)
			for v, att := range r.Properties.DefinitionSubstitutions {
				samSubs[v] = strings.TrimSuffix(att, ".Arn") // !GetAtt X.Arn reads as "X.Arn"
			}
		}
	}
	for v, id := range samSubs {
		samSubs[v] = samFn[id]
	}

	cdkSubs := map[string]string{}
	for v, att := range s.props(s.machineID)["DefinitionSubstitutions"].(map[string]any) {
		id := att.(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		for name, fid := range s.fnIDs {
			if fid == id {
				cdkSubs[v] = name
			}
		}
	}
	assert.Equal(t, cdkSubs, samSubs, "Task placeholder -> step function: CDK, SAM")
	for _, f := range deploy.Functions {
		if f.Kind != deploy.Step && f.Name != deploy.FnMasonDispatch {
			continue
		}
		var cdk []string
		for _, st := range s.statements(s.roleIDs[f.Name]) {
			cdk = append(cdk, masonCompared(strs(st["Action"]))...)
		}
		assert.Equal(t, compact(cdk), compact(samActions[f.Name]), "%s: Step Functions and Lambda actions, CDK vs SAM", f.Name)
		if f.Kind == deploy.Step {
			assert.EqualValues(t, s.props(s.fnIDs[f.Name])["Timeout"], samTimeouts[f.Name], "%s: timeout, CDK vs SAM", f.Name)
		}
	}
}

// masonCompared keeps the Step Functions and Lambda actions.
func masonCompared(acts []string) []string {
	var out []string
	for _, a := range acts {
		if strings.HasPrefix(a, "states:") || strings.HasPrefix(a, "lambda:") {
			out = append(out, a)
		}
	}
	return out
}

func compact(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return slices.Compact(s)
}
