package mason_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/mason/masontest"
)

var update = flag.Bool("update", false, "rewrite testdata/request.golden.json from the current encoding")

// t0 is the time of the resources of the tests.
var t0 = time.Date(2100, 1, 2, 15, 4, 5, 0, time.UTC)

// virtual and leased are the request of the tests: a cluster built from
// one aws-account.
var (
	virtual = boskos.Resource{Type: "cluster", Name: "cluster-1", State: boskos.Cleaning, Owner: "mason",
		LastUpdate: t0, UserData: boskos.UserData{boskos.LeasedResources: "- a1\n"}, Epoch: 3}
	leased = mason.TypeToResources{"aws-account": {{Type: "aws-account", Name: "a1", State: boskos.Leased, Owner: "mason",
		LastUpdate: t0, UserData: boskos.UserData{"password": "p\"w"}, Epoch: 9}}}
)

// goldenRequest is testdata/request.golden.json: the documented request of
// virtual and leased with content "c", indented.
func goldenRequest(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "request.golden.json"))
	require.NoError(t, err)
	return b
}

// indent indents compact JSON as the golden file is.
func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, json.Indent(&out, b, "", "  "))
	out.WriteByte('\n')
	return out.Bytes()
}

// TestEncodeRequestGolden pins the request every built-in converter sends,
// byte for byte (field names and order included): run with -update after
// a deliberate change of the protocol.
func TestEncodeRequestGolden(t *testing.T) {
	b, err := mason.EncodeRequest(virtual, leased, "c")
	require.NoError(t, err)
	assert.NotContains(t, string(b), "\n", "one line, for line-oriented scripts")
	got := indent(t, b)
	if *update {
		require.NoError(t, os.WriteFile(filepath.Join("testdata", "request.golden.json"), got, 0o644))
	}
	assert.Equal(t, string(goldenRequest(t)), string(got))

	var req mason.Request
	require.NoError(t, json.Unmarshal(b, &req))
	assert.Equal(t, mason.Request{Resource: virtual, Leased: leased, Content: "c"}, req)
}

func TestEncodeRequestNeverNull(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leased mason.TypeToResources
		want   string
	}{
		{name: "nil leased", leased: nil, want: `{}`},
		{name: "nil list", leased: mason.TypeToResources{"aws-account": nil}, want: `{"aws-account":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := mason.EncodeRequest(boskos.Resource{Type: "cluster", Name: "c"}, tc.leased, "")
			require.NoError(t, err)
			var m map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(b, &m))
			assert.Equal(t, tc.want, string(m["leased"]))
			assert.Contains(t, string(m["resource"]), `"userdata":{}`)
		})
	}
}

func TestDecodeAnswer(t *testing.T) {
	cases := append(masontest.AnswerCases(),
		masontest.AnswerCase{Name: "white space around", Answer: "\n\t {\"a\":\"b\"} \n", Want: boskos.UserData{"a": "b"}},
		masontest.AnswerCase{Name: "unicode escapes", Answer: `{"a":"\u00e9\n"}`, Want: boskos.UserData{"a": "é\n"}},
		masontest.AnswerCase{Name: "over MaxAnswerBytes", Answer: `{"a":"` + strings.Repeat("x", mason.MaxAnswerBytes) + `"}`,
			WantErr: "bad converter answer: 1048584 bytes, over the limit of 1048576"},
	)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := mason.DecodeAnswer([]byte(tc.Answer))
			tc.Check(t, "", got, err)
		})
	}
}

func TestRegister(t *testing.T) {
	r := mason.NewDefaultRegistry(mason.ConverterOptions{})
	assert.Equal(t, []string{"Command", "Webhook"}, r.Names())

	r = mason.NewRegistry()
	require.NoError(t, mason.Register(r, mason.ConverterOptions{}))
	assert.Equal(t, []string{mason.ConverterCommand, mason.ConverterWebhook}, r.Names())
	require.EqualError(t, mason.Register(r, mason.ConverterOptions{}),
		"mason: register Command: already registered\nmason: register Webhook: already registered")

	for _, tc := range []struct {
		name    string
		cfg     boskos.ConfigType
		want    any
		wantErr string
	}{
		{name: "Command", cfg: boskos.ConfigType{Type: "Command", Content: "scripts/mason-example.sh --x"}, want: &mason.Command{}},
		{name: "Webhook", cfg: boskos.ConfigType{Type: "Webhook", Content: "https://h.example/convert"}, want: &mason.Webhook{}},
		{name: "empty command", cfg: boskos.ConfigType{Type: "Command", Content: " "}, wantErr: "converter Command: empty command"},
		{name: "unbalanced quotes", cfg: boskos.ConfigType{Type: "Command", Content: `x 'y`}, wantErr: "converter Command: unterminated ' quote in command line"},
		{name: "not a URL", cfg: boskos.ConfigType{Type: "Webhook", Content: "h.example/convert"},
			wantErr: `converter Webhook: invalid URL "h.example/convert": the scheme must be http or https`},
		{name: "unknown", cfg: boskos.ConfigType{Type: "GKE"}, wantErr: `converter "GKE": no converter of that name (registered: [Command Webhook])`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := mason.NewDefaultRegistry(mason.ConverterOptions{}).Converter(tc.cfg)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.IsType(t, tc.want, m)
		})
	}
}
