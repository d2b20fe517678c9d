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
// Errors returned are *boskos.Error; store failures are boskos.Internal.
package ranch
