package asl_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
)

// TestParseRefuses: each document has one problem; its message names the
// state and the field.
func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []string
	}{
		{"not JSON", `{"StartAt":`, []string{`state machine: must be a JSON object`}},
		{"not an object", `[1]`, []string{`state machine: must be a JSON object`}},
		{"no StartAt", `{"States": {"A": {"Type": "Succeed"}}}`, []string{`state machine: field "StartAt" is required`}},
		{"no States", `{"StartAt": "A"}`, []string{`state machine: field "States" is required`}},
		{"empty States", `{"StartAt": "A", "States": {}}`, []string{`state machine: field "States": must be a non-empty object`}},
		{"StartAt names no state", `{"StartAt": "X", "States": {"A": {"Type": "Succeed"}}}`,
			[]string{`state machine: field "StartAt": no state named "X"`}},
		{"unknown top-level field", `{"StartAt": "A", "Foo": 1, "States": {"A": {"Type": "Succeed"}}}`,
			[]string{`state machine: field "Foo": unknown field`}},
		{"bad Version", `{"StartAt": "A", "Version": "2.0", "States": {"A": {"Type": "Succeed"}}}`,
			[]string{`state machine: field "Version": must be "1.0"`}},
		{"machine TimeoutSeconds not an integer", `{"StartAt": "A", "TimeoutSeconds": 1.5, "States": {"A": {"Type": "Succeed"}}}`,
			[]string{`state machine: field "TimeoutSeconds": must be an integer from 1 to 99999999`}},
		{"JSONata", `{"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Succeed"}}}`,
			[]string{`state machine: field "QueryLanguage": JSONata is not supported`}},

		{"missing Next target", machine(`"A": {"Type": "Pass", "Next": "Nope"}`),
			[]string{`state "A": field "Next": no state named "Nope"`}},
		{"missing Default target", machine(`"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "B"}], "Default": "Nope"}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": field "Default": no state named "Nope"`}},
		{"missing Choice rule target", machine(`"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "Nope"}], "Default": "B"}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": field "Choices[0].Next": no state named "Nope"`}},
		{"missing Catch target", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Nope"}]}`),
			[]string{`state "A": field "Catch[0].Next": no state named "Nope"`}},
		{"unreachable state", machine(`"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}`),
			[]string{`state "B": not reachable from StartAt`}},
		{"unknown state type", machine(`"A": {"Type": "Sleep", "End": true}`),
			[]string{`state "A": field "Type": unknown state type "Sleep"`}},
		{"no Type", machine(`"A": {"End": true}`), []string{`state "A": field "Type" is required`}},
		{"Map refused", machine(`"A": {"Type": "Map", "End": true}`),
			[]string{`state "A": field "Type": state type Map is not supported by this runner`}},
		{"Parallel refused", machine(`"A": {"Type": "Parallel", "End": true}`),
			[]string{`state "A": field "Type": state type Parallel is not supported by this runner`}},
		{"unknown field", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retries": 3}`),
			[]string{`state "A": field "Retries": unknown field`}},
		{"field of another state type", machine(`"A": {"Type": "Pass", "End": true, "Resource": "r"}`),
			[]string{`state "A": field "Resource": unknown field`}},
		{"HeartbeatSeconds refused", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "HeartbeatSeconds": 10}`),
			[]string{`state "A": field "HeartbeatSeconds": not supported by this runner (heartbeats)`}},
		{"Assign refused", machine(`"A": {"Type": "Pass", "End": true, "Assign": {"x": 1}}`),
			[]string{`state "A": field "Assign": not supported by this runner (workflow variables)`}},
		{"state QueryLanguage JSONata", machine(`"A": {"Type": "Pass", "End": true, "QueryLanguage": "JSONata"}`),
			[]string{`state "A": field "QueryLanguage": JSONata is not supported`}},
		{"Task without Resource", machine(`"A": {"Type": "Task", "End": true}`),
			[]string{`state "A": field "Resource" is required`}},
		{"Task TimeoutSeconds 0", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "TimeoutSeconds": 0}`),
			[]string{`state "A": field "TimeoutSeconds": must be an integer from 1 to 99999999`}},
		{"Next and End", machine(`"A": {"Type": "Pass", "Next": "A", "End": true}`),
			[]string{`state "A": has both "Next" and "End"`}},
		{"neither Next nor End", machine(`"A": {"Type": "Pass"}`),
			[]string{`state "A": needs "Next" or "End": true`}},
		{"End false", machine(`"A": {"Type": "Pass", "End": false}`),
			[]string{`state "A": field "End": must be true`}},
		{"Choice with End", machine(`"A": {"Type": "Choice", "End": true, "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "A"}]}`),
			[]string{`state "A": field "End": a Choice state has no Next or End`}},
		{"Succeed with Next", machine(`"A": {"Type": "Succeed", "Next": "A"}`),
			[]string{`state "A": field "Next": a Succeed state ends the execution`}},
		{"Fail with InputPath", machine(`"A": {"Type": "Fail", "InputPath": "$"}`),
			[]string{`state "A": field "InputPath": unknown field`}},
		{"Fail with Error and ErrorPath", machine(`"A": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}`),
			[]string{`state "A": has both "Error" and "ErrorPath"`}},

		{"States.ALL not last in Retry", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}]}`),
			[]string{`state "A": Retry[0]: field "ErrorEquals": States.ALL must be in the last retrier`}},
		{"States.ALL not last in Catch", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "A"}, {"ErrorEquals": ["E"], "Next": "A"}]}`),
			[]string{`state "A": Catch[0]: field "ErrorEquals": States.ALL must be in the last catcher`}},
		{"States.ALL not alone", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["E", "States.ALL"]}]}`),
			[]string{`state "A": Retry[0]: field "ErrorEquals": States.ALL must be the only error name in its ErrorEquals`}},
		{"empty ErrorEquals", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": []}]}`),
			[]string{`state "A": Retry[0]: field "ErrorEquals": must be a non-empty array of error names`}},
		{"Retry not an array", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": {"ErrorEquals": ["E"]}}`),
			[]string{`state "A": field "Retry": must be a non-empty array`}},
		{"IntervalSeconds 0", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 0}]}`),
			[]string{`state "A": Retry[0]: field "IntervalSeconds": must be an integer from 1 to 99999999`}},
		{"MaxAttempts negative", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": -1}]}`),
			[]string{`state "A": Retry[0]: field "MaxAttempts": must be an integer from 0 to 99999999`}},
		{"BackoffRate below 1", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["E"], "BackoffRate": 0.5}]}`),
			[]string{`state "A": Retry[0]: field "BackoffRate": must be at least 1.0`}},
		{"MaxDelaySeconds 0", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["E"], "MaxDelaySeconds": 0}]}`),
			[]string{`state "A": Retry[0]: field "MaxDelaySeconds": must be an integer from 1 to 31622400`}},
		{"JitterStrategy FULL", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["E"], "JitterStrategy": "FULL"}]}`),
			[]string{`state "A": Retry[0]: field "JitterStrategy": FULL is not supported by this runner`}},
		{"unknown retrier field", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["E"], "Interval": 3}]}`),
			[]string{`state "A": Retry[0]: field "Interval": unknown field`}},
		{"catcher without Next", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Catch": [{"ErrorEquals": ["E"]}]}`),
			[]string{`state "A": Catch[0]: field "Next" is required`}},

		{"wildcard path", machine(`"A": {"Type": "Pass", "End": true, "InputPath": "$.items[*]"}`),
			[]string{`state "A": field "InputPath": path "$.items[*]": wildcards are not supported`}},
		{"recursive descent", machine(`"A": {"Type": "Pass", "End": true, "OutputPath": "$..a"}`),
			[]string{`state "A": field "OutputPath": path "$..a": recursive descent (..) is not supported`}},
		{"filter", machine(`"A": {"Type": "Pass", "End": true, "InputPath": "$.a[?(@.b)]"}`),
			[]string{`state "A": field "InputPath": path "$.a[?(@.b)]": filters and expressions are not supported`}},
		{"negative index", machine(`"A": {"Type": "Pass", "End": true, "InputPath": "$.a[-1]"}`),
			[]string{`state "A": field "InputPath": path "$.a[-1]": index [-1]`}},
		{"not a path", machine(`"A": {"Type": "Pass", "End": true, "InputPath": "a.b"}`),
			[]string{`state "A": field "InputPath": path "a.b": must start with $`}},
		{"InputPath not a string", machine(`"A": {"Type": "Pass", "End": true, "InputPath": 3}`),
			[]string{`state "A": field "InputPath": must be a string`}},
		{"ResultPath with index", machine(`"A": {"Type": "Pass", "End": true, "ResultPath": "$.a[0]"}`),
			[]string{`state "A": field "ResultPath": array indexes are not supported in a ResultPath`}},
		{"context object", machine(`"A": {"Type": "Pass", "End": true, "Parameters": {"id.$": "$$.Execution.Id"}}`),
			[]string{`state "A": field "Parameters.id.$": path "$$.Execution.Id": context object paths ($$) are not supported`}},
		{"intrinsic function", machine(`"A": {"Type": "Pass", "End": true, "Parameters": {"m.$": "States.Format('{}', $.a)"}}`),
			[]string{`state "A": field "Parameters.m.$": path "States.Format('{}', $.a)": intrinsic functions are not supported`}},
		{"nested Parameters path", machine(`"A": {"Type": "Task", "Resource": "r", "End": true, "Parameters": {"a": [{"b.$": "$.x[*]"}]}}`),
			[]string{`state "A": field "Parameters.a[0].b.$": path "$.x[*]": wildcards`}},
		{"Parameters .$ not a string", machine(`"A": {"Type": "Pass", "End": true, "Parameters": {"a.$": 1}}`),
			[]string{`state "A": field "Parameters.a.$": a field ending in .$ must be a path string`}},
		{"Parameters key twice", machine(`"A": {"Type": "Pass", "End": true, "Parameters": {"a": 1, "a.$": "$.a"}}`),
			[]string{`state "A": field "Parameters.a.$": both "a" and "a.$" give the field "a"`}},
		{"ResultSelector in Pass", machine(`"A": {"Type": "Pass", "End": true, "ResultSelector": {}}`),
			[]string{`state "A": field "ResultSelector": unknown field`}},

		{"Wait with two durations", machine(`"A": {"Type": "Wait", "End": true, "Seconds": 1, "SecondsPath": "$.s"}`),
			[]string{`state "A": needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath (has 2)`}},
		{"Wait without duration", machine(`"A": {"Type": "Wait", "End": true}`),
			[]string{`state "A": needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath (has 0)`}},
		{"Wait negative Seconds", machine(`"A": {"Type": "Wait", "End": true, "Seconds": -1}`),
			[]string{`state "A": field "Seconds": must be an integer from 0 to 99999999`}},
		{"Wait bad Timestamp", machine(`"A": {"Type": "Wait", "End": true, "Timestamp": "tomorrow"}`),
			[]string{`state "A": field "Timestamp": "tomorrow" is not an RFC 3339 timestamp`}},

		{"Choice without Choices", machine(`"A": {"Type": "Choice", "Default": "A"}`),
			[]string{`state "A": field "Choices" is required`}},
		{"rule without operator", machine(`"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "Next": "B"}]}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0]: no comparison operator`}},
		{"rule with two operators", machine(`"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "IsNull": false, "Next": "B"}]}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0]: more than one operator: IsNull, IsPresent`}},
		{"rule without Next", machine(`"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true}], "Default": "B"}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0]: field "Next" is required`}},
		{"nested rule with Next", machine(`"A": {"Type": "Choice", "Choices": [{"Not": {"Variable": "$.x", "IsPresent": true, "Next": "B"}, "Next": "B"}]}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0].Not: field "Next": a nested rule (inside And, Or or Not) has no Next`}},
		{"rule without Variable", machine(`"A": {"Type": "Choice", "Choices": [{"StringEquals": "x", "Next": "B"}]}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0]: field "Variable" is required with StringEquals`}},
		{"operand of the wrong type", machine(`"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": "1", "Next": "B"}]}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0]: field "NumericEquals": must be a number`}},
		{"StringMatches refused", machine(`"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringMatches": "a*", "Next": "B"}]}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0]: field "StringMatches": comparison operator not supported by this runner`}},
		{"TimestampEqualsPath refused", machine(`"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "TimestampEqualsPath": "$.y", "Next": "B"}]}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0]: field "TimestampEqualsPath": comparison operator not supported by this runner`}},
		{"empty And", machine(`"A": {"Type": "Choice", "Choices": [{"And": [], "Next": "B"}]}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0]: field "And": must be a non-empty array of rules`}},
		{"bad path in nested rule", machine(`"A": {"Type": "Choice", "Choices": [{"Or": [{"Variable": "$.x[*]", "IsNull": true}], "Next": "B"}]}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0].Or[0]: field "Variable": path "$.x[*]": wildcards`}},
		{"unknown field in rule", machine(`"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "B", "Else": "B"}]}, "B": {"Type": "Succeed"}`),
			[]string{`state "A": Choices[0]: field "Else": unknown field`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.doc)
			containsEach(t, got, tc.want...)
			assert.Len(t, got, len(tc.want), "got problems %q, want only %q", got, tc.want)
		})
	}
}

// TestParseReportsAllProblems: every problem of a document at once.
func TestParseReportsAllProblems(t *testing.T) {
	got := problems(t, machine(`
		"A": {"Type": "Task", "Resource": "r", "Next": "Nope", "HeartbeatSeconds": 5,
		      "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}]},
		"B": {"Type": "Loop"}`))
	assert.Equal(t, []string{
		`state "A": Retry[0]: field "ErrorEquals": States.ALL must be in the last retrier`,
		`state "A": field "HeartbeatSeconds": not supported by this runner (heartbeats)`,
		`state "B": field "Type": unknown state type "Loop" (supported: Task, Choice, Wait, Pass, Succeed, Fail)`,
		`state "A": field "Next": no state named "Nope"`,
		`state "B": not reachable from StartAt`,
	}, got)
	_, err := asl.Parse([]byte(machine(`"A": {"Type": "Pass"}, "B": {"Type": "Succeed"}`)))
	require.Error(t, err)
	assert.Equal(t, "asl: invalid state machine (2 problems):\n"+
		`  state "A": needs "Next" or "End": true`+"\n"+
		`  state "B": not reachable from StartAt`, err.Error())
}

// TestParseAccepts: documents of the supported subset parse.
func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
	}{
		{"comments everywhere, Version, QueryLanguage JSONPath", `{
			"Comment": "c", "Version": "1.0", "QueryLanguage": "JSONPath", "TimeoutSeconds": 60, "StartAt": "A",
			"States": {
				"A": {"Type": "Task", "Comment": "c", "QueryLanguage": "JSONPath", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
				      "Retry": [{"Comment": "c", "ErrorEquals": ["E"], "JitterStrategy": "NONE"}, {"ErrorEquals": ["States.ALL"]}],
				      "Catch": [{"Comment": "c", "ErrorEquals": ["States.ALL"], "Next": "B"}], "Next": "B"},
				"B": {"Type": "Choice", "Comment": "c", "Choices": [{"Comment": "c", "Variable": "$.x", "IsPresent": true, "Next": "C"}], "Default": "D"},
				"C": {"Type": "Wait", "Comment": "c", "Timestamp": "2016-03-14T01:59:00Z", "Next": "D"},
				"D": {"Type": "Fail", "Comment": "c", "ErrorPath": "$.e", "CausePath": "$.c"}
			}}`},
		{"paths of every supported form", machine(`
			"A": {"Type": "Pass", "InputPath": "$['a'].b[0][\"c d\"]", "OutputPath": null, "ResultPath": "$.x.y",
			      "Parameters": {"k": [1, {"l.$": "$"}], "m": {"n.$": "$.o[2]"}}, "Next": "B"},
			"B": {"Type": "Task", "Resource": "r", "InputPath": null, "ResultPath": null, "ResultSelector": {"v.$": "$.w"}, "End": true}`)},
		{"every Choice operator", machine(`
			"A": {"Type": "Choice", "Default": "B", "Choices": [
				{"Variable": "$.s", "StringEquals": "x", "Next": "B"},
				{"Variable": "$.s", "StringEqualsPath": "$.t", "Next": "B"},
				{"Variable": "$.s", "StringLessThan": "x", "Next": "B"},
				{"Variable": "$.s", "StringGreaterThanEqualsPath": "$.t", "Next": "B"},
				{"Variable": "$.n", "NumericEquals": 1, "Next": "B"},
				{"Variable": "$.n", "NumericLessThan": 1.5, "Next": "B"},
				{"Variable": "$.n", "NumericLessThanEquals": 1, "Next": "B"},
				{"Variable": "$.n", "NumericGreaterThan": -1, "Next": "B"},
				{"Variable": "$.n", "NumericGreaterThanEquals": 1e3, "Next": "B"},
				{"Variable": "$.n", "NumericEqualsPath": "$.m", "Next": "B"},
				{"Variable": "$.b", "BooleanEquals": true, "Next": "B"},
				{"Variable": "$.b", "BooleanEqualsPath": "$.c", "Next": "B"},
				{"Variable": "$.x", "IsPresent": false, "Next": "B"},
				{"Variable": "$.x", "IsNull": true, "Next": "B"},
				{"Variable": "$.x", "IsString": true, "Next": "B"},
				{"Variable": "$.x", "IsNumeric": true, "Next": "B"},
				{"Variable": "$.x", "IsBoolean": true, "Next": "B"},
				{"And": [{"Variable": "$.x", "IsPresent": true}, {"Or": [{"Not": {"Variable": "$.x", "IsNull": true}}]}], "Next": "B"}
			]},
			"B": {"Type": "Succeed"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := asl.Parse([]byte(tc.doc))
			require.NoError(t, err)
		})
	}
}

func TestTaskStatesAndValidate(t *testing.T) {
	m := mustParse(t, machine(`
		"A": {"Type": "Task", "Resource": "r", "Next": "C"},
		"C": {"Type": "Pass", "Next": "B"},
		"B": {"Type": "Task", "Resource": "r", "End": true}`))
	assert.Equal(t, []string{"A", "B"}, m.TaskStates())
	noop := returns(`{}`)
	for _, tc := range []struct {
		name  string
		tasks map[string]asl.TaskFunc
		want  string
	}{
		{"exact", map[string]asl.TaskFunc{"A": noop, "B": noop}, ""},
		{"missing", map[string]asl.TaskFunc{"A": noop}, `asl: no TaskFunc for the Task state(s) "B"`},
		{"nil TaskFunc", map[string]asl.TaskFunc{"A": noop, "B": nil}, `asl: no TaskFunc for the Task state(s) "B"`},
		{"none", nil, `asl: no TaskFunc for the Task state(s) "A", "B"`},
		{"missing and unused", map[string]asl.TaskFunc{"A": noop, "C": noop, "Z": noop},
			"asl: no TaskFunc for the Task state(s) \"B\"\n" + `asl: TaskFunc(s) "C", "Z" match no Task state of the document`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Validate(tc.tasks)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.want)
		})
	}
	t.Run("Run validates first", func(t *testing.T) {
		r := &asl.Runner{Machine: m, Tasks: map[string]asl.TaskFunc{"A": noop}}
		_, err := r.Run(context.Background(), "x", nil)
		require.EqualError(t, err, `asl: no TaskFunc for the Task state(s) "B"`)
	})
}

// TestRunRefusesBadCalls: no Machine, input that is not JSON.
func TestRunRefusesBadCalls(t *testing.T) {
	_, err := (&asl.Runner{}).Run(context.Background(), "x", nil)
	require.EqualError(t, err, "asl: Runner.Machine is nil")
	r := &asl.Runner{Machine: mustParse(t, machine(`"A": {"Type": "Succeed"}`))}
	_, err = r.Run(context.Background(), "x", json.RawMessage(`{"a":`))
	require.ErrorContains(t, err, `asl: execution "x": input is not JSON`)
	out, err := r.Run(context.Background(), "x", nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{}`, string(out), "no input is {}")
}
