// Package lambdatarget is the janitor cleanup that invokes an AWS Lambda
// function (the only janitor package that imports the AWS SDK, through
// core/callout/lambdacall).
//
// The function is invoked synchronously (RequestResponse) with the
// resource's JSON (boskos.Resource's wire format: type, name, state,
// owner "janitor", lastupdate, userdata, epoch) as its event. Its answer:
//
//   - a function error (an unhandled exception, a timeout: FunctionError
//     set) is a failed cleanup, with the error message;
//   - {"error": "reason"} (a non-empty string) or {"cleaned": false}, or
//     the JSON value false, is a failed cleanup;
//   - {"dispatched": true} means the function took the resource over, for
//     cleanups longer than one invocation (it started a job, a state
//     machine...): the janitor neither releases nor heartbeats it; the
//     job releases it with /release?name=N&dest=free&owner=janitor&epoch=E
//     (dest=dirty on failure), and heartbeats it with /update if it runs
//     longer than the reaper's expiry (30m);
//   - anything else (null, no payload, {}, {"cleaned": true}) is Cleaned.
//
// Targets are function names, partial ARNs (123456789012:function:name),
// or full ARNs, with an optional version or alias qualifier, as Lambda's
// Invoke accepts them. Use Factory with janitor.ParseTargets to read
// BOSKOS_JANITOR_TARGETS.
package lambdatarget
