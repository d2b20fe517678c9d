// Package sfnstarter is Mason's Starter in AWS: it starts executions of
// the workflow's Standard state machine with Step Functions'
// StartExecution, the one client method it calls (API).
//
// Step Functions makes a start idempotent by name: StartExecution with
// the name and input of a running execution succeeds without starting a
// second one; with the name of an execution that has ended, or with
// another input while it runs, it fails with ExecutionAlreadyExists. The
// dispatcher derives the input from the name (the resource and the
// claim's epoch; core/mason.ExecutionName), so here ExecutionAlreadyExists
// means the execution has ended: Start returns mason.ErrExecutionEnded.
// Every other error is translated here, once: the SDK's types do not
// leave this package.
package sfnstarter

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/boskos-serverless/boskos/core/mason"
)

// API is the Step Functions client method the Starter calls
// (*sfn.Client satisfies it; tests pass a fake).
type API interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

var _ API = (*sfn.Client)(nil)

// Starter starts executions of one state machine.
type Starter struct {
	api API
	arn string
}

var _ mason.Starter = (*Starter)(nil)

// New returns the Starter of the state machine stateMachineARN through
// api. A nil api or an ARN that is not a state machine's is an error.
func New(api API, stateMachineARN string) (*Starter, error) {
	if api == nil {
		return nil, errors.New("sfnstarter: no Step Functions client")
	}
	if err := ValidARN(stateMachineARN); err != nil {
		return nil, err
	}
	return &Starter{api: api, arn: stateMachineARN}, nil
}

// ValidARN checks that arn is a state machine's ARN
// (arn:<partition>:states:<region>:<account>:stateMachine:<name>).
func ValidARN(arn string) error {
	p := strings.Split(arn, ":")
	if len(p) != 7 || p[0] != "arn" || p[1] == "" || p[2] != "states" || p[3] == "" || p[4] == "" || p[5] != "stateMachine" || p[6] == "" {
		return fmt.Errorf("sfnstarter: %q is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)", arn)
	}
	return nil
}

// StateMachineARN returns the state machine's ARN.
func (s *Starter) StateMachineARN() string { return s.arn }

// Start implements mason.Starter: it starts the execution named
// execution with input. A name whose execution has ended is
// mason.ErrExecutionEnded; a cancelled or expired ctx is its error;
// anything else is an error naming Step Functions' error code.
func (s *Starter) Start(ctx context.Context, execution string, input []byte) error {
	_, err := s.api.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.arn),
		Name:            aws.String(execution),
		Input:           aws.String(string(input)),
	})
	if err == nil {
		return nil
	}
	return translate(ctx, execution, err)
}

// translate maps a StartExecution error: ExecutionAlreadyExists (by its
// code, as every SDK error is matched) is mason.ErrExecutionEnded; the
// context's end is ctx.Err(); other API errors keep their code and
// message; the rest their text.
func translate(ctx context.Context, execution string, err error) error {
	if cerr := ctx.Err(); cerr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("sfnstarter: start %s: %w", execution, cerr)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if api.ErrorCode() == "ExecutionAlreadyExists" {
			return fmt.Errorf("sfnstarter: start %s: %w", execution, mason.ErrExecutionEnded)
		}
		return fmt.Errorf("sfnstarter: start %s: %s: %s", execution, api.ErrorCode(), api.ErrorMessage())
	}
	return fmt.Errorf("sfnstarter: start %s: %s", execution, err.Error())
}
