// Command mason-dispatch is a scheduled Lambda function (provided.al2023,
// one pass per EventBridge scheduled event): Mason's dispatcher. It claims
// the dirty virtual resources of the types whose config.type names a
// converter (dirty → cleaning, owner mason) and starts one execution of
// the workflow's state machine (BOSKOS_MASON_STATE_MACHINE_ARN) per
// resource, named after the resource and the claim's epoch. Configuration
// comes from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/lambdaapp/masonsfn"
)

func main() {
	os.Exit(lambdaapp.MainJob("mason-dispatch", os.LookupEnv, os.Stderr, masonsfn.Starter))
}
