// Package asl runs Amazon States Language (ASL) documents in process: the
// same document that AWS Step Functions runs in the cloud (Mason's
// core/mason/workflow.asl.json), run by `boskos serve` with Go functions
// in place of the Lambda tasks. It imports no AWS SDK.
//
// Parse reads and checks a document; Machine.Validate checks a set of
// TaskFuncs against its Task states; Runner.Run runs one execution. The
// runner follows the Step Functions semantics of the subset below. What
// it does not implement it refuses at Parse time, naming the state and
// the field, instead of ignoring it: a document that parses runs the way
// Step Functions would run it.
//
// # States
//
//   - Task: Resource (required, not interpreted: the TaskFunc is chosen
//     by the state's name), Parameters, ResultSelector, ResultPath,
//     InputPath, OutputPath, TimeoutSeconds (per attempt: the TaskFunc's
//     context deadline; past it the attempt fails with States.Timeout
//     whatever the TaskFunc returns), Retry, Catch, Next or End.
//   - Pass: Result, Parameters, ResultPath, InputPath, OutputPath.
//   - Choice: Choices, Default, InputPath, OutputPath.
//   - Wait: exactly one of Seconds, SecondsPath (a non-negative integer
//     in the input, else States.Runtime), Timestamp, TimestampPath (RFC
//     3339); InputPath, OutputPath. Waits use Runner.Sleep.
//   - Succeed: InputPath, OutputPath.
//   - Fail: Error or ErrorPath, Cause or CausePath.
//
// At the top: StartAt, States, TimeoutSeconds (the whole execution; past
// it the execution fails with States.Timeout, which no catcher handles),
// Version "1.0". Comment is allowed everywhere, and QueryLanguage
// "JSONPath".
//
// Refused: the Map and Parallel states; JSONata (QueryLanguage JSONata,
// Arguments, Output) and workflow variables (Assign); HeartbeatSeconds,
// HeartbeatSecondsPath, TimeoutSecondsPath, Credentials; JitterStrategy
// FULL (delays are exact); the Choice operators StringMatches, IsTimestamp
// and Timestamp*; intrinsic functions (States.Format, ...); the context
// object ($$); unknown fields.
//
// # Input and output
//
// A state's raw input goes through InputPath (null: {}) and Parameters
// to give the effective input (the TaskFunc's input; the Choice rules'
// and the Wait paths' input). The result (a Task's output through
// ResultSelector; a Pass's Result, or its effective input) is placed in
// the raw input by ResultPath: "$" (the default) replaces it, a path sets
// it there, creating the objects missing on the way, null discards the
// result and keeps the raw input. OutputPath (null: {}) then selects the
// state's output. In Parameters and ResultSelector, at any depth of
// objects and arrays, a field "key.$" takes the value of its path as
// "key". When a catcher handles an error, its ResultPath places
// {"Error": name, "Cause": cause} in the state's raw input, and that is
// the output (the state's ResultPath and OutputPath do not apply).
//
// # Paths
//
// Reference paths only: "$", "$.a.b", "$['a']" (or "$[\"a\"]"), "$.a[0]"
// and their combinations. Refused: wildcards, "..", filters, slices,
// unions, negative indexes, "$$". ResultPath takes no array index. A path
// that selects nothing in InputPath, Parameters, ResultSelector,
// OutputPath, a Choice Variable or operand, SecondsPath, TimestampPath,
// ErrorPath or CausePath is a States.Runtime error.
//
// # Choice rules
//
// StringEquals, StringLessThan, StringLessThanEquals, StringGreaterThan,
// StringGreaterThanEquals, NumericEquals, NumericLessThan,
// NumericLessThanEquals, NumericGreaterThan, NumericGreaterThanEquals,
// BooleanEquals, each also with the suffix Path (the operand is the value
// at a path of the input); IsPresent, IsNull, IsString, IsNumeric,
// IsBoolean; And, Or, Not (evaluated left to right, stopping when decided).
// Rules are tried in order; the first that matches gives Next, else
// Default, else the state fails with States.NoChoiceMatched. As in Step
// Functions, a Variable that selects nothing is a States.Runtime error
// (only IsPresent tests it), so a rule about a field a Task does not
// always return must be guarded by IsPresent. A value of another type
// than the operator's makes the comparison false. Numbers are compared
// exactly.
//
// # Errors, Retry and Catch
//
// A TaskFunc's error is named by ErrorName: the name of an error in its
// chain with an ErrorName() string method, else States.TaskFailed; its
// cause is err.Error(). A TaskFunc's output that is not JSON fails the
// attempt with States.TaskFailed. The runner's own names are
// States.Timeout, States.Runtime, States.NoChoiceMatched and
// States.ResultPathMatchFailure (see the constants).
//
// In ErrorEquals, States.ALL matches every name and must be alone and in
// the last retrier or catcher; States.TaskFailed matches every name except
// States.Timeout; States.Runtime is matched by nothing (it ends the
// execution). An error goes to the first retrier that matches it; if that
// one has attempts left (each retrier counts its own) the Task runs again
// after IntervalSeconds × BackoffRate^(retries so far by this retrier),
// at most MaxDelaySeconds (defaults: IntervalSeconds 1, MaxAttempts 3, 0
// meaning never, BackoffRate 2.0); otherwise, or if none matches, to the
// first catcher that matches, or the execution fails with it
// (*ExecutionFailed).
//
// # Time, cancellation, events
//
// Runner.Sleep (Wait states and backoff) and Runner.Now (timeouts,
// timestamps) are injectable, so tests neither sleep nor race a clock.
// Cancelling Run's context stops the execution promptly, in a Task, a
// Wait or a backoff, and Run returns the context's error. Each Enter,
// Retry, Catch, Exit, Fail and Succeed is an Event, logged with log/slog
// (execution, state, type, phase, attempt, error name and cause, delay;
// never an input or output payload: they carry credentials, so TaskFuncs
// must not put secrets in error texts either) and given to Runner.Hook,
// whose error stops the execution where it is: a crash after any state.
package asl
