// Package janitorlambda gives the janitor function its Lambda client: a
// package of its own so that only functions/janitor links the Lambda SDK
// client (the other functions' bootstraps stay smaller).
package janitorlambda

import (
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/boskos-serverless/boskos/core/janitor/lambdatarget"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

// Targets sets jc.LambdaTargets, when unset, to cleaners invoking Lambda
// functions with a client built from jc.AWS (and jc.Region): the option of
// functions/janitor's lambdaapp.MainJob.
func Targets(jc *lambdaapp.JobConfig) {
	if jc.LambdaTargets != nil {
		return
	}
	c := jc.AWS.Config()
	if jc.Region != "" {
		c.Region = jc.Region
	}
	jc.LambdaTargets = lambdatarget.Factory(lambda.NewFromConfig(c))
}
