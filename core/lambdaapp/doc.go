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
//	BOSKOS_CREDENTIALS_FILE    credentials file (package auth), read once; optional
//	BOSKOS_CREDENTIALS_SECRET  Secrets Manager secret (name or ARN) holding the credentials file; optional
//	BOSKOS_CREDENTIALS_TTL     how long the secret's credentials are used before a request reads them
//	                           again (Go duration, default 60s: auth.DefaultRefreshTTL)
//	AWS_ENDPOINT_URL_SECRETS_MANAGER  Secrets Manager endpoint override; optional
//	BOSKOS_ANONYMOUS_METRICS   true: GET /metric and /metrics need no credentials (default false)
//
// At most one credentials source may be set; with one, every endpoint but
// /healthz needs a principal of it: HTTP Basic credentials, or the IAM
// caller that API Gateway's IAM authorization verified
// (requestContext.authorizer.iam.userArn, mapped by principals[].iam). The
// secret is read at start (a failure is a start failure) and
// again by the first request after each TTL, keeping the credentials in
// force when that read fails (auth.Refresher); the API functions' mains
// pass Main the option lambdacreds.Source, which builds the client.
// BOSKOS_CREDENTIALS_PARAMETER (an SSM parameter, once a source) is refused
// at start: SSM is not supported, because the SDK's ssm package would put
// the API functions' bootstraps over 10 MB and the project does not write
// AWS protocols by hand.
//
// Region and credentials come from the variables Lambda sets (AWS_REGION,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, and the
// AWS_ENDPOINT_URL override: AWSEnv), not from the SDK's configuration
// loader, which would add its SSO, STS and metadata providers to every
// bootstrap.
//
// Metrics are CloudWatch Embedded Metric Format lines on stdout (package
// emf, with the deployed name AWS_LAMBDA_FUNCTION_NAME as the function
// dimension): Acquires and AcquireLatency from the API's acquires,
// Conflicts (failed conditional writes, counted at the store) after each
// request or pass, Reaped from the reaper, JanitorCleaned, JanitorFailed
// and Quarantined from the janitor. No Prometheus registry is linked;
// GET /metrics serves boskos_resources computed from the table.
//
// The scheduled job functions (functions/reaper, reconciler, cleaner,
// janitor) share the ranch construction (NewRanch) and have an entry point
// of their own (MainJob): JobFromEnv reads FromEnv's variables and the
// job's (JobEnv, every error at once), NewJob builds the maintenance job,
// and JobHandler serves one pass per EventBridge scheduled event, with a
// context that ends a safety margin before the invocation's deadline, and
// answers and logs a JobReport. Their environment besides the above:
//
//	BOSKOS_CONFIG_URI            reconciler: the resources file, s3://bucket/key (required)
//	AWS_ENDPOINT_URL_S3          reconciler: S3 endpoint override; buckets are then addressed path-style
//	BOSKOS_REAPER_EXPIRE         reaper: leases not updated for this long are reset (default 30m)
//	BOSKOS_REAPER_TARGET_STATE   reaper: where they go (default dirty)
//	BOSKOS_REAPER_EXTRA_STATES   reaper: comma list of states reaped besides busy, cleaning, leased
//	BOSKOS_JANITOR_TARGETS       janitor: comma list of TYPE=TARGET, TARGET an http(s):// webhook or a Lambda function name or ARN (required)
//	BOSKOS_JANITOR_MAX_FAILURES  janitor: consecutive failed cleanups before quarantine (default 3)
//
// The janitor's job is built by newJanitorJob (janitor.go), which fails with
// ErrJanitorNotWired until package janitor is plugged in there.
//
// Mason (mason.go) has a job and five step functions. functions/mason-dispatch
// is a job (MainJob): mason's Dispatcher (MasonDispatcher), starting
// executions of the workflow's state machine through package masonsfn's
// Step Functions starter; masonsfn.Starter wires both, so that only that
// bootstrap links the dispatcher and the Step Functions client. Each Task state
// of core/mason's document is a step function (MasonSteps:
// functions/mason-recycle, -fulfill, -construct, -free, -gc; MainMasonStep):
// Step Functions invokes it with the execution's state, it runs that one
// step of mason.Workflow (NewMasonStep) and answers the step's JSON; a
// failed step is a messages.InvokeResponse_Error named with its ASL error
// (MasonHandler), which the document's Retry and Catch match. The free and
// garbage-collect steps emit MasonConstructed and MasonFailures. The
// converters are masonRegistry's. Their environment besides the above:
//
//	BOSKOS_MASON_STATE_MACHINE_ARN  mason-dispatch: the workflow's state machine (required)
//	BOSKOS_MASON_WAIT               mason-fulfill: wait before leasing needs again (default 15s)
package lambdaapp
