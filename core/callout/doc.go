// Package callout is the transport of the project's external calls: the
// janitor's cleanups (core/janitor) and Mason's converters (core/mason)
// hand a JSON payload to a program, an HTTP endpoint or (package
// lambdacall) an AWS Lambda function, and get an answer back or an error
// that ends with the tail of what the other side said (stderr, the
// response body, the function error). What the payload and the answer
// mean is the caller's business.
//
//   - Command runs a program without a shell (SplitCommandLine splits a
//     configured command line as a POSIX shell would, without expansion),
//     the payload on stdin, stdout as the answer. The program runs in its
//     own process group (on Unix), killed with it when the context ends;
//     stderr is kept (its tail) and optionally logged line by line.
//   - Webhook POSTs the payload as application/json to an http(s) URL,
//     following no redirect; a 2xx body is the answer. Errors name the
//     URL's scheme and host only (its path and query may carry secrets).
//   - lambdacall invokes a Lambda function (RequestResponse) with the
//     payload; the function's result is the answer. It is the only part
//     that imports the AWS SDK, and declares the one client method it
//     calls as an interface.
//
// Answers are bounded (RunOptions.MaxAnswer, Webhook.Post's maxAnswer): a
// longer one is an error wrapping ErrTooLong. Errors carry at most
// TailBytes of the other side's words; they never carry the payload nor
// the answer (both may hold credentials).
//
// ValidLambdaFunction, Tail and Truncate are here, without the SDK, so
// that validating configuration and shortening messages does not link
// the Lambda client.
package callout
