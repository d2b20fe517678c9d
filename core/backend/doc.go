// Package backend turns a store specification string, as given on the
// command line (--store), into an open store.Store:
//
//	bolt:PATH       the embedded bbolt file at PATH (default bolt:boskos.db)
//	memory          an in-memory store, lost on exit (tests, --in_memory)
//	dynamodb:TABLE  the DynamoDB table TABLE (it must exist: see
//	                `boskos table create`)
//
// For DynamoDB the endpoint, region and credentials come from Options or,
// when unset, from the AWS SDK's standard sources (AWS_ENDPOINT_URL_DYNAMODB,
// AWS_REGION, shared config files, ...). The package itself reads no
// environment variables.
package backend
