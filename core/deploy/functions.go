package deploy

import "sort"

// Names of the environment variables the functions read (core/lambdaapp
// parses them).
const (
	// EnvTable is the DynamoDB table name or ARN (every function).
	EnvTable = "BOSKOS_TABLE"
	// EnvLogLevel is the log level (every function).
	EnvLogLevel = "BOSKOS_LOG_LEVEL"
	// EnvRequestTTL is how long a request_id keeps its queue place.
	EnvRequestTTL = "BOSKOS_REQUEST_TTL"
	// EnvSpreadWindow is acquire's spread window.
	EnvSpreadWindow = "BOSKOS_SPREAD_WINDOW"
	// EnvConfigURI is the resources file the reconciler applies
	// (s3://bucket/key).
	EnvConfigURI = "BOSKOS_CONFIG_URI"
	// EnvReaperExpire is the age after which the reaper resets a lease.
	EnvReaperExpire = "BOSKOS_REAPER_EXPIRE"
	// EnvReaperTargetState is where the reaper moves stale leases.
	EnvReaperTargetState = "BOSKOS_REAPER_TARGET_STATE"
	// EnvReaperExtraStates are states reaped besides busy, cleaning, leased.
	EnvReaperExtraStates = "BOSKOS_REAPER_EXTRA_STATES"
	// EnvJanitorTargets is the janitor's TYPE=TARGET list.
	EnvJanitorTargets = "BOSKOS_JANITOR_TARGETS"
	// EnvJanitorMaxFailures is the janitor's quarantine threshold.
	EnvJanitorMaxFailures = "BOSKOS_JANITOR_MAX_FAILURES"
	// EnvCredentialsFile is a credentials file of the API functions (in the
	// deployment package or a mounted file system; the stacks do not set
	// it, they use EnvCredentialsSecret).
	EnvCredentialsFile = "BOSKOS_CREDENTIALS_FILE"
	// EnvCredentialsSecret is the Secrets Manager secret (name or ARN) the
	// API functions read their credentials from; the stacks set it to
	// their secret's ARN when the environment has credentials.
	EnvCredentialsSecret = "BOSKOS_CREDENTIALS_SECRET"
	// EnvCredentialsTTL is how long the API functions use the credentials
	// they read before reading them again.
	EnvCredentialsTTL = "BOSKOS_CREDENTIALS_TTL"
	// EnvAnonymousMetrics opens the metric reads to anonymous callers.
	EnvAnonymousMetrics = "BOSKOS_ANONYMOUS_METRICS"
	// EnvHistoryRetention is how long the history writer keeps records
	// (their ttl; a Go duration, default 720h).
	EnvHistoryRetention = "BOSKOS_HISTORY_RETENTION"
	// EnvMasonStateMachineARN is the Mason workflow's state machine, in
	// which the dispatcher starts executions.
	EnvMasonStateMachineARN = "BOSKOS_MASON_STATE_MACHINE_ARN"
	// EnvMasonWait is how long a Mason construction waits before trying
	// again to lease needs that are not available (the Fulfill step).
	EnvMasonWait = "BOSKOS_MASON_WAIT"
)

// UIRoutes are the dashboard's routes: the page at /ui, and /ui/ with its
// files through a greedy path variable (an HTTP API route key cannot end
// in "/"; "{proxy+}" also catches "/ui/" itself).
var UIRoutes = []string{"/ui", "/ui/{proxy+}"}

// CatchAll is the route of API Gateway's $default route key: the function
// given it also answers every path no other route matches (upstream's
// catch-all). It equals lambdaapp.CatchAll.
const CatchAll = "$default"

// Kind tells how a function is invoked.
type Kind int

const (
	// API functions serve HTTP API routes (payload format 2.0).
	API Kind = iota
	// Job functions run one maintenance pass per EventBridge scheduled
	// event.
	Job
	// Stream functions consume the table's DynamoDB stream (an event
	// source mapping): the history writer.
	Stream
	// Step functions run one step of Mason's workflow (a Task state of
	// core/mason's document, Function.Step) per invocation by Step
	// Functions: the state as input, the step's answer as output.
	Step
)

// Names of the functions: their directories under functions/ and build/.
const (
	FnAcquire        = "acquire"
	FnAcquireByState = "acquirebystate"
	FnRelease        = "release"
	FnUpdate         = "update"
	FnReset          = "reset"
	FnMetric         = "metric"
	FnMetrics        = "metrics"
	FnRead           = "read" // the read API (/v1/...) and the dashboard (/ui)
	FnReaper         = "reaper"
	FnReconciler     = "reconciler"
	FnCleaner        = "cleaner"
	FnJanitor        = "janitor"
	// FnHistory serves the history read API (GET /v1/...).
	FnHistory = "history"
	// FnHistoryWriter writes the history records from the table's stream.
	FnHistoryWriter = "historywriter"
	// Mason: the dispatcher (a job) and one function per Task state.
	FnMasonDispatch       = "mason-dispatch"
	FnMasonRecycle        = "mason-recycle"
	FnMasonFulfill        = "mason-fulfill"
	FnMasonConstruct      = "mason-construct"
	FnMasonFree           = "mason-free"
	FnMasonGarbageCollect = "mason-gc"
)

// The Task states of Mason's workflow document (core/mason.Steps; the
// names are equal, which core/lambdaapp's tests check).
const (
	StepRecycle        = "Recycle"
	StepFulfill        = "Fulfill"
	StepConstruct      = "Construct"
	StepFree           = "Free"
	StepGarbageCollect = "GarbageCollect"
)

// DynamoDB IAM actions. A TransactWriteItems needs the action of each of
// its items (PutItem, UpdateItem, DeleteItem, ConditionCheckItem); there is
// no IAM action of its own.
const (
	ActGetItem      = "dynamodb:GetItem"
	ActBatchGetItem = "dynamodb:BatchGetItem"
	ActPutItem      = "dynamodb:PutItem"
	ActUpdateItem   = "dynamodb:UpdateItem"
	ActDeleteItem   = "dynamodb:DeleteItem"
	ActQuery        = "dynamodb:Query"
	// ActConditionCheckItem is a transaction's condition on an item it
	// does not write (Mason's Fulfill: the free resources ahead of those
	// it leases must not have changed).
	ActConditionCheckItem = "dynamodb:ConditionCheckItem"
)

// Other IAM actions the stacks grant.
const (
	// ActGetSecretValue reads the credentials secret (EnvCredentialsSecret).
	ActGetSecretValue = "secretsmanager:GetSecretValue"
	// ActInvokeFunction lets the janitor invoke its Lambda cleanup targets.
	ActInvokeFunction = "lambda:InvokeFunction"
	// ActGetObject lets the reconciler read the config object.
	ActGetObject = "s3:GetObject"
	// ActSendMessage lets the history writer's event source mapping send
	// the batches it gave up on to its on-failure queue.
	ActSendMessage = "sqs:SendMessage"
)

// StreamActions are the DynamoDB Streams IAM actions a Stream function's
// event source mapping needs on the table's stream.
var StreamActions = []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}

// Routes of the history function: the HTTP API routes (a path parameter
// in braces, as API Gateway writes it), which are also the handler's
// patterns (net/http's ServeMux).
const (
	RouteResourceHistory = "/v1/resources/{name}/history"
	RouteHistory         = "/v1/history"
	RouteUsage           = "/v1/usage"
)

// Function describes one Lambda function of the service.
type Function struct {
	// Name is the function's directory under functions/ (and build/).
	Name string
	// Kind is API, Job or Step.
	Kind Kind
	// Step is the Task state of Mason's workflow a Step function runs.
	Step string
	// Routes are the HTTP API routes of an API function: paths at the
	// host root, a path ending in the greedy variable "/{proxy+}" (every
	// path under it), or CatchAll (lambdaapp.Routes[Name]).
	Routes []string
	// Env are the environment variables the function reads besides
	// EnvTable and EnvLogLevel, which every function reads.
	Env []string
	// DynamoDBActions are the DynamoDB IAM actions its handler can issue,
	// sorted: its policy grants exactly these on the table (and
	// ActQuery on IndexPool). Derived from the use cases it runs and
	// the requests dynamostore sends for them; proven against DynamoDB
	// Local by core/lambdaapp/deploy_names_test.go.
	DynamoDBActions []string
	// ReadsCredentials: the function authenticates callers, so in an
	// environment with credentials it reads EnvCredentialsSecret and is
	// granted ActGetSecretValue on exactly that secret. The API functions
	// do; no job does (the jobs call the ranch directly, not the API).
	ReadsCredentials bool
}

// apiEnv are the variables every API function reads (lambdaapp.FromEnv).
var apiEnv = []string{EnvRequestTTL, EnvSpreadWindow}

// Functions are every function of the service, API functions first, in a
// fixed order.
//
// Derivation of DynamoDBActions (store operation -> DynamoDB request, see
// core/store/dynamostore): Get -> GetItem, BatchGet -> BatchGetItem,
// Create -> PutItem, Update -> UpdateItem, Delete -> DeleteItem, List and
// Query -> Query, Transact -> the actions of its operations.
//
//   - acquire: the quotas (Query), the index query (Query), the lease
//     (UpdateItem, in a transaction with the check of the queue item,
//     ConditionCheckItem, and the quota counters' UpdateItem), the
//     consistent read of the queue (Query), the type's counter when
//     nothing is free (GetItem); with a request_id the queue entry and
//     the queue item (UpdateItem), its deletion with the lease
//     (DeleteItem), the life cycles (Query), an on-demand dynamic
//     creation (PutItem + counter UpdateItem) and, for a refusal's
//     estimated wait, the type's recent lease history (Query of the
//     history partition on IndexPool) and counter (GetItem), at most once
//     per type per ranch.DefaultHoldCacheTTL in a container.
//   - acquirebystate: the quotas (Query), BatchGet (BatchGetItem) and one
//     transaction of updates (UpdateItem, the quota counters' too).
//   - release: the life cycles and the quotas (Query), the release
//     (UpdateItem, with the quota counters' in a transaction), the read of
//     a resource counted in quotas and a re-read of one that is gone
//     (GetItem).
//   - update: the heartbeat (UpdateItem); a re-read after a refused write,
//     and the read-merge-write of a large delta (GetItem).
//   - reset: the index query (Query), the resets (UpdateItem), a re-read
//     after a conflict (GetItem).
//   - metric, metrics: index and table queries only (Query).
//   - read: the types' counters and the request queue (List: Query on the
//     table) and the types' index partitions (Query): Query only.
//   - reaper: the config in force (GetItem) and reset's actions.
//   - cleaner: the config in force (GetItem), toBeDeleted resources
//     (Query), their releases and tombstones (UpdateItem).
//   - reconciler: syncs (PutItem, UpdateItem, DeleteItem, GetItem),
//     reconciles (Query, creations and deletions in transactions) and
//     collects queue entries (DeleteItem).
//   - janitor: acquire without request_id, update, release and metric:
//     ConditionCheckItem, GetItem, Query, UpdateItem.
//   - history: a resource's records (List: Query), a type's records and
//     the resources (Query), the config in force for the types and the
//     costs (GetItem).
//   - historywriter: one conditional PutItem (Create) per transition of
//     its stream batch; it reads the stream through its event source
//     mapping (StreamActions on the stream, not the table).
//   - mason-dispatch: the life cycles (Query), stale claims (Query), the
//     claims (acquire without request_id: Query, UpdateItem with the check
//     of the queue item, ConditionCheckItem, the type's counter GetItem),
//     a release after a failed start (UpdateItem), and
//     the abort of a claim whose execution ended (GetItem, BatchGetItem,
//     UpdateItem in a transaction).
//   - mason-recycle, mason-gc: the claim (GetItem), its leased resources
//     (BatchGetItem), one transaction of updates (UpdateItem).
//   - mason-fulfill: the life cycles (Query), the claim (GetItem), the
//     recorded leases (BatchGetItem), the free resources of each need
//     (Query), one transaction leasing them (UpdateItem) with condition
//     checks on the free resources ahead of them (ConditionCheckItem),
//     or a heartbeat (UpdateItem).
//   - mason-construct: the life cycles (Query), the claim and its
//     resources (GetItem, BatchGetItem), heartbeats (UpdateItem in a
//     transaction), the userdata (UpdateItem).
//   - mason-free: the claim (GetItem), its resources (BatchGetItem), the
//     life cycles (Query), one transaction of updates (UpdateItem).
var Functions = []Function{
	{Name: FnAcquire, Kind: API, Routes: []string{"/acquire"}, Env: apiEnv, ReadsCredentials: true,
		DynamoDBActions: []string{ActConditionCheckItem, ActDeleteItem, ActGetItem, ActPutItem, ActQuery, ActUpdateItem}},
	{Name: FnAcquireByState, Kind: API, Routes: []string{"/acquirebystate"}, Env: apiEnv, ReadsCredentials: true,
		DynamoDBActions: []string{ActBatchGetItem, ActQuery, ActUpdateItem}},
	{Name: FnRelease, Kind: API, Routes: []string{"/release"}, Env: apiEnv, ReadsCredentials: true,
		DynamoDBActions: []string{ActGetItem, ActQuery, ActUpdateItem}},
	{Name: FnUpdate, Kind: API, Routes: []string{"/update"}, Env: apiEnv, ReadsCredentials: true,
		DynamoDBActions: []string{ActGetItem, ActUpdateItem}},
	{Name: FnReset, Kind: API, Routes: []string{"/reset"}, Env: apiEnv, ReadsCredentials: true,
		DynamoDBActions: []string{ActGetItem, ActQuery, ActUpdateItem}},
	{Name: FnMetric, Kind: API, Routes: []string{"/metric", CatchAll}, Env: apiEnv, ReadsCredentials: true,
		DynamoDBActions: []string{ActQuery}},
	{Name: FnMetrics, Kind: API, Routes: []string{"/metrics"}, Env: apiEnv, ReadsCredentials: true,
		DynamoDBActions: []string{ActQuery}},
	{Name: FnHistory, Kind: API, Routes: []string{RouteResourceHistory, RouteHistory, RouteUsage}, Env: apiEnv, ReadsCredentials: true,
		DynamoDBActions: []string{ActGetItem, ActQuery}},
	{Name: FnRead, Kind: API, Routes: append([]string{"/v1/resources", "/v1/queue", "/v1/types"}, UIRoutes...), Env: apiEnv, ReadsCredentials: true,
		DynamoDBActions: []string{ActQuery}},
	{Name: FnReaper, Kind: Job, Env: []string{EnvReaperExpire, EnvReaperTargetState, EnvReaperExtraStates},
		DynamoDBActions: []string{ActGetItem, ActQuery, ActUpdateItem}},
	{Name: FnReconciler, Kind: Job, Env: []string{EnvConfigURI},
		DynamoDBActions: []string{ActDeleteItem, ActGetItem, ActPutItem, ActQuery, ActUpdateItem}},
	{Name: FnCleaner, Kind: Job,
		DynamoDBActions: []string{ActGetItem, ActQuery, ActUpdateItem}},
	{Name: FnJanitor, Kind: Job, Env: []string{EnvJanitorTargets, EnvJanitorMaxFailures},
		DynamoDBActions: []string{ActConditionCheckItem, ActGetItem, ActQuery, ActUpdateItem}},
	{Name: FnHistoryWriter, Kind: Stream, Env: []string{EnvHistoryRetention},
		DynamoDBActions: []string{ActPutItem}},
	{Name: FnMasonDispatch, Kind: Job, Env: []string{EnvMasonStateMachineARN},
		DynamoDBActions: []string{ActBatchGetItem, ActConditionCheckItem, ActGetItem, ActQuery, ActUpdateItem}},
	{Name: FnMasonRecycle, Kind: Step, Step: StepRecycle,
		DynamoDBActions: []string{ActBatchGetItem, ActGetItem, ActUpdateItem}},
	{Name: FnMasonFulfill, Kind: Step, Step: StepFulfill, Env: []string{EnvMasonWait},
		DynamoDBActions: []string{ActBatchGetItem, ActConditionCheckItem, ActGetItem, ActQuery, ActUpdateItem}},
	{Name: FnMasonConstruct, Kind: Step, Step: StepConstruct,
		DynamoDBActions: []string{ActBatchGetItem, ActGetItem, ActQuery, ActUpdateItem}},
	{Name: FnMasonFree, Kind: Step, Step: StepFree,
		DynamoDBActions: []string{ActBatchGetItem, ActGetItem, ActQuery, ActUpdateItem}},
	{Name: FnMasonGarbageCollect, Kind: Step, Step: StepGarbageCollect,
		DynamoDBActions: []string{ActBatchGetItem, ActGetItem, ActUpdateItem}},
}

// StepFunctions returns the Step functions by the Task state each runs.
func StepFunctions() map[string]Function {
	out := map[string]Function{}
	for _, f := range Functions {
		if f.Kind == Step {
			out[f.Step] = f
		}
	}
	return out
}

// Lookup returns the function called name.
func Lookup(name string) (Function, bool) {
	for _, f := range Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// Names returns the names of the functions of kind k, in Functions' order.
func Names(k Kind) []string {
	var out []string
	for _, f := range Functions {
		if f.Kind == k {
			out = append(out, f.Name)
		}
	}
	return out
}

// Routes returns every API function's routes by function name (a copy, in
// the shape of lambdaapp.Routes).
func Routes() map[string][]string {
	out := map[string][]string{}
	for _, f := range Functions {
		if f.Kind == API {
			out[f.Name] = append([]string(nil), f.Routes...)
		}
	}
	return out
}

// RouteOwners returns route -> function name over every API function.
func RouteOwners() map[string]string {
	out := map[string]string{}
	for _, f := range Functions {
		for _, r := range f.Routes {
			out[r] = f.Name
		}
	}
	return out
}

// SortedRoutes returns every route of every API function, sorted.
func SortedRoutes() []string {
	var out []string
	for r := range RouteOwners() {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// ConfigKey is the key of the resources file in the config bucket (the
// reconciler's BOSKOS_CONFIG_URI is s3://<bucket>/ConfigKey); template.yaml's
// ConfigKey parameter defaults to it.
const ConfigKey = "boskos.yaml"
