package asl_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
)

// TestChoice: each operator, And/Or/Not, Default, NoChoiceMatched, and
// the Runtime error of a missing Variable. The rule under test leads to
// "Yes", Default to "No".
func TestChoice(t *testing.T) {
	const input = `{"s": "banana", "t": "cherry", "n": 10, "m": 10.0, "big": 12345678901234567891, "f": 2.5,
		"b": true, "c": false, "z": null, "arr": [1], "obj": {"k": "banana"}}`
	for _, tc := range []struct {
		name     string
		rule     string
		want     string // "Yes", "No", or an error name
		noDflt   bool   // no Default
		inputDoc string // instead of input
	}{
		{"StringEquals match", `"Variable": "$.s", "StringEquals": "banana"`, "Yes", false, ""},
		{"StringEquals no match", `"Variable": "$.s", "StringEquals": "Banana"`, "No", false, ""},
		{"StringEquals on a number is false", `"Variable": "$.n", "StringEquals": "10"`, "No", false, ""},
		{"StringEqualsPath match", `"Variable": "$.s", "StringEqualsPath": "$.obj.k"`, "Yes", false, ""},
		{"StringEqualsPath no match", `"Variable": "$.s", "StringEqualsPath": "$.t"`, "No", false, ""},
		{"StringEqualsPath operand missing", `"Variable": "$.s", "StringEqualsPath": "$.nope"`, asl.ErrorRuntime, false, ""},
		{"StringLessThan", `"Variable": "$.s", "StringLessThan": "cherry"`, "Yes", false, ""},
		{"StringLessThan equal is false", `"Variable": "$.s", "StringLessThan": "banana"`, "No", false, ""},
		{"StringLessThanEquals equal", `"Variable": "$.s", "StringLessThanEquals": "banana"`, "Yes", false, ""},
		{"StringGreaterThan", `"Variable": "$.t", "StringGreaterThan": "banana"`, "Yes", false, ""},
		{"StringGreaterThanEqualsPath", `"Variable": "$.t", "StringGreaterThanEqualsPath": "$.s"`, "Yes", false, ""},
		{"StringLessThanPath", `"Variable": "$.t", "StringLessThanPath": "$.s"`, "No", false, ""},
		{"NumericEquals", `"Variable": "$.n", "NumericEquals": 10`, "Yes", false, ""},
		{"NumericEquals 10 and 10.0", `"Variable": "$.m", "NumericEquals": 10`, "Yes", false, ""},
		{"NumericEquals exact on big integers", `"Variable": "$.big", "NumericEquals": 12345678901234567890`, "No", false, ""},
		{"NumericEquals on a string is false", `"Variable": "$.s", "NumericEquals": 10`, "No", false, ""},
		{"NumericEqualsPath", `"Variable": "$.n", "NumericEqualsPath": "$.m"`, "Yes", false, ""},
		{"NumericEqualsPath on a string operand is false", `"Variable": "$.n", "NumericEqualsPath": "$.s"`, "No", false, ""},
		{"NumericLessThan", `"Variable": "$.f", "NumericLessThan": 3`, "Yes", false, ""},
		{"NumericLessThan equal is false", `"Variable": "$.n", "NumericLessThan": 10`, "No", false, ""},
		{"NumericLessThanEquals", `"Variable": "$.n", "NumericLessThanEquals": 10`, "Yes", false, ""},
		{"NumericLessThanEquals above", `"Variable": "$.n", "NumericLessThanEquals": 9.99`, "No", false, ""},
		{"NumericGreaterThan", `"Variable": "$.n", "NumericGreaterThan": 2.5`, "Yes", false, ""},
		{"NumericGreaterThan equal is false", `"Variable": "$.f", "NumericGreaterThan": 2.5`, "No", false, ""},
		{"NumericGreaterThanEquals", `"Variable": "$.f", "NumericGreaterThanEquals": 2.5`, "Yes", false, ""},
		{"NumericGreaterThanPath", `"Variable": "$.n", "NumericGreaterThanPath": "$.f"`, "Yes", false, ""},
		{"NumericLessThanEqualsPath", `"Variable": "$.n", "NumericLessThanEqualsPath": "$.m"`, "Yes", false, ""},
		{"BooleanEquals", `"Variable": "$.b", "BooleanEquals": true`, "Yes", false, ""},
		{"BooleanEquals false", `"Variable": "$.c", "BooleanEquals": true`, "No", false, ""},
		{"BooleanEquals on a string is false", `"Variable": "$.s", "BooleanEquals": true`, "No", false, ""},
		{"BooleanEqualsPath", `"Variable": "$.b", "BooleanEqualsPath": "$.c"`, "No", false, ""},
		{"IsPresent", `"Variable": "$.z", "IsPresent": true`, "Yes", false, ""},
		{"IsPresent of a missing field", `"Variable": "$.nope", "IsPresent": true`, "No", false, ""},
		{"IsPresent false of a missing field", `"Variable": "$.nope.deeper", "IsPresent": false`, "Yes", false, ""},
		{"IsNull", `"Variable": "$.z", "IsNull": true`, "Yes", false, ""},
		{"IsNull of a value", `"Variable": "$.s", "IsNull": true`, "No", false, ""},
		{"IsNull false", `"Variable": "$.s", "IsNull": false`, "Yes", false, ""},
		{"IsString", `"Variable": "$.s", "IsString": true`, "Yes", false, ""},
		{"IsNumeric", `"Variable": "$.s", "IsNumeric": true`, "No", false, ""},
		{"IsBoolean", `"Variable": "$.c", "IsBoolean": true`, "Yes", false, ""},
		{"index in Variable", `"Variable": "$.arr[0]", "NumericEquals": 1`, "Yes", false, ""},
		{"missing Variable is States.Runtime", `"Variable": "$.nope", "BooleanEquals": true`, asl.ErrorRuntime, false, ""},
		{"missing Variable of IsNull is States.Runtime", `"Variable": "$.nope", "IsNull": true`, asl.ErrorRuntime, false, ""},
		{"And all true", `"And": [{"Variable": "$.n", "NumericGreaterThan": 1}, {"Variable": "$.b", "BooleanEquals": true}]`, "Yes", false, ""},
		{"And one false", `"And": [{"Variable": "$.n", "NumericGreaterThan": 1}, {"Variable": "$.c", "BooleanEquals": true}]`, "No", false, ""},
		{"And stops at the first false", `"And": [{"Variable": "$.c", "BooleanEquals": true}, {"Variable": "$.nope", "BooleanEquals": true}]`, "No", false, ""},
		{"Or one true", `"Or": [{"Variable": "$.c", "BooleanEquals": true}, {"Variable": "$.b", "BooleanEquals": true}]`, "Yes", false, ""},
		{"Or all false", `"Or": [{"Variable": "$.c", "BooleanEquals": true}, {"Variable": "$.s", "StringEquals": "x"}]`, "No", false, ""},
		{"Or stops at the first true", `"Or": [{"Variable": "$.b", "BooleanEquals": true}, {"Variable": "$.nope", "BooleanEquals": true}]`, "Yes", false, ""},
		{"Or with a missing Variable", `"Or": [{"Variable": "$.c", "BooleanEquals": true}, {"Variable": "$.nope", "BooleanEquals": true}]`, asl.ErrorRuntime, false, ""},
		{"Not", `"Not": {"Variable": "$.s", "StringEquals": "x"}`, "Yes", false, ""},
		{"Not of a missing Variable", `"Not": {"Variable": "$.nope", "StringEquals": "x"}`, asl.ErrorRuntime, false, ""},
		{"IsPresent guard before a comparison", `"And": [{"Variable": "$.nope", "IsPresent": true}, {"Variable": "$.nope", "BooleanEquals": true}]`, "No", false, ""},
		{"nested", `"Or": [{"And": [{"Variable": "$.b", "BooleanEquals": true}, {"Not": {"Variable": "$.z", "IsNull": true}}]}, {"Variable": "$.n", "NumericEquals": 10}]`, "Yes", false, ""},
		{"no match and no Default", `"Variable": "$.s", "StringEquals": "x"`, asl.ErrorNoChoiceMatched, true, ""},
		{"Variable on a non-object input", `"Variable": "$.s", "IsPresent": true`, "No", false, `"just a string"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dflt, no := `, "Default": "No"`, `, "No": {"Type": "Succeed"}`
			if tc.noDflt {
				dflt, no = "", ""
			}
			in := input
			if tc.inputDoc != "" {
				in = tc.inputDoc
			}
			res := runDoc(t, machine(`
				"A": {"Type": "Choice", "Choices": [{`+tc.rule+`, "Next": "Yes"}]`+dflt+`},
				"Yes": {"Type": "Succeed"}`+no), nil, in)
			switch tc.want {
			case "Yes", "No":
				require.NoError(t, res.err)
				assert.Equal(t, "Enter "+tc.want, res.events[2], "events %q", res.events)
				assert.JSONEq(t, in, res.out, "a Choice passes its input on")
			default:
				assert.Equal(t, tc.want, res.failed(t).Err)
			}
		})
	}
}

// TestChoiceOrderAndPaths: the first matching rule wins; InputPath and
// OutputPath apply.
func TestChoiceOrderAndPaths(t *testing.T) {
	res := runDoc(t, machine(`
		"A": {"Type": "Choice", "InputPath": "$.in", "OutputPath": "$.keep", "Default": "C", "Choices": [
			{"Variable": "$.v", "NumericGreaterThan": 100, "Next": "C"},
			{"Variable": "$.v", "NumericGreaterThan": 1, "Next": "B"},
			{"Variable": "$.v", "NumericGreaterThan": 0, "Next": "C"}]},
		"B": {"Type": "Succeed"}, "C": {"Type": "Fail"}`), nil, `{"in": {"v": 5, "keep": {"k": 1}}}`)
	require.NoError(t, res.err)
	assert.JSONEq(t, `{"k": 1}`, res.out)
	assert.Equal(t, []string{"Enter A", "Exit A", "Enter B", "Exit B", "Succeed B"}, res.events)
}

// TestWait: the duration requested of Sleep, and bad SecondsPath values.
func TestWait(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fields    string
		input     string
		wantSlept []time.Duration
		wantFail  string
		wantCause string
		wantOut   string // default: the input
	}{
		{name: "Seconds", fields: `"Seconds": 10`, wantSlept: seconds(10)},
		{name: "Seconds 0 does not sleep", fields: `"Seconds": 0`},
		{name: "SecondsPath", fields: `"SecondsPath": "$.w.s"`, input: `{"w": {"s": 5}}`, wantSlept: seconds(5)},
		{name: "SecondsPath after InputPath", fields: `"InputPath": "$.w", "SecondsPath": "$.s"`, input: `{"w": {"s": 7}}`, wantSlept: seconds(7), wantOut: `{"s": 7}`},
		{name: "SecondsPath 5.0 is an integer", fields: `"SecondsPath": "$.s"`, input: `{"s": 5.0}`, wantSlept: seconds(5)},
		{name: "SecondsPath zero", fields: `"SecondsPath": "$.s"`, input: `{"s": 0}`},
		{name: "SecondsPath missing", fields: `"SecondsPath": "$.s"`, input: `{}`, wantFail: asl.ErrorRuntime,
			wantCause: "the SecondsPath $.s selects nothing in the input"},
		{name: "SecondsPath negative", fields: `"SecondsPath": "$.s"`, input: `{"s": -1}`, wantFail: asl.ErrorRuntime,
			wantCause: "the SecondsPath $.s selects the number -1, not an integer from 0 to 99999999"},
		{name: "SecondsPath fractional", fields: `"SecondsPath": "$.s"`, input: `{"s": 1.5}`, wantFail: asl.ErrorRuntime,
			wantCause: "the SecondsPath $.s selects the number 1.5, not an integer from 0 to 99999999"},
		{name: "SecondsPath a string", fields: `"SecondsPath": "$.s"`, input: `{"s": "5"}`, wantFail: asl.ErrorRuntime,
			wantCause: "the SecondsPath $.s selects a string, not an integer from 0 to 99999999"},
		{name: "SecondsPath null", fields: `"SecondsPath": "$.s"`, input: `{"s": null}`, wantFail: asl.ErrorRuntime,
			wantCause: "the SecondsPath $.s selects null, not an integer from 0 to 99999999"},
		{name: "SecondsPath too large", fields: `"SecondsPath": "$.s"`, input: `{"s": 100000000}`, wantFail: asl.ErrorRuntime},
		{name: "Timestamp", fields: `"Timestamp": "2026-12-01T10:01:30Z"`, wantSlept: seconds(90)},
		{name: "Timestamp with an offset", fields: `"Timestamp": "2026-12-01T11:00:10+01:00"`, wantSlept: seconds(10)},
		{name: "Timestamp past does not sleep", fields: `"Timestamp": "2026-12-01T09:00:00Z"`},
		{name: "TimestampPath", fields: `"TimestampPath": "$.at"`, input: `{"at": "2026-12-01T10:00:01.5Z"}`, wantSlept: seconds(1.5)},
		{name: "TimestampPath not a timestamp", fields: `"TimestampPath": "$.at"`, input: `{"at": "soon"}`, wantFail: asl.ErrorRuntime},
		{name: "TimestampPath a number", fields: `"TimestampPath": "$.at"`, input: `{"at": 5}`, wantFail: asl.ErrorRuntime},
		{name: "TimestampPath missing", fields: `"TimestampPath": "$.at"`, input: `{}`, wantFail: asl.ErrorRuntime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.input
			if in == "" {
				in = `{"x": 1}`
			}
			res := runDoc(t, machine(`"A": {"Type": "Wait", `+tc.fields+`, "End": true}`), nil, in)
			assert.Equal(t, tc.wantSlept, res.clock.Slept())
			if tc.wantFail != "" {
				ef := res.failed(t)
				assert.Equal(t, tc.wantFail, ef.Err)
				if tc.wantCause != "" {
					assert.Equal(t, tc.wantCause, ef.Cause)
				}
				return
			}
			require.NoError(t, res.err)
			want := tc.wantOut
			if want == "" {
				want = in
			}
			assert.JSONEq(t, want, res.out, "a Wait passes its (effective) input on")
		})
	}
	t.Run("OutputPath", func(t *testing.T) {
		res := runDoc(t, machine(`"A": {"Type": "Wait", "Seconds": 1, "InputPath": "$.a", "OutputPath": "$.b", "End": true}`), nil, `{"a": {"b": [2]}}`)
		require.NoError(t, res.err)
		assert.JSONEq(t, `[2]`, res.out)
	})
}

func TestPass(t *testing.T) {
	for _, tc := range []struct {
		name, fields, input, want string
		wantFail                  string
	}{
		{name: "passes its input", input: `{"a": 1}`, want: `{"a": 1}`},
		{name: "Result replaces the input", fields: `"Result": {"r": [1, 2]},`, input: `{"a": 1}`, want: `{"r": [1, 2]}`},
		{name: "Result with ResultPath", fields: `"Result": {"Error": "NeedsNotMet"}, "ResultPath": "$.error",`, input: `{"a": 1}`,
			want: `{"a": 1, "error": {"Error": "NeedsNotMet"}}`},
		{name: "Result with ResultPath null", fields: `"Result": 1, "ResultPath": null,`, input: `{"a": 1}`, want: `{"a": 1}`},
		{name: "Result null", fields: `"Result": null, "ResultPath": "$.r",`, input: `{}`, want: `{"r": null}`},
		{name: "Parameters", fields: `"Parameters": {"b.$": "$.a", "c": "lit"},`, input: `{"a": 1}`, want: `{"b": 1, "c": "lit"}`},
		{name: "Parameters with ResultPath", fields: `"Parameters": {"b.$": "$.a"}, "ResultPath": "$.p",`, input: `{"a": 1}`,
			want: `{"a": 1, "p": {"b": 1}}`},
		{name: "Result wins over Parameters", fields: `"Parameters": {"b.$": "$.a"}, "Result": "r",`, input: `{"a": 1}`, want: `"r"`},
		{name: "InputPath and OutputPath", fields: `"InputPath": "$.a", "ResultPath": "$.copy", "OutputPath": "$.copy",`, input: `{"a": {"k": 1}}`, want: `{"k": 1}`},
		{name: "Parameters path missing", fields: `"Parameters": {"b.$": "$.nope"},`, input: `{}`, wantFail: asl.ErrorRuntime},
		{name: "ResultPath into a string", fields: `"Result": 1, "ResultPath": "$.a.b",`, input: `{"a": "s"}`, wantFail: asl.ErrorResultPathMatchFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runDoc(t, machine(`"A": {"Type": "Pass", `+tc.fields+` "End": true}`), nil, tc.input)
			if tc.wantFail != "" {
				assert.Equal(t, tc.wantFail, res.failed(t).Err)
				return
			}
			require.NoError(t, res.err)
			assert.JSONEq(t, tc.want, res.out)
		})
	}
}

func TestFailAndSucceed(t *testing.T) {
	for _, tc := range []struct {
		name, state, input string
		want               *asl.ExecutionFailed
	}{
		{"Error and Cause", `{"Type": "Fail", "Error": "ConstructionFailed", "Cause": "a step failed"}`, `{}`,
			&asl.ExecutionFailed{Err: "ConstructionFailed", Cause: "a step failed"}},
		{"neither", `{"Type": "Fail"}`, `{}`, &asl.ExecutionFailed{}},
		{"ErrorPath and CausePath", `{"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}`,
			`{"error": {"Error": "Quota", "Cause": "no quota"}}`, &asl.ExecutionFailed{Err: "Quota", Cause: "no quota"}},
		{"ErrorPath missing", `{"Type": "Fail", "ErrorPath": "$.e"}`, `{}`,
			&asl.ExecutionFailed{Err: asl.ErrorRuntime, Cause: "the ErrorPath $.e does not select a string in the input"}},
		{"CausePath not a string", `{"Type": "Fail", "Error": "E", "CausePath": "$.c"}`, `{"c": 1}`,
			&asl.ExecutionFailed{Err: asl.ErrorRuntime, Cause: "the CausePath $.c does not select a string in the input"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runDoc(t, machine(`"A": `+tc.state), nil, tc.input)
			assert.Equal(t, tc.want, res.failed(t))
			fail := "Fail A"
			if tc.want.Err != "" {
				fail += " " + tc.want.Err
			}
			assert.Equal(t, []string{"Enter A", fail}, res.events)
		})
	}
	t.Run("Succeed with InputPath and OutputPath", func(t *testing.T) {
		res := runDoc(t, machine(`"A": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}`), nil, `{"a": {"b": "done"}}`)
		require.NoError(t, res.err)
		assert.JSONEq(t, `"done"`, res.out)
		assert.Equal(t, []string{"Enter A", "Exit A", "Succeed A"}, res.events)
	})
}
