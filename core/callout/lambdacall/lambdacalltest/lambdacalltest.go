// Package lambdacalltest is a fake Lambda client for tests of the callers
// of lambdacall (a fake, not a mock: it answers, and records what it got).
package lambdacalltest

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/boskos-serverless/boskos/core/callout/lambdacall"
)

// API is a lambdacall.API that answers every Invoke with Out and Err, or
// with Answer when it is set, and records the inputs. It is safe for
// concurrent use.
type API struct {
	// Out and Err are the answer of every Invoke when Answer is nil.
	Out *lambda.InvokeOutput
	Err error
	// Answer, if set, answers each Invoke.
	Answer func(in *lambda.InvokeInput) (*lambda.InvokeOutput, error)

	mu sync.Mutex
	in []*lambda.InvokeInput
}

var _ lambdacall.API = (*API)(nil)

// Invoke records in and answers it.
func (f *API) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.mu.Lock()
	f.in = append(f.in, in)
	f.mu.Unlock()
	if f.Answer != nil {
		return f.Answer(in)
	}
	return f.Out, f.Err
}

// Inputs returns the inputs of the Invokes so far, in order.
func (f *API) Inputs() []*lambda.InvokeInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*lambda.InvokeInput(nil), f.in...)
}
