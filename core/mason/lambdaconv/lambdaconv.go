// Package lambdaconv is Mason's built-in converter "Lambda": a type's
// config.content is an AWS Lambda function name or ARN (with an optional
// version or alias qualifier), invoked synchronously (RequestResponse)
// with the JSON of a mason.Request as its event; the function's result is
// the answer, decoded with mason.DecodeAnswer. It is a package of its own
// so that only programs that register it link the Lambda client (through
// core/callout/lambdacall, which declares the one client method called).
//
// Errors say: the invocation failed ("invoke NAME: ..."), the function
// failed ("function NAME failed (Unhandled): TYPE: MESSAGE", the tail of
// its message), or a bad answer ("function NAME: " and an error wrapping
// mason.ErrBadAnswer; a function that returns nothing answers null, which
// is one).
package lambdaconv

import (
	"context"
	"fmt"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/callout/lambdacall"
	"github.com/boskos-serverless/boskos/core/mason"
)

// Name is the converter's name, as a type's config.type names it.
const Name = mason.ConverterLambda

// API is the one Lambda client method the converter calls
// (lambdacall.API; *lambda.Client satisfies it).
type API = lambdacall.API

// Converter invokes one Lambda function per construction.
type Converter struct {
	content string
	fn      *lambdacall.Function
}

var _ mason.Masonable = (*Converter)(nil)

// New returns the converter of content, a function name or ARN
// (callout.ValidLambdaFunction), invoked through api. A nil api and an
// invalid name are errors.
func New(api API, content string) (*Converter, error) {
	fn, err := lambdacall.New(api, content)
	if err != nil {
		return nil, err
	}
	return &Converter{content: content, fn: fn}, nil
}

// String returns "lambda " and the function's name or ARN.
func (c *Converter) String() string { return "lambda " + c.fn.Name() }

// Construct invokes the function for res and leased (see the package
// doc).
func (c *Converter) Construct(ctx context.Context, res boskos.Resource, leased mason.TypeToResources) (boskos.UserData, error) {
	in, err := mason.EncodeRequest(res, leased, c.content)
	if err != nil {
		return nil, err
	}
	out, err := c.fn.Invoke(ctx, in)
	if err != nil {
		return nil, err
	}
	ud, err := mason.DecodeAnswer(out)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", c.fn.Name(), err)
	}
	return ud, nil
}

// Register adds the converter "Lambda", invoking functions through api, to
// r. A nil api, or r having the name already, is an error.
func Register(r *mason.Registry, api API) error {
	if api == nil {
		return fmt.Errorf("lambdaconv: register %s: no Lambda client", Name)
	}
	return r.Register(Name, func(content string) (mason.Masonable, error) { return New(api, content) })
}
