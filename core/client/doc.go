// Package client is a Go client of the Boskos HTTP API (the wire contract
// of ../../../shared/boskos-api.md, served by core/httpapi and by upstream
// Boskos): POST /acquire (with an optional request_id), /acquirebystate,
// /release, /update (the heartbeat), /reset and GET /metric; and the read
// API, GET /v1/resources, /v1/queue and /v1/types (Resources, Queue, Types;
// NewReader makes a client without owner for them, Collect follows a
// list's cursors).
//
// It differs from upstream's sigs.k8s.io/boskos/client on purpose:
//
//   - It keeps no local state: every method is one request, and what was
//     acquired is the caller's to remember (package masonclient keeps the
//     books for virtual resources).
//   - It never retries behind the caller's back: one method call is one
//     HTTP request, and every answer, success or failure, reaches the
//     caller. AcquireWait is the one loop, and it is explicit: it polls
//     /acquire every given interval until it wins, fails for good or its
//     context ends.
//   - Every method takes a context; a request ends with it.
//   - Release and Update send the lease's epoch (the fencing token acquire
//     returns, boskos.Resource.Epoch) when it is not zero, so that a holder
//     whose lease was reaped and acquired again gets 409 instead of acting
//     on someone else's lease. Servers that do not know epochs (upstream)
//     ignore the parameter.
//
// Errors: an answer other than 200 is a *StatusError (the status and the
// body the server sent; IsStatus tells one code from another). A 404 from
// /acquire or /acquirebystate also matches ErrNotFound with errors.Is (the
// upstream client's "resources not found": nothing free, or for
// /acquirebystate some named resource missing, in another state or owned),
// and a 404 whose body says `resource type "<t>" does not exist` also
// matches ErrTypeNotFound. A refused /acquire with a request_id from this
// project's server also says where the id waits (StatusError.Queue,
// QueueOf: its position, the queue's length, an estimated wait, from the
// X-Boskos-Queue-* headers); Options.OnQueue sees every such place, which
// is how a waiting caller (AcquireWait) can show it. Transport failures
// are returned as net/http reports them.
//
// Like upstream's client, the API is reached at the root of the server
// URL's host: a path in the URL is ignored. When a username is configured,
// every request carries it and the password as HTTP Basic credentials (a
// server started with credentials checks them; see core/auth).
//
// A Client is safe for concurrent use.
package client
