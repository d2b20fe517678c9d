// Package lambdaapp is the common body of the Lambda functions under
// functions/: it reads their configuration from the environment (FromEnv,
// every error reported at once), builds the DynamoDB client, the store, the
// ranch and the Boskos HTTP handler once per execution environment
// (NewHandler), and serves API Gateway HTTP API events (payload format 2.0)
// through that handler (Lambda, Start).
//
// Each function serves only its own routes (Routes): the same code runs in
// every function, and a request that reaches a function through the wrong
// route (an API misconfiguration) is answered 500 "<path> is not served by
// this function" and logged at error level, instead of being executed with
// that function's permissions (Only). The catch-all function (metric) also
// serves unknown paths, as upstream's catch-all does (200, empty body).
//
// Environment:
//
//	BOSKOS_TABLE               DynamoDB table name or ARN (required)
//	BOSKOS_REQUEST_TTL         how long a request_id keeps its queue place (Go duration, default 30s)
//	BOSKOS_LOG_LEVEL           debug, info, warn or error (default info)
//	AWS_ENDPOINT_URL_DYNAMODB  DynamoDB endpoint override (e.g. DynamoDB Local); optional
//
// Region and credentials come from the standard AWS SDK chain (the Lambda
// environment provides them).
package lambdaapp
