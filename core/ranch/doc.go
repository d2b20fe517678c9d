// Package ranch holds the use cases of the leasing service: Acquire (with the
// request_id priority queue and on-demand creation of dynamic resources),
// AcquireByState, Release, Update (heartbeat), Reset, Metric, SyncConfig,
// Reconcile of dynamic resource life cycles and the request queue's garbage
// collection.
//
// A Ranch keeps no state of its own apart from a short-lived cache of the
// dynamic resource life cycles: every fact lives in the store.Store, and every
// change is a conditional write retried a bounded number of times on
// conflict, so any number of Ranches in any number of processes (Lambda
// containers) may share one store.
//
// # Storage encoding
//
// Resources are stored under "resource/<name>" with string attributes type,
// name, state, owner (absent when unowned), lastupdate and expiration (UTC,
// fixed width "2006-01-02T15:04:05.000000000Z"), the number epoch (the fencing
// token, +1 per acquire) and the map userdata (always present). Each resource
// is in the index: partition = its type, sort value =
// "<state>\x1f<kind>\x1f<lastupdate>\x1f<name>" with kind "1" for unowned and
// "2" for owned resources. Request queue entries ("queue/<type>\x1f<state>\x1f<id>")
// share the partition with kind "0", so one Query over a state's kinds 0 and 1
// returns the queue in FIFO order followed by the free resources, least
// recently updated first. "typecount/<type>" counts the resources of a type
// (changed in the same transaction as every create and delete), and
// "drlc/<type>" holds a dynamic resource life cycle as JSON (string spec),
// and, for a DRLC that left the config while its type became static, the
// names the config lists under that type (string statics, a JSON list), which
// Reconcile leaves alone.
//
// # Queue order at the write
//
// An acquire computes its rank k from one index read: the live request_id
// entries ahead of it (every live one for a caller without request_id) and
// the free resources, least recently updated first. The first k-1 free
// resources are reserved for the request_ids ranked ahead; the caller takes
// one of the others. While nobody waits (k = 1, no own entry) the lease is
// one conditional update, as before. While somebody waits, the lease is one
// transaction: the conditional update, the deletion of the caller's own
// entry, and a version check (store.Check) of each of the k-1 reserved
// resources. If any of them was taken or changed since the read (by a
// caller ranked ahead, an /acquirebystate, or another process whose view
// was older), nothing is written and the caller reads again with its new
// rank (without using up lostRoundsLimit: the queue moved). So the last
// free resource cannot go to a caller while a request_id that its read
// ranked ahead of it waits, on every backend and across processes. It costs
// nothing while nobody waits, and a transaction of at most k+1 items per
// lease while somebody does (at most store.MaxTransactItems: beyond 98
// request_ids ahead only the nearest 98 reserved resources are checked).
// On DynamoDB the index is eventually consistent: a queue entry written a
// moment before the read may be missing from it, and the caller then does
// not know that its request_id waits (open, as before).
//
// Errors returned are *boskos.Error; store failures are boskos.Internal.
package ranch
