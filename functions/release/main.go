// Command release is a Lambda function (provided.al2023, API Gateway HTTP API
// payload 2.0) serving POST /release: hand a resource back.
// Configuration comes from the environment: see package lambdaapp.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

func main() {
	cfg, err := lambdaapp.FromEnv(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "release: invalid configuration:\n%v\n", err)
		os.Exit(2)
	}
	h, err := lambdaapp.NewHandler(context.Background(), cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(1)
	}
	lambdaapp.Start(h, cfg.Log(), lambdaapp.Routes["release"]...)
}
