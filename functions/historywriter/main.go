// Command historywriter is a Lambda function (provided.al2023) fed by the
// table's DynamoDB stream through an event source mapping: it writes one
// history record per transition of a resource (idempotent on resource and
// version) and reports the first record it could not write, so that Lambda
// retries from there. BOSKOS_HISTORY_RETENTION sets the records' ttl;
// the rest of the configuration: see package lambdaapp.
package main

import (
	"os"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

func main() { os.Exit(lambdaapp.MainHistoryWriter(os.LookupEnv, os.Stderr)) }
