package sfnstarter_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/mason/sfnstarter"
)

const arn = "arn:aws:states:us-east-1:123456789012:stateMachine:boskos-dev-mason"

// fakeSFN records StartExecution calls and answers err.
type fakeSFN struct {
	calls []sfn.StartExecutionInput
	err   error
}

func (f *fakeSFN) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.calls = append(f.calls, *in)
	if f.err != nil {
		return nil, f.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:boskos-dev-mason:" + aws.ToString(in.Name))}, nil
}

func TestStart(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		err       error
		wantIs    error  // errors.Is the result
		wantText  string // in the error
		wantEnded bool
	}{
		{name: "started"},
		{name: "an ended execution of that name", err: &types.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: 'x'")},
			wantIs: mason.ErrExecutionEnded, wantText: "sfnstarter: start c-1-7: an execution of that name has ended", wantEnded: true},
		{name: "ExecutionAlreadyExists by its code only", err: &smithy.GenericAPIError{Code: "ExecutionAlreadyExists", Message: "m"},
			wantIs: mason.ErrExecutionEnded, wantEnded: true},
		{name: "too many executions", err: &types.ExecutionLimitExceeded{Message: aws.String("limit")},
			wantText: "sfnstarter: start c-1-7: ExecutionLimitExceeded: limit"},
		{name: "no such state machine", err: &types.StateMachineDoesNotExist{Message: aws.String("gone")},
			wantText: "StateMachineDoesNotExist: gone"},
		{name: "not an API error", err: errors.New("dial tcp: refused"), wantText: "sfnstarter: start c-1-7: dial tcp: refused"},
		{name: "context ended", ctx: cancelled, wantIs: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			api := &fakeSFN{err: tc.err}
			s, err := sfnstarter.New(api, arn)
			require.NoError(t, err)
			assert.Equal(t, arn, s.StateMachineARN())
			err = s.Start(ctx, "c-1-7", []byte(`{"resource":"c-1","type":"cluster","epoch":7}`))
			require.Len(t, api.calls, 1)
			c := api.calls[0]
			assert.Equal(t, arn, aws.ToString(c.StateMachineArn))
			assert.Equal(t, "c-1-7", aws.ToString(c.Name))
			assert.Equal(t, `{"resource":"c-1","type":"cluster","epoch":7}`, aws.ToString(c.Input))
			if tc.err == nil && tc.ctx == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			if tc.wantIs != nil {
				assert.ErrorIs(t, err, tc.wantIs)
			}
			if tc.wantText != "" {
				assert.Contains(t, err.Error(), tc.wantText)
			}
			assert.Equal(t, tc.wantEnded, errors.Is(err, mason.ErrExecutionEnded))
			var api2 smithy.APIError
			assert.False(t, errors.As(err, &api2), "got an SDK error type in %v, want it translated", err)
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, arn string
		api       sfnstarter.API
		want      string
	}{
		{name: "ok", arn: arn, api: &fakeSFN{}},
		{name: "china partition", arn: "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:m", api: &fakeSFN{}},
		{name: "no client", arn: arn, want: "no Step Functions client"},
		{name: "empty", arn: "", api: &fakeSFN{}, want: "is not a state machine ARN"},
		{name: "a name", arn: "boskos-dev-mason", api: &fakeSFN{}, want: "is not a state machine ARN"},
		{name: "an execution", arn: "arn:aws:states:us-east-1:123456789012:execution:m:e", api: &fakeSFN{}, want: "is not a state machine ARN"},
		{name: "a Lambda function", arn: "arn:aws:lambda:us-east-1:123456789012:function:f", api: &fakeSFN{}, want: "is not a state machine ARN"},
		{name: "no account", arn: "arn:aws:states:us-east-1::stateMachine:m", api: &fakeSFN{}, want: "is not a state machine ARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sfnstarter.New(tc.api, tc.arn)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
