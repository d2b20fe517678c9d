// Package lambdarun runs the real Lambda bootstrap binaries of this project
// on the developer's machine, without Docker or the Lambda Runtime Interface
// Emulator, for end-to-end tests:
//
//   - Runtime is a fake Lambda Runtime API (the HTTP protocol that a
//     provided.al2023 bootstrap polls: GET .../runtime/invocation/next, POST
//     .../invocation/{id}/response and .../invocation/{id}/error). Invoke
//     queues an event and waits for the function's answer.
//   - Function starts one or more processes of one bootstrap binary against
//     a Runtime, with AWS_LAMBDA_RUNTIME_API and the caller's environment.
//   - Gateway is an http.Handler that plays API Gateway's HTTP API ($default
//     stage, payload format 2.0): it routes each exact path to its Function,
//     every other path to the catch-all Function, converts the HTTP request
//     into an APIGatewayV2HTTPRequest event and the function's
//     APIGatewayV2HTTPResponse back into an HTTP response.
//   - Build compiles the functions for the host architecture with the
//     project's own scripts/build-lambdas.sh.
package lambdarun
