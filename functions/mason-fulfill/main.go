// Command mason-fulfill is a step of Mason's workflow as a Lambda function
// (provided.al2023, invoked by the Step Functions state machine with the
// execution's state as its event): it leases every need of a virtual resource at once or none (the Fulfill state; the workflow waits and calls it again).
// Configuration comes from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

func main() { os.Exit(lambdaapp.MainMasonStep("mason-fulfill", os.LookupEnv, os.Stderr)) }
