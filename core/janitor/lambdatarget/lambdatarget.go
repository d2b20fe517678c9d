package lambdatarget

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

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/janitor"
)

// API is the one Lambda client method a Target calls (*lambda.Client
// satisfies it; tests pass a fake).
type API interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ API = (*lambda.Client)(nil)

// errorTailBytes bounds the function's message kept in a failure.
const errorTailBytes = 512

// ValidFunction reports whether s is a Lambda function name or ARN, and why
// not (janitor.ValidLambdaFunction).
func ValidFunction(s string) error { return janitor.ValidLambdaFunction(s) }

// Target invokes one Lambda function per cleanup.
type Target struct {
	api      API
	function string
}

var _ janitor.Cleaner = (*Target)(nil)

// New returns the Target of function (a name or ARN, see ValidFunction).
func New(api API, function string) (*Target, error) {
	if api == nil {
		return nil, errors.New("lambdatarget: no Lambda client")
	}
	if err := ValidFunction(function); err != nil {
		return nil, err
	}
	return &Target{api: api, function: function}, nil
}

// Factory returns a janitor.TargetFactory that makes Targets over api.
func Factory(api API) janitor.TargetFactory {
	return func(target string) (janitor.Cleaner, error) { return New(api, target) }
}

// String returns the function's name or ARN.
func (t *Target) String() string { return "lambda " + t.function }

// answer is the payload a cleanup function may return.
type answer struct {
	Dispatched bool   `json:"dispatched"`
	Cleaned    *bool  `json:"cleaned"`
	Error      string `json:"error"`
}

// lambdaError is Lambda's payload of a function error.
type lambdaError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// Clean invokes the function with r and reads its answer (see the package
// doc).
func (t *Target) Clean(ctx context.Context, r boskos.Resource) (janitor.Outcome, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("encode resource: %w", err)
	}
	out, err := t.api.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(t.function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return 0, fmt.Errorf("invoke %s: %w", t.function, err)
	}
	if out.StatusCode != 0 && (out.StatusCode < 200 || out.StatusCode > 299) {
		return 0, fmt.Errorf("invoke %s: status %d", t.function, out.StatusCode)
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
		return 0, fmt.Errorf("function %s failed (%s): %s", t.function, *out.FunctionError, tail(msg))
	}
	if bytes.Equal(body, []byte("false")) {
		return 0, fmt.Errorf("function %s answered false", t.function)
	}
	var a answer
	if len(body) > 0 && body[0] == '{' {
		if err := json.Unmarshal(body, &a); err != nil {
			return 0, fmt.Errorf("function %s: unreadable answer: %v", t.function, err)
		}
	}
	switch {
	case a.Error != "":
		return 0, fmt.Errorf("function %s: %s", t.function, tail(a.Error))
	case a.Cleaned != nil && !*a.Cleaned:
		return 0, fmt.Errorf("function %s answered cleaned: false", t.function)
	case a.Dispatched:
		return janitor.Dispatched, nil
	}
	return janitor.Cleaned, nil
}

// tail keeps the end of a long message.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= errorTailBytes {
		return s
	}
	return "…" + strings.ToValidUTF8(s[len(s)-errorTailBytes:], "")
}
