// Command history is a Lambda function (provided.al2023, API Gateway HTTP API
// payload 2.0) serving the lease history read API: GET
// /v1/resources/{name}/history, /v1/history and /v1/usage. Configuration comes
// from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/lambdaapp/lambdacreds"
)

func main() { os.Exit(lambdaapp.Main("history", os.LookupEnv, os.Stderr, lambdacreds.Source)) }
