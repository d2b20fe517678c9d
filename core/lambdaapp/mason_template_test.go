package lambdaapp_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/mason"
)

// samStateMachine is what TestSAMTemplateMason reads of the state machine.
type samStateMachine struct {
	Type       string `json:"Type"`
	Properties struct {
		Type                    string            `json:"Type"`
		DefinitionURI           string            `json:"DefinitionUri"`
		DefinitionSubstitutions map[string]string `json:"DefinitionSubstitutions"`
		Logging                 struct {
			Level        string `json:"Level"`
			Destinations []any  `json:"Destinations"`
		} `json:"Logging"`
		Tracing struct {
			Enabled bool `json:"Enabled"`
		} `json:"Tracing"`
		Policies []struct {
			Statement []struct {
				Action   any `json:"Action"`
				Resource any `json:"Resource"`
			} `json:"Statement"`
		} `json:"Policies"`
	} `json:"Properties"`
}

// TestSAMTemplateMason: template.yaml's Mason is the workflow document
// (DefinitionUri) as a Standard state machine with logs and X-Ray, each
// Task state's placeholder substituted with the ARN of its step's
// function, allowed to invoke exactly those functions; each step function
// is granted exactly its DynamoDB actions (core/deploy, proven by
// TestMasonDynamoDBActions), reads only its variables and times out 5 s
// after its Task state does (at most 900 s); the MasonWait parameter
// defaults to the workflow's wait. The dispatcher is checked by
// TestSAMTemplateJobs.
func TestSAMTemplateMason(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	var tpl struct {
		Parameters map[string]struct {
			Default string `json:"Default"`
		} `json:"Parameters"`
		Resources map[string]samFunction `json:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &tpl))
	mc, err := lambdaapp.MasonFromEnv(deploy.FnMasonFulfill, env(map[string]string{
		lambdaapp.EnvTable: "boskos", lambdaapp.EnvMasonWait: tpl.Parameters["MasonWait"].Default}))
	require.NoError(t, err)
	assert.Equal(t, mason.DefaultWait, mc.Wait, "the MasonWait parameter's default is the workflow's")
	var machines struct {
		Resources map[string]samStateMachine `json:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &machines))

	byFunction := map[string]string{} // function name -> logical id
	for id, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::Function" {
			byFunction[strings.Trim(strings.TrimPrefix(r.Properties.CodeUri, "build/"), "/")] = id
		}
	}
	tasks, err := mason.DocumentTasks()
	require.NoError(t, err)
	steps := deploy.StepFunctions()
	var invoke []string
	for _, task := range tasks {
		f := steps[task.Name]
		id, ok := byFunction[f.Name]
		require.True(t, ok, "template.yaml has no function %s (the %s step)", f.Name, task.Name)
		invoke = append(invoke, id+".Arn")
		t.Run(f.Name, func(t *testing.T) {
			p := tpl.Resources[id].Properties
			ddb, s3, states, cond := policyActions(t, id, p.Policies)
			assert.Empty(t, cond, "%s: no conditional grants", id)
			var want []string
			for _, a := range f.DynamoDBActions {
				want = append(want, strings.TrimPrefix(a, "dynamodb:"))
			}
			assert.Equal(t, want, ddb, "%s: the DynamoDB actions of %s", id, f.Name)
			assert.Empty(t, s3)
			assert.Empty(t, states)
			for k := range p.Environment.Variables {
				assert.Contains(t, lambdaapp.MasonStepEnv[f.Name], k, "%s sets %s, which it does not read", id, k)
			}
			for _, k := range lambdaapp.MasonStepEnv[f.Name] {
				assert.Contains(t, p.Environment.Variables, k, "%s: %s", id, k)
			}
			assert.Equal(t, min(task.TimeoutSeconds+5, 900), p.Timeout, "%s: timeout", id)
			assert.Empty(t, p.Events, "%s: invoked by the state machine only", id)
		})
	}

	var ids []string
	for id, r := range machines.Resources {
		if r.Type == "AWS::Serverless::StateMachine" {
			ids = append(ids, id)
		}
	}
	require.Equal(t, []string{"MasonStateMachine"}, ids, "one state machine")
	sm := machines.Resources["MasonStateMachine"].Properties
	assert.Equal(t, "STANDARD", sm.Type)
	doc, err := os.ReadFile("../../" + sm.DefinitionURI)
	require.NoError(t, err, "DefinitionUri")
	assert.Equal(t, string(mason.Document), string(doc), "DefinitionUri is core/mason's document")
	wantSubs := map[string]string{}
	for _, task := range tasks {
		wantSubs[mason.TaskResourceVariable(task.Name)] = byFunction[steps[task.Name].Name] + ".Arn"
	}
	assert.Equal(t, wantSubs, sm.DefinitionSubstitutions, "every Task's placeholder is its step function's ARN")
	assert.Equal(t, "ALL", sm.Logging.Level)
	assert.Len(t, sm.Logging.Destinations, 1)
	assert.True(t, sm.Tracing.Enabled, "X-Ray")
	var got []string
	for _, pol := range sm.Policies {
		for _, st := range pol.Statement {
			for _, a := range strs(st.Action) {
				switch {
				case a == "lambda:InvokeFunction":
					got = append(got, strs(st.Resource)...)
				case strings.HasPrefix(a, "logs:") || strings.HasPrefix(a, "xray:"):
					// Log delivery and X-Ray: no resource-level permissions.
				default:
					t.Errorf("the state machine may %s", a)
				}
			}
		}
	}
	sort.Strings(got)
	sort.Strings(invoke)
	assert.Equal(t, invoke, got, "the state machine invokes exactly the step functions")
}
