// Package masonlambda gives Mason's functions the Lambda converter
// (core/mason/lambdaconv: config.type Lambda, content a function name or
// ARN): a package of its own so that only functions/mason-construct, which
// invokes converter functions, links the Lambda SDK client (the dispatcher
// only needs the name: lambdaapp.MasonDispatcher registers it).
package masonlambda

import (
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/mason/lambdaconv"
)

// register returns the registration of the Lambda converter over a client
// built from env (and region, when set).
func register(env lambdaapp.AWSEnv, region string) func(*mason.Registry) error {
	return func(reg *mason.Registry) error {
		c := env.Config()
		if region != "" {
			c.Region = region
		}
		return lambdaconv.Register(reg, lambda.NewFromConfig(c))
	}
}

// Converters is the option of functions/mason-construct's
// lambdaapp.MainMasonStep: the Lambda converter besides the built-in ones.
func Converters(mc *lambdaapp.MasonConfig) {
	if mc.Converters == nil {
		mc.Converters = register(mc.AWS, mc.Region)
	}
}
