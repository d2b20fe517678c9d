// Package lambdacall invokes AWS Lambda functions synchronously with a
// JSON payload and returns their result: the callout transport of the
// janitor's Lambda cleanups (core/janitor/lambdatarget) and Mason's Lambda
// converter (core/mason/lambdaconv). It is the only callout package that
// imports the AWS SDK, and calls one client method, declared as API.
package lambdacall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/boskos-serverless/boskos/core/callout"
)

// API is the one Lambda client method a Function calls (*lambda.Client
// satisfies it; tests pass a fake).
type API interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ API = (*lambda.Client)(nil)

// Function invokes one Lambda function.
type Function struct {
	api  API
	name string
}

// New returns the Function named function (a name or ARN, see
// callout.ValidLambdaFunction) invoked through api. A nil api and an
// invalid name are errors.
func New(api API, function string) (*Function, error) {
	if api == nil {
		return nil, errors.New("lambdacall: no Lambda client")
	}
	if err := callout.ValidLambdaFunction(function); err != nil {
		return nil, err
	}
	return &Function{api: api, name: function}, nil
}

// Name returns the function's name or ARN, as given to New.
func (f *Function) Name() string { return f.name }

// lambdaError is Lambda's payload of a function error.
type lambdaError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// Invoke invokes the function (InvocationType RequestResponse) with
// payload as its event and returns its result, trimmed of surrounding
// white space (empty when the function returned nothing). Errors:
//
//   - the call failed (the context, credentials, throttling, no such
//     function): "invoke NAME: " and the SDK's error, wrapped;
//   - a status outside 2xx: "invoke NAME: status N";
//   - a function error (an unhandled exception, a timeout: FunctionError
//     set): "function NAME failed (KIND): TYPE: MESSAGE", or the raw
//     payload for MESSAGE when it is not Lambda's error object, at most
//     callout.TailBytes of it.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := f.api.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(f.name),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", f.name, err)
	}
	if out.StatusCode != 0 && (out.StatusCode < 200 || out.StatusCode > 299) {
		return nil, fmt.Errorf("invoke %s: status %d", f.name, out.StatusCode)
	}
	body := bytes.TrimSpace(out.Payload)
	if out.FunctionError != nil {
		msg := string(body)
		var le lambdaError
		if json.Unmarshal(body, &le) == nil && le.ErrorMessage != "" {
			msg = le.ErrorMessage
			if le.ErrorType != "" {
				msg = le.ErrorType + ": " + msg
			}
		}
		return nil, fmt.Errorf("function %s failed (%s): %s", f.name, *out.FunctionError,
			callout.Tail(strings.TrimSpace(msg), callout.TailBytes))
	}
	return body, nil
}
