// Command reconciler is a scheduled Lambda function (provided.al2023, one
// pass per EventBridge scheduled event): it applies the resources file at
// BOSKOS_CONFIG_URI (an S3 object, fetched conditionally on its ETag) when
// it changed, re-syncs deferred work, reconciles dynamic resources and
// collects stale request-queue entries. Configuration comes from the
// environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

func main() { os.Exit(lambdaapp.MainJob("reconciler", os.LookupEnv, os.Stderr, lambdaapp.WithS3)) }
