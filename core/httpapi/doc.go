// Package httpapi is the net/http handler that speaks the Boskos wire
// contract: POST /acquire, /acquirebystate, /release, /update, /reset and
// GET /metric, at the root of the server, with upstream Boskos' status codes
// and byte-for-byte error texts (see ../../../shared/boskos-api.md §1 and §2,
// pinned by the golden files in testdata/).
//
// As upstream: parameters come from the query string only (the first value
// of a repeated key wins, an empty value counts as missing, a form body is
// ignored); errors are written like http.Error (text/plain, nosniff, a
// trailing newline) with the same per-endpoint prefixes; any other path
// answers 200 with an empty body; non-canonical paths (for example
// "//acquire") get http.ServeMux's redirect to the cleaned path, as upstream
// (the status depends on the Go version: 307 since Go 1.22, 301 before).
//
// Deliberate differences from upstream, each additive for clients that send
// valid requests:
//
//   - /release and /update take an optional integer query parameter epoch
//     (the fencing token returned by acquire). When present, the ranch
//     rejects a stale epoch with 409; a value that is not an integer is a 400
//     naming the parameter.
//   - /acquirebystate is all or nothing: when any named resource is missing,
//     in another state or owned, the answer is upstream's 404 and nothing is
//     acquired (upstream keeps the partial acquisitions). More than 100
//     distinct names (one store transaction) is a 400.
//   - An /acquire that loses the race for every free resource it saw to
//     other clients answers upstream's retryable 404 ("no available
//     resource"), not a 500; its request_id keeps its place in the queue. A
//     storage failure during acquire is a 500 (upstream swallows a failed
//     listing into a 404).
//   - The /update body is limited to Options.MaxBodyBytes (1 MiB by default);
//     a larger body is a 413 with a message giving the limit. Upstream reads
//     any size. Its userdata delta must have no empty key and no key over
//     1024 bytes (400), and at most 256 KiB of keys and values (413, also
//     when the store refuses to grow a resource's user data past that);
//     see boskos.MaxUserDataBytes. Upstream accepts anything.
//   - The parameters type, state, dest, owner, name, every element of names,
//     and request_id must be at most 253 bytes and free of control
//     characters; otherwise the answer is a 400 naming the parameter.
//     Upstream accepts anything. These checks run after upstream's
//     missing-parameter check, so upstream's 400 texts are unchanged.
//   - GET /healthz and GET /healthz/ready answer 200 "OK" and GET /metrics
//     serves Options.Metrics (the local server: package metrics'
//     Prometheus registry; by default boskos_resources alone, computed from
//     the store, package promtext) on the API port;
//     upstream serves them on separate ports (8081 and 9090) and answers 200
//     empty here. Other methods on these paths are a 405.
//   - boskos_http_request_duration_seconds has no user_agent label (it is
//     unbounded); see package metrics.
//   - A refused /acquire with a request_id (404) also carries where that
//     request_id now waits in the queue of its (type, state):
//     X-Boskos-Queue-Position (1 = next in line), X-Boskos-Queue-Length
//     (the waiting request_ids, itself included) and, when the queue has
//     served request_ids before, X-Boskos-Estimated-Wait (whole seconds,
//     rounded up); see boskos.QueuePlace. The body is upstream's.
//   - The read API, GET /v1/resources, /v1/queue and /v1/types (v1.go, for a
//     Service that is also a ReadService), answers JSON lists
//     {"items": [...], "cursor": "..."} with ?limit= and ?cursor=, and JSON
//     errors {"error": "...", "parameter": "..."}; any other path under /v1/
//     is a JSON 404. The dashboard (package dashboard) is at /ui and /ui/.
//     Upstream answers these paths 200 empty.
//   - A panic in a handler is recovered, logged and answered with a 500.
//
// Logging: 5xx answers are logged at error level, 4xx at debug level. User
// data (it often holds credentials) is never logged.
package httpapi
