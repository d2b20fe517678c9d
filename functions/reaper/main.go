// Command reaper is a scheduled Lambda function (provided.al2023, one pass
// per EventBridge scheduled event): it resets leases not updated within
// BOSKOS_REAPER_EXPIRE to BOSKOS_REAPER_TARGET_STATE, for every type of the
// config in force. Configuration comes from the environment: see package
// lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

func main() { os.Exit(lambdaapp.MainJob("reaper", os.LookupEnv, os.Stderr)) }
