// Command mason-construct is a step of Mason's workflow as a Lambda function
// (provided.al2023, invoked by the Step Functions state machine with the
// execution's state as its event): it runs the type's converter and stores the userdata it returns (the Construct state).
// Configuration comes from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/lambdaapp/masonlambda"
)

func main() {
	os.Exit(lambdaapp.MainMasonStep("mason-construct", os.LookupEnv, os.Stderr, masonlambda.Converters))
}
