package lambdaconv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/callout/lambdacall/lambdacalltest"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/mason/lambdaconv"
	"github.com/boskos-serverless/boskos/core/mason/masontest"
)

const arn = "arn:aws:lambda:us-east-1:123456789012:function:build-cluster:live"

var (
	t0      = time.Date(2100, 1, 2, 15, 4, 5, 0, time.UTC)
	virtual = boskos.Resource{Type: "cluster", Name: "cluster-1", State: boskos.Cleaning, Owner: "mason", LastUpdate: t0, Epoch: 3}
	leased  = mason.TypeToResources{"aws-account": {{Type: "aws-account", Name: "a1", State: boskos.Leased, Owner: "mason", LastUpdate: t0}}}
)

// construct builds the converter of arn over api, through a registry as a
// config names it, and constructs virtual with it.
func construct(t *testing.T, api *lambdacalltest.API) (boskos.UserData, error) {
	t.Helper()
	r := mason.NewRegistry()
	require.NoError(t, lambdaconv.Register(r, api))
	m, err := r.Converter(boskos.ConfigType{Type: "Lambda", Content: arn})
	require.NoError(t, err)
	got, err := m.Construct(context.Background(), virtual, leased)
	in := api.Inputs()
	require.Len(t, in, 1)
	assert.Equal(t, arn, aws.ToString(in[0].FunctionName))
	assert.Equal(t, types.InvocationTypeRequestResponse, in[0].InvocationType)
	want, err2 := mason.EncodeRequest(virtual, leased, arn)
	require.NoError(t, err2)
	assert.Equal(t, string(want), string(in[0].Payload))
	return got, err
}

// TestAnswers: the function's result goes through DecodeAnswer.
func TestAnswers(t *testing.T) {
	for _, tc := range masontest.AnswerCases() {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := construct(t, &lambdacalltest.API{Out: &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(tc.Answer)}})
			tc.Check(t, "function "+arn+": ", got, err)
		})
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name    string
		out     *lambda.InvokeOutput
		err     error
		wantErr string
	}{
		{name: "function error", out: &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
			Payload: []byte(`{"errorMessage":"no quota in a1","errorType":"QuotaError"}`)},
			wantErr: "function " + arn + " failed (Unhandled): QuotaError: no quota in a1"},
		{name: "returned nothing", out: &lambda.InvokeOutput{StatusCode: 200},
			wantErr: "function " + arn + ": bad converter answer: empty, want a JSON object of strings"},
		{name: "bad status", out: &lambda.InvokeOutput{StatusCode: 500}, wantErr: "invoke " + arn + ": status 500"},
		{name: "invoke error", err: errors.New("AccessDeniedException: not allowed"), wantErr: "invoke " + arn + ": AccessDeniedException: not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := construct(t, &lambdacalltest.API{Out: tc.out, Err: tc.err})
			require.EqualError(t, err, tc.wantErr)
			assert.Nil(t, got)
		})
	}
}

func TestNewAndRegister(t *testing.T) {
	c, err := lambdaconv.New(&lambdacalltest.API{}, "build-cluster")
	require.NoError(t, err)
	assert.Equal(t, "lambda build-cluster", c.String())

	r := mason.NewDefaultRegistry(mason.ConverterOptions{})
	require.NoError(t, lambdaconv.Register(r, &lambdacalltest.API{}))
	assert.Equal(t, []string{"Command", "Lambda", "Webhook"}, r.Names())
	require.EqualError(t, lambdaconv.Register(r, &lambdacalltest.API{}), "mason: register Lambda: already registered")
	require.EqualError(t, lambdaconv.Register(mason.NewRegistry(), nil), "lambdaconv: register Lambda: no Lambda client")

	for _, tc := range []struct{ name, content, wantErr string }{
		{name: "a URL", content: "https://h/x", wantErr: `converter Lambda: "https://h/x" is not a Lambda function name or ARN`},
		{name: "empty", content: "", wantErr: `converter Lambda: "" is not a Lambda function name or ARN`},
		{name: "a path", content: "scripts/x.sh", wantErr: `converter Lambda: "scripts/x.sh" is not a Lambda function name or ARN`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Converter(boskos.ConfigType{Type: lambdaconv.Name, Content: tc.content})
			require.EqualError(t, err, tc.wantErr)
		})
	}
}
