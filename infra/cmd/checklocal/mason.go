package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/mason"
)

// checkMason checks Mason's state machine through the Step Functions API:
// it exists, is a Standard one, its definition has the document's Task
// states, each Task's Resource is its step function's ARN (or, where the
// emulator does not apply DefinitionSubstitutions, still the document's
// placeholder: a gap), and the dispatcher's BOSKOS_MASON_STATE_MACHINE_ARN
// is its ARN. machine is its physical id (the ARN); fnARN the functions'
// ARNs by name.
func (c *checker) checkMason(cfg aws.Config, machine string, fnARN map[string]string) {
	if machine == "" {
		c.fail("mason: the state machine was not created")
		return
	}
	out, err := sfn.NewFromConfig(cfg).DescribeStateMachine(c.ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(machine)})
	if err != nil {
		c.fail("mason: state machine %s: %v", machine, err)
		return
	}
	if out.Type != "STANDARD" {
		c.fail("mason: state machine %s is %s, want STANDARD", machine, out.Type)
	}
	var doc struct {
		States map[string]struct {
			Type     string `json:"Type"`
			Resource string `json:"Resource"`
		} `json:"States"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Definition)), &doc); err != nil {
		c.fail("mason: state machine %s: definition: %v", machine, err)
		return
	}
	tasks, err := mason.DocumentTasks()
	if err != nil {
		c.fail("mason: %v", err)
		return
	}
	steps := deploy.StepFunctions()
	var unsubstituted []string
	for _, t := range tasks {
		st, ok := doc.States[t.Name]
		if !ok || st.Type != "Task" {
			c.fail("mason: the deployed definition has no Task state %s", t.Name)
			continue
		}
		want := fnARN[steps[t.Name].Name]
		switch st.Resource {
		case want:
		case mason.TaskResource(t.Name):
			unsubstituted = append(unsubstituted, t.Name)
		default:
			c.fail("mason: Task state %s has Resource %s, want %s's ARN %s", t.Name, st.Resource, steps[t.Name].Name, want)
		}
	}
	sort.Strings(unsubstituted)
	if len(unsubstituted) > 0 {
		fmt.Printf("gap: mason: the emulator did not apply DefinitionSubstitutions: Task states %v keep their ${...FunctionArn} placeholders (the template substitutes them: see the CDK assertion tests)\n", unsubstituted)
	}
	if len(unsubstituted) < len(tasks) {
		c.ok("mason: %d Task states invoke their step functions", len(tasks)-len(unsubstituted))
	}
	var ignored []string
	if lc := out.LoggingConfiguration; lc == nil || lc.Level == "" || lc.Level == "OFF" || len(lc.Destinations) == 0 {
		ignored = append(ignored, "LoggingConfiguration")
	}
	if tc := out.TracingConfiguration; tc == nil || !tc.Enabled {
		ignored = append(ignored, "TracingConfiguration")
	}
	if len(ignored) > 0 {
		fmt.Printf("gap: mason: the emulator ignored the state machine's %v (the template sets them per environment)\n", ignored)
	}
	if name, ok := fnARN[deploy.FnMasonDispatch]; ok {
		fc, err := lambda.NewFromConfig(cfg).GetFunctionConfiguration(c.ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		switch {
		case err != nil:
			c.fail("mason: dispatcher: %v", err)
		case fc.Environment == nil || fc.Environment.Variables[deploy.EnvMasonStateMachineARN] != machine:
			c.fail("mason: dispatcher's %s is not the state machine %s", deploy.EnvMasonStateMachineARN, machine)
		}
	}
	c.ok("mason: state machine %s (%s, %d states: %s)", machine, out.Type, len(doc.States), strings.Join(stateNames(doc.States), ", "))
}

func stateNames[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
