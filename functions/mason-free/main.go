// Command mason-free is a step of Mason's workflow as a Lambda function
// (provided.al2023, invoked by the Step Functions state machine with the
// execution's state as its event): it makes the virtual resource free and parks each physical one in the state named after it (the Free state).
// Configuration comes from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

func main() { os.Exit(lambdaapp.MainMasonStep("mason-free", os.LookupEnv, os.Stderr)) }
