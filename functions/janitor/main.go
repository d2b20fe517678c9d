// Command janitor is a scheduled Lambda function (provided.al2023, one pass
// per EventBridge scheduled event): it claims dirty resources and has the
// cleanup of their type (BOSKOS_JANITOR_TARGETS) clean them. Configuration
// comes from the environment: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/lambdaapp/janitorlambda"
)

func main() {
	os.Exit(lambdaapp.MainJob("janitor", os.LookupEnv, os.Stderr, janitorlambda.Targets))
}
