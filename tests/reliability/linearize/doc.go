// Package linearize records concurrent client histories of the Boskos API
// over HTTP and checks them for linearizability with Porcupine against a
// sequential model of the API (owner, state and epoch per resource).
//
// It is test support for the reliability suite (tests/reliability) and for
// the Lambda target in tests/compat: History runs clients against any set
// of base URLs that serve one static pool, so the same check covers the
// local server, several processes on one table, and the Lambda functions
// behind a gateway.
//
// What the model promises (queue order included, strictly) is written on
// Model.
package linearize
