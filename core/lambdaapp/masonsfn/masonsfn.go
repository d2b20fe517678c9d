// Package masonsfn gives Mason's dispatcher function its Step Functions
// starter: a package of its own so that only functions/mason-dispatch
// links the Step Functions client (the other functions' bootstraps stay
// smaller).
package masonsfn

import (
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/mason/sfnstarter"
)

// Starter sets jc.MasonJob, when unset, to lambdaapp.MasonDispatcher, and
// jc.MasonStarter, when unset, to a sfnstarter.Starter of
// jc.MasonStateMachineARN with a client built from jc.AWS (and
// jc.Region; AWS_ENDPOINT_URL overrides the endpoint): the option of
// functions/mason-dispatch's lambdaapp.MainJob. An ARN JobFromEnv did not
// accept leaves the starter unset, and building the job fails saying so.
func Starter(jc *lambdaapp.JobConfig) {
	if jc.MasonJob == nil {
		jc.MasonJob = lambdaapp.MasonDispatcher
	}
	if jc.MasonStarter != nil {
		return
	}
	c := jc.AWS.Config()
	if jc.Region != "" {
		c.Region = jc.Region
	}
	if s, err := sfnstarter.New(sfn.NewFromConfig(c), jc.MasonStateMachineARN); err == nil {
		jc.MasonStarter = s
	}
}
