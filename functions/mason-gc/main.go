// Command mason-gc is a step of Mason's workflow as a Lambda function
// (provided.al2023, invoked by the Step Functions state machine with the
// execution's state as its event): it releases a failed construction's resources as dirty, keeping the reason (the GarbageCollect state).
// Configuration comes from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

func main() { os.Exit(lambdaapp.MainMasonStep("mason-gc", os.LookupEnv, os.Stderr)) }
