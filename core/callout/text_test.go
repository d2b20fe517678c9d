package callout_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/boskos-serverless/boskos/core/callout"
)

func TestTailAndTruncate(t *testing.T) {
	for _, tc := range []struct {
		name, in    string
		n           int
		tail, trunc string
	}{
		{name: "short", in: "abc", n: 5, tail: "abc", trunc: "abc"},
		{name: "exact", in: "abcde", n: 5, tail: "abcde", trunc: "abcde"},
		{name: "ascii", in: "abcdefgh", n: 5, tail: "…defgh", trunc: "ab…"},
		{name: "runes are not split", in: "ééééé", n: 5, tail: "…éé", trunc: "é…"},
		{name: "tiny bound", in: "abcdef", n: 1, tail: "…f", trunc: "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.tail, callout.Tail(tc.in, tc.n))
			assert.Equal(t, tc.trunc, callout.Truncate(tc.in, tc.n))
		})
	}
	assert.Len(t, callout.Truncate(strings.Repeat("x", 100), 10), 10)
}

func TestValidLambdaFunction(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"convert", true},
		{"convert:live", true},
		{"123456789012:function:convert", true},
		{"arn:aws:lambda:eu-west-1:123456789012:function:convert:$LATEST", true},
		{"", false},
		{"https://h/x", false},
		{"two words", false},
		{strings.Repeat("f", 171), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := callout.ValidLambdaFunction(tc.name)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, `"`+tc.name+`" is not a Lambda function name or ARN`)
			}
		})
	}
}
