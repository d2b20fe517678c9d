// Package masontest holds what tests of converters that speak the
// built-in converters' protocol (mason.EncodeRequest, mason.DecodeAnswer)
// share: the answers every such converter must accept or refuse, and what
// it must make of them. It imports core/mason: use it from external test
// packages (package mason_test), not from mason's own.
package masontest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/mason"
)

// AnswerCase is one answer a converter may get and what mason.DecodeAnswer
// makes of it.
type AnswerCase struct {
	// Name names the case.
	Name string
	// Answer is what the converter's other side answers.
	Answer string
	// Want is the userdata of a good answer.
	Want boskos.UserData
	// WantErr is, for a bad answer, the error's message after the
	// converter's own prefix ("command \"x\": " and the like); the error
	// wraps mason.ErrBadAnswer.
	WantErr string
}

// Secret is a value the answers carry: no error may show it.
const Secret = "s3cret-token"

// AnswerCases returns one good answer and one of each kind of bad answer.
func AnswerCases() []AnswerCase {
	big := strings.Repeat("x", boskos.MaxUserDataBytes)
	return []AnswerCase{
		{Name: "good", Answer: `{"kubeconfig":"apiVersion: v1\n","token":"` + Secret + `","empty":""}` + "\n",
			Want: boskos.UserData{"kubeconfig": "apiVersion: v1\n", "token": Secret, "empty": ""}},
		{Name: "empty object", Answer: "{}", Want: boskos.UserData{}},
		{Name: "empty", Answer: " \n", WantErr: "bad converter answer: empty, want a JSON object of strings"},
		{Name: "not JSON", Answer: "kubeconfig: " + Secret,
			WantErr: "bad converter answer: not JSON (invalid character 'k' looking for beginning of value, at byte 1), want a JSON object of strings"},
		{Name: "truncated", Answer: `{"token":"` + Secret,
			WantErr: "bad converter answer: not JSON (unexpected end of JSON input, at byte 22), want a JSON object of strings"},
		{Name: "trailing data", Answer: `{"a":"b"} {"c":"d"}`,
			WantErr: "bad converter answer: not JSON (invalid character '{' after top-level value, at byte 11), want a JSON object of strings"},
		{Name: "an array", Answer: `["` + Secret + `"]`, WantErr: "bad converter answer: an array, want a JSON object of strings"},
		{Name: "a string", Answer: `"` + Secret + `"`, WantErr: "bad converter answer: a string, want a JSON object of strings"},
		{Name: "null", Answer: `null`, WantErr: "bad converter answer: null, want a JSON object of strings"},
		{Name: "a number value", Answer: `{"token":"` + Secret + `","port":6443}`,
			WantErr: `bad converter answer: the value of "port" is a number, want a string`},
		{Name: "several non-string values", Answer: `{"z":null,"b":{"k":"` + Secret + `"},"c":true}`,
			WantErr: `bad converter answer: the value of "b" is an object, want a string (and 2 more)`},
		{Name: "leasedResources", Answer: `{"leasedResources":"- a1\n","token":"` + Secret + `"}`,
			WantErr: `bad converter answer: it sets "leasedResources", which is Mason's (the names of the leased resources)`},
		{Name: "empty key", Answer: `{"":"` + Secret + `"}`, WantErr: "bad converter answer: an empty key"},
		{Name: "long key", Answer: `{"` + strings.Repeat("k", boskos.MaxUserDataKeyBytes+1) + `":"v"}`,
			WantErr: "bad converter answer: a key of 1025 bytes, over the limit of 1024"},
		{Name: "too much userdata", Answer: `{"token":"` + Secret + `","big":"` + big + `"}`,
			WantErr: "bad converter answer: userdata of 262166 bytes, over the limit of 262144"},
	}
}

// Check asserts that a converter given tc.Answer returned what it must:
// tc.Want, or the error prefix+tc.WantErr wrapping mason.ErrBadAnswer,
// without Secret in it.
func (tc AnswerCase) Check(t testing.TB, prefix string, got boskos.UserData, err error) {
	t.Helper()
	if tc.WantErr == "" {
		require.NoError(t, err)
		assert.Equal(t, tc.Want, got)
		return
	}
	require.EqualError(t, err, prefix+tc.WantErr)
	assert.ErrorIs(t, err, mason.ErrBadAnswer)
	assert.NotContains(t, err.Error(), Secret)
	assert.Nil(t, got)
}
