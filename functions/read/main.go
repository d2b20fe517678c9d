// Command read is a Lambda function (provided.al2023, API Gateway HTTP API
// payload 2.0) serving the read API, GET /v1/resources, /v1/queue and
// /v1/types (JSON lists with cursors), and the dashboard at /ui/ (routes
// /ui and /ui/{proxy+}). It only reads the table (dynamodb:Query).
// Configuration comes from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/lambdaapp/lambdacreds"
)

func main() { os.Exit(lambdaapp.Main("read", os.LookupEnv, os.Stderr, lambdacreds.Source)) }
