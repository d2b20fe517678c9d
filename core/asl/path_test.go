package asl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustDecode(t *testing.T, s string) any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	require.NoError(t, err)
	return v
}

func encoded(t *testing.T, v any) string {
	t.Helper()
	b, err := encodeJSON(v)
	require.NoError(t, err)
	return string(b)
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		want       []segment
		err        string
	}{
		{name: "root", path: "$"},
		{name: "fields", path: "$.a.b", want: []segment{{field: "a", index: -1}, {field: "b", index: -1}}},
		{name: "bracket single quotes", path: "$['a b']", want: []segment{{field: "a b", index: -1}}},
		{name: "bracket double quotes", path: `$["a.b"]`, want: []segment{{field: "a.b", index: -1}}},
		{name: "index", path: "$.a[0][12]", want: []segment{{field: "a", index: -1}, {index: 0}, {index: 12}}},
		{name: "index then field", path: "$[1].x", want: []segment{{index: 1}, {field: "x", index: -1}}},
		{name: "dash and underscore", path: "$.a-b_c", want: []segment{{field: "a-b_c", index: -1}}},
		{name: "empty", path: "", err: `path "": empty`},
		{name: "no dollar", path: "a", err: `must start with $`},
		{name: "context object", path: "$$.Execution.Name", err: `context object paths ($$) are not supported`},
		{name: "intrinsic", path: "States.UUID()", err: `intrinsic functions are not supported`},
		{name: "wildcard field", path: "$.*", err: `wildcards are not supported`},
		{name: "wildcard index", path: "$.a[*]", err: `wildcards are not supported`},
		{name: "recursive descent", path: "$..a", err: `recursive descent (..) is not supported`},
		{name: "trailing dot", path: "$.a.", err: `empty field name after '.'`},
		{name: "filter", path: "$.a[?(@.x > 1)]", err: `filters and expressions are not supported`},
		{name: "expression", path: "$.a[(@.length-1)]", err: `filters and expressions are not supported`},
		{name: "slice", path: "$.a[0:2]", err: `slices and unions are not supported`},
		{name: "union", path: "$.a[0,1]", err: `slices and unions are not supported`},
		{name: "negative index", path: "$.a[-1]", err: `index [-1]: only non-negative integer indexes are supported`},
		{name: "unclosed bracket", path: "$.a[0", err: `unclosed '['`},
		{name: "empty quoted name", path: "$['']", err: `quoted field name ''`},
		{name: "junk after dollar", path: "$a", err: `unexpected 'a' at offset 1`},
		{name: "space in dotted name", path: "$.a b", err: `use $['name'] for names with special characters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePath(tc.path)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.ErrorContains(t, err, pathSyntax, "a refusal says what is supported")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, p.segs)
			assert.Equal(t, tc.path, p.String())
		})
	}
}

func TestPathGet(t *testing.T) {
	doc := mustDecode(t, `{"a": {"b": [10, {"c": null}], "d e": true}, "n": 12345678901234567890}`)
	for _, tc := range []struct {
		name, path string
		want       string // JSON; "" = not found
	}{
		{"root", "$", `{"a":{"b":[10,{"c":null}],"d e":true},"n":12345678901234567890}`},
		{"nested field", "$.a['d e']", `true`},
		{"index", "$.a.b[0]", `10`},
		{"field after index", "$.a.b[1].c", `null`},
		{"big integer kept exactly", "$.n", `12345678901234567890`},
		{"absent field", "$.x", ""},
		{"index out of range", "$.a.b[2]", ""},
		{"index into an object", "$.a[0]", ""},
		{"field of an array", "$.a.b.c", ""},
		{"field of a number", "$.n.x", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePath(tc.path)
			require.NoError(t, err)
			v, ok := p.get(doc)
			if tc.want == "" {
				assert.False(t, ok, "got %v, want nothing", v)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tc.want, encoded(t, v))
		})
	}
}

func TestPathSet(t *testing.T) {
	for _, tc := range []struct {
		name, input, path, value, want, err string
	}{
		{name: "root replaces", input: `{"a":1}`, path: "$", value: `"x"`, want: `"x"`},
		{name: "new field", input: `{"a":1}`, path: "$.b", value: `2`, want: `{"a":1,"b":2}`},
		{name: "replaces a field", input: `{"a":1}`, path: "$.a", value: `{"z":0}`, want: `{"a":{"z":0}}`},
		{name: "creates intermediate objects", input: `{"a":1}`, path: "$.x.y.z", value: `true`, want: `{"a":1,"x":{"y":{"z":true}}}`},
		{name: "into an existing object", input: `{"x":{"k":1}}`, path: "$.x.y", value: `2`, want: `{"x":{"k":1,"y":2}}`},
		{name: "input not an object", input: `[1]`, path: "$.a", value: `1`,
			err: `cannot apply ResultPath $.a: $ is an array, not an object`},
		{name: "step not an object", input: `{"x":"s"}`, path: "$.x.y", value: `1`,
			err: `cannot apply ResultPath $.x.y: $.x is a string, not an object`},
		{name: "step null", input: `{"x":null}`, path: "$.x.y", value: `1`,
			err: `cannot apply ResultPath $.x.y: $.x is null, not an object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePath(tc.path)
			require.NoError(t, err)
			input := mustDecode(t, tc.input)
			got, err := p.set(input, mustDecode(t, tc.value))
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, encoded(t, got))
			assert.JSONEq(t, tc.input, encoded(t, input), "the input is not modified")
		})
	}
}

func TestTemplate(t *testing.T) {
	var problems []string
	tmpl := compileTemplate(mustDecode(t, `{"lit": {"x": [1, "two"]}, "p.$": "$.a", "arr": [{"q.$": "$.b[0]"}, 3], "whole.$": "$"}`),
		"Parameters", func(where, msg string) { problems = append(problems, where+": "+msg) })
	require.Empty(t, problems)
	got, err := tmpl.eval(mustDecode(t, `{"a": {"k": "v"}, "b": [false]}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"lit": {"x": [1, "two"]}, "p": {"k": "v"}, "arr": [{"q": false}, 3],
		"whole": {"a": {"k": "v"}, "b": [false]}}`, encoded(t, got))
	_, err = tmpl.eval(mustDecode(t, `{"a": 1}`))
	require.EqualError(t, err, `the path $.b[0] of the field "q.$" selects nothing in the input`)
}

func TestRetrierDelay(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    retrier
		want []float64 // seconds, retries 1, 2, ...
	}{
		{"defaults", retrier{interval: 1, backoff: 2}, []float64{1, 2, 4, 8}},
		{"rate 1", retrier{interval: 3, backoff: 1}, []float64{3, 3, 3}},
		{"fractional rate", retrier{interval: 1, backoff: 1.5}, []float64{1, 1.5, 2.25, 3.375}},
		{"capped", retrier{interval: 2, backoff: 2, maxDelay: 10}, []float64{2, 4, 8, 10, 10}},
		{"huge growth capped at the ASL maximum", retrier{interval: 99999999, backoff: 10}, []float64{99999999, 99999999}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, w := range tc.want {
				got := tc.r.delay(int64(i + 1)).Seconds()
				assert.InDelta(t, w, got, 1e-9, "retry %d: got %vs, want %vs", i+1, got, w)
			}
		})
	}
}
