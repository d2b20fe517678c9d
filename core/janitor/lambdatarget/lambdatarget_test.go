package lambdatarget_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/janitor/lambdatarget"
)

// fakeAPI answers every Invoke with out, err and records the inputs.
type fakeAPI struct {
	out *lambda.InvokeOutput
	err error
	in  []*lambda.InvokeInput
}

func (f *fakeAPI) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.in = append(f.in, in)
	return f.out, f.err
}

func TestClean(t *testing.T) {
	res := boskos.Resource{Type: "aws-account", Name: "acct-1", State: boskos.Cleaning, Owner: "janitor",
		LastUpdate: time.Date(2100, 1, 2, 15, 4, 5, 0, time.UTC), UserData: boskos.UserData{"k": "v"}, Epoch: 4}
	ok := func(payload string) *lambda.InvokeOutput {
		return &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(payload)}
	}
	tests := []struct {
		name    string
		out     *lambda.InvokeOutput
		err     error
		want    janitor.Outcome
		wantErr string
	}{
		{name: "null is cleaned", out: ok("null"), want: janitor.Cleaned},
		{name: "no payload is cleaned", out: ok(""), want: janitor.Cleaned},
		{name: "empty object is cleaned", out: ok(" {} "), want: janitor.Cleaned},
		{name: "cleaned true", out: ok(`{"cleaned":true}`), want: janitor.Cleaned},
		{name: "a string is cleaned", out: ok(`"done"`), want: janitor.Cleaned},
		{name: "dispatched", out: ok(`{"dispatched":true,"execution":"x"}`), want: janitor.Dispatched},
		{name: "dispatched false is cleaned", out: ok(`{"dispatched":false}`), want: janitor.Cleaned},
		{name: "error field", out: ok(`{"error":"VPC still in use"}`), wantErr: "function clean-fn: VPC still in use"},
		{name: "error wins over dispatched", out: ok(`{"dispatched":true,"error":"no"}`), wantErr: "function clean-fn: no"},
		{name: "cleaned false", out: ok(`{"cleaned":false}`), wantErr: "function clean-fn answered cleaned: false"},
		{name: "false", out: ok(`false`), wantErr: "function clean-fn answered false"},
		{name: "unreadable object", out: ok(`{"error":1}`), wantErr: "function clean-fn: unreadable answer: "},
		{name: "function error", out: &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
			Payload: []byte(`{"errorMessage":"boom","errorType":"RuntimeError"}`)}, wantErr: "function clean-fn failed (Unhandled): RuntimeError: boom"},
		{name: "function error, raw payload", out: &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
			Payload: []byte(`Task timed out after 3.00 seconds`)}, wantErr: "function clean-fn failed (Unhandled): Task timed out after 3.00 seconds"},
		{name: "long error keeps its tail", out: ok(`{"error":"` + strings.Repeat("x", 2000) + `END"}`),
			wantErr: "function clean-fn: …" + strings.Repeat("x", 509) + "END"},
		{name: "bad status", out: &lambda.InvokeOutput{StatusCode: 500}, wantErr: "invoke clean-fn: status 500"},
		{name: "invoke error", err: errors.New("AccessDeniedException"), wantErr: "invoke clean-fn: AccessDeniedException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{out: tc.out, err: tc.err}
			tg, err := lambdatarget.New(api, "clean-fn")
			require.NoError(t, err)
			got, err := tg.Clean(context.Background(), res)
			require.Len(t, api.in, 1)
			in := api.in[0]
			assert.Equal(t, "clean-fn", aws.ToString(in.FunctionName))
			assert.Equal(t, types.InvocationTypeRequestResponse, in.InvocationType)
			want, _ := json.Marshal(res)
			assert.JSONEq(t, string(want), string(in.Payload))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.True(t, strings.HasPrefix(err.Error(), tc.wantErr), "got %q, want %q", err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestValidFunction(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"clean", true},
		{"my_fn-1.v2", true},
		{"clean:prod", true},
		{"clean:$LATEST", true},
		{"123456789012:function:clean", true},
		{"arn:aws:lambda:us-east-1:123456789012:function:clean", true},
		{"arn:aws:lambda:us-gov-west-1:123456789012:function:clean:7", true},
		{"arn:aws-cn:lambda:cn-north-1:123456789012:function:clean", true},
		{"", false},
		{"has space", false},
		{"clean/x", false},
		{"clean@x", false},
		{"clean;x", false},
		{"a:b:c", false},
		{strings.Repeat("x", 171), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := lambdatarget.ValidFunction(tc.name)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, `"`+tc.name+`" is not a Lambda function name or ARN (nor an http(s) URL)`)
			}
		})
	}
}

// TestFactoryWithParseTargets reads BOSKOS_JANITOR_TARGETS with both kinds
// of target.
func TestFactoryWithParseTargets(t *testing.T) {
	api := &fakeAPI{out: &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"dispatched":true}`)}}
	tg, err := janitor.ParseTargets("aws-account=arn:aws:lambda:us-east-1:123456789012:function:clean,gce-project=https://h/clean,x=bad name",
		janitor.WebhookOptions{}, lambdatarget.Factory(api))
	require.EqualError(t, err, `BOSKOS_JANITOR_TARGETS: entry "x=bad name": "bad name" is not a Lambda function name or ARN (nor an http(s) URL)`)
	assert.True(t, tg.Empty())
	tg, err = janitor.ParseTargets("aws-account=arn:aws:lambda:us-east-1:123456789012:function:clean,gce-project=https://h/clean",
		janitor.WebhookOptions{}, lambdatarget.Factory(api))
	require.NoError(t, err)
	c := tg.For("aws-account")
	require.IsType(t, &lambdatarget.Target{}, c)
	assert.Equal(t, "lambda arn:aws:lambda:us-east-1:123456789012:function:clean", c.(*lambdatarget.Target).String())
	got, err := c.Clean(context.Background(), boskos.Resource{Type: "aws-account", Name: "a"})
	require.NoError(t, err)
	assert.Equal(t, janitor.Dispatched, got)
	assert.IsType(t, &janitor.Webhook{}, tg.For("gce-project"))

	_, err = lambdatarget.New(nil, "clean")
	require.EqualError(t, err, "lambdatarget: no Lambda client")
}
