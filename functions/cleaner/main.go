// Command cleaner is a scheduled Lambda function (provided.al2023, one pass
// per EventBridge scheduled event): upstream's cleaner, it releases the
// leasedResources of toBeDeleted dynamic resources as dirty and moves them
// to tombstone. Configuration comes from the environment: see package
// lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

func main() { os.Exit(lambdaapp.MainJob("cleaner", os.LookupEnv, os.Stderr)) }
