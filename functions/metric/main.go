// Command metric is a Lambda function (provided.al2023, API Gateway HTTP API
// payload 2.0) serving GET /metric (counts by state and owner) and API
// Gateway's $default route: every unknown path, answered as upstream's
// catch-all (200, empty body), and /healthz.
// Configuration comes from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/lambdaapp/lambdacreds"
)

func main() { os.Exit(lambdaapp.Main("metric", os.LookupEnv, os.Stderr, lambdacreds.Source)) }
