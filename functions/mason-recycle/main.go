// Command mason-recycle is a step of Mason's workflow as a Lambda function
// (provided.al2023, invoked by the Step Functions state machine with the
// execution's state as its event): it releases the physical resources of a virtual resource's previous construction as dirty (the Recycle state).
// Configuration comes from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

func main() { os.Exit(lambdaapp.MainMasonStep("mason-recycle", os.LookupEnv, os.Stderr)) }
