package lambdatarget

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/callout"
	"github.com/boskos-serverless/boskos/core/callout/lambdacall"
	"github.com/boskos-serverless/boskos/core/janitor"
)

// API is the one Lambda client method a Target calls (lambdacall.API;
// *lambda.Client satisfies it, tests pass a fake).
type API = lambdacall.API

// ValidFunction reports whether s is a Lambda function name or ARN, and why
// not (janitor.ValidLambdaFunction).
func ValidFunction(s string) error { return janitor.ValidLambdaFunction(s) }

// Target invokes one Lambda function per cleanup.
type Target struct {
	fn *lambdacall.Function
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
	fn, err := lambdacall.New(api, function)
	if err != nil {
		return nil, err
	}
	return &Target{fn: fn}, nil
}

// Factory returns a janitor.TargetFactory that makes Targets over api.
func Factory(api API) janitor.TargetFactory {
	return func(target string) (janitor.Cleaner, error) { return New(api, target) }
}

// String returns the function's name or ARN.
func (t *Target) String() string { return "lambda " + t.fn.Name() }

// answer is the payload a cleanup function may return.
type answer struct {
	Dispatched bool   `json:"dispatched"`
	Cleaned    *bool  `json:"cleaned"`
	Error      string `json:"error"`
}

// Clean invokes the function with r and reads its answer (see the package
// doc).
func (t *Target) Clean(ctx context.Context, r boskos.Resource) (janitor.Outcome, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("encode resource: %w", err)
	}
	body, err := t.fn.Invoke(ctx, payload)
	if err != nil {
		return 0, err
	}
	name := t.fn.Name()
	if bytes.Equal(body, []byte("false")) {
		return 0, fmt.Errorf("function %s answered false", name)
	}
	var a answer
	if len(body) > 0 && body[0] == '{' {
		if err := json.Unmarshal(body, &a); err != nil {
			return 0, fmt.Errorf("function %s: unreadable answer: %v", name, err)
		}
	}
	switch {
	case a.Error != "":
		return 0, fmt.Errorf("function %s: %s", name, callout.Tail(strings.TrimSpace(a.Error), callout.TailBytes))
	case a.Cleaned != nil && !*a.Cleaned:
		return 0, fmt.Errorf("function %s answered cleaned: false", name)
	case a.Dispatched:
		return janitor.Dispatched, nil
	}
	return janitor.Cleaned, nil
}
