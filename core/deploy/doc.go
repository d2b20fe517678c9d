// Package deploy holds the names that the deployment code (the CDK app in
// infra/, template.yaml) shares with the service: the DynamoDB table's
// schema, the Lambda functions and their routes, the environment variables
// the functions read, and the DynamoDB actions each function's handler can
// issue (its least-privilege policy).
//
// It imports no AWS SDK and nothing heavy (only core/store, for the names
// of the index and TTL attributes), so infra/ imports names, not the SDK.
// Tests keep every table here equal to what the code does:
// core/lambdaapp/deploy_names_test.go checks Functions against
// lambdaapp.Routes and the environment names against lambdaapp's, and
// proves each function's DynamoDBActions equal to the operations its
// handler sends to DynamoDB Local.
package deploy
