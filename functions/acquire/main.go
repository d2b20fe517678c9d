// Command acquire is a Lambda function (provided.al2023, API Gateway HTTP API
// payload 2.0) serving POST /acquire: lease one free resource of a type.
// Configuration comes from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/lambdaapp/lambdacreds"
)

func main() { os.Exit(lambdaapp.Main("acquire", os.LookupEnv, os.Stderr, lambdacreds.Source)) }
