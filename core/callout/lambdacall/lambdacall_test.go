package lambdacall_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/callout/lambdacall"
	"github.com/boskos-serverless/boskos/core/callout/lambdacall/lambdacalltest"
)

func TestInvoke(t *testing.T) {
	fnErr := func(payload string) *lambda.InvokeOutput {
		return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), Payload: []byte(payload)}
	}
	tests := []struct {
		name    string
		out     *lambda.InvokeOutput
		err     error
		want    string
		wantErr string
	}{
		{name: "the result, trimmed", out: &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(" {\"a\":\"b\"}\n")}, want: `{"a":"b"}`},
		{name: "no status is fine", out: &lambda.InvokeOutput{Payload: []byte(`1`)}, want: `1`},
		{name: "nothing returned", out: &lambda.InvokeOutput{StatusCode: 200}, want: ""},
		{name: "function error object", out: fnErr(`{"errorMessage":"no kubeconfig","errorType":"ValueError"}`),
			wantErr: "function conv failed (Unhandled): ValueError: no kubeconfig"},
		{name: "function error without type", out: fnErr(`{"errorMessage":"no kubeconfig"}`),
			wantErr: "function conv failed (Unhandled): no kubeconfig"},
		{name: "function error, raw", out: fnErr("Task timed out after 3.00 seconds\n"),
			wantErr: "function conv failed (Unhandled): Task timed out after 3.00 seconds"},
		{name: "function error keeps its tail", out: fnErr(`{"errorMessage":"` + strings.Repeat("y", 1000) + `END"}`),
			wantErr: "function conv failed (Unhandled): …" + strings.Repeat("y", 509) + "END"},
		{name: "bad status", out: &lambda.InvokeOutput{StatusCode: 502}, wantErr: "invoke conv: status 502"},
		{name: "call error", err: errors.New("ResourceNotFoundException: no such function"),
			wantErr: "invoke conv: ResourceNotFoundException: no such function"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &lambdacalltest.API{Out: tc.out, Err: tc.err}
			fn, err := lambdacall.New(api, "conv")
			require.NoError(t, err)
			assert.Equal(t, "conv", fn.Name())
			got, err := fn.Invoke(context.Background(), []byte(`{"in":1}`))
			in := api.Inputs()
			require.Len(t, in, 1)
			assert.Equal(t, "conv", aws.ToString(in[0].FunctionName))
			assert.Equal(t, types.InvocationTypeRequestResponse, in[0].InvocationType)
			assert.Equal(t, `{"in":1}`, string(in[0].Payload))
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
	t.Run("the call's error is wrapped", func(t *testing.T) {
		fn, err := lambdacall.New(&lambdacalltest.API{Err: context.DeadlineExceeded}, "conv")
		require.NoError(t, err)
		_, err = fn.Invoke(context.Background(), nil)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestNew(t *testing.T) {
	_, err := lambdacall.New(nil, "conv")
	require.EqualError(t, err, "lambdacall: no Lambda client")
	_, err = lambdacall.New(&lambdacalltest.API{}, "not/a/name")
	require.EqualError(t, err, `"not/a/name" is not a Lambda function name or ARN`)
}
