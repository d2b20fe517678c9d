// Package ranch holds the use cases of the leasing service: Acquire (with the
// request_id priority queue and on-demand creation of dynamic resources),
// AcquireByState, Release, Update (heartbeat), Reset, Metric, SyncConfig,
// Reconcile of dynamic resource life cycles and the request queue's garbage
// collection.
//
// A Ranch keeps no state of its own apart from short-lived caches (the
// dynamic resource life cycles, the quotas, the types' hold times for the
// estimated wait): every fact lives in the store.Store, and every
// change is a conditional write retried a bounded number of times on
// conflict, so any number of Ranches in any number of processes (Lambda
// containers) may share one store.
//
// # Storage encoding
//
// Resources are stored under "resource/<name>" with string attributes type,
// name, state, owner (absent when unowned), lastupdate and expiration (UTC,
// fixed width "2006-01-02T15:04:05.000000000Z"), the number epoch (the fencing
// token, +1 per acquire), the map userdata (always present) and, while it is
// owned, acquired (the time of the lease, for the read API). Each resource
// is in the index: partition = its type, sort value =
// "<state>\x1f<kind>\x1f<lastupdate>\x1f<name>" with kind "1" for unowned and
// "2" for owned resources. Request queue entries ("queue/<type>\x1f<state>\x1f<id>")
// share the partition with kind "0", and the (type, state)'s queue item
// ("queue/<type>\x1f<state>", sort value "<state>\x1f/\x1f", kind "/")
// sorts before them, so one Query over a state's kinds "/" to 1 returns the
// queue item, the queue in FIFO order and the free resources, least
// recently updated first. An entry holds the strings type, state, id,
// created (its place) and blocked (see Quotas), the numbers expires (Unix
// nanoseconds) and ttl (Unix seconds, for the store's Time to Live); see
// "The queue item" for the other. "typecount/<type>" counts the resources of a type
// (changed in the same transaction as every create and delete), and
// "drlc/<type>" holds a dynamic resource life cycle as JSON (string spec),
// and, for a DRLC that left the config while its type became static, the
// names the config lists under that type (string statics, a JSON list), which
// Reconcile leaves alone. "quota/<type>\x1f<owner pattern>" counts what a
// quota's owners hold (see Quotas); a resource counted in quotas has the
// string attribute quotas, and a queue entry refused for its quota the
// string attribute blocked.
//
// # The queue item
//
// The index is read by Query, which may lag (DynamoDB's global secondary
// index is eventually consistent): a request_id refused a moment ago may be
// missing from another caller's read. So each (type, state) with a queue
// has a queue item, written in one transaction with every write of an
// unblocked entry, and read or checked strongly consistently: the number
// until (Unix nanoseconds; no unblocked entry is live after it: set to an
// entry's expires, rounded up to the second, when that is later), the string gen (a fresh random value
// whenever an entry starts counting for others: a new entry, one renewed
// after it expired, one no longer blocked; a plain renewal of a live entry
// keeps it), the string rejoin (the same, for the last two only: an entry
// that counts again at its old place), the number lastjoin (the created of
// the newest entry, Unix nanoseconds: a new entry's created is made later,
// so that it joins behind every entry there is, whatever the clocks), the
// strings type and state, and the service statistics svc (a
// moving average, weight 1/4, of the interval between grants to waiting
// request_ids, nanoseconds), served (their number) and lastserve. A blocked
// entry counts for nobody: it is written alone. The entries' keys start with
// the queue item's, so one strongly consistent store.List reads the item
// and its queue (readQueue). GCRequestQueue deletes a queue item whose
// entries are all gone and whose until is more than queueGrace past.
//
// # Queue order at the write
//
// An acquire computes its rank k from one index read: the live request_id
// entries ahead of it (every live one for a caller without request_id) and
// the free resources, least recently updated first. The first k-1 free
// resources are reserved for the request_ids ranked ahead; the caller takes
// one of the others. Every lease is one transaction: the conditional update
// (on the version read), the check of the queue item, the deletion of the
// caller's own entry if any, and a version check (store.Check) of each of
// the k-1 reserved resources.
//
// While nobody waits as far as the index knows (k = 1, no own entry), the
// check of the queue item is "until < now" (a missing item passes): no
// unblocked entry is live, whatever the index missed. That is the
// uncontended acquire: one Query and one transaction, as many requests as
// the single conditional write it replaces. When the check fails, somebody
// waits whom the index did not show, and the caller looks again with a
// consistent read.
//
// While somebody waits (k > 1 or an own entry), before it leases, the
// acquire reads the queue again with readQueue, strongly consistent, and
// ranks itself from that; the check of the queue item is then "gen is what
// that read saw" (a missing item must still be missing): no entry started
// counting for others since. For a caller with its own entry (one that
// lastjoin covers) it is "rejoin is what the read saw": new entries join
// behind it, so only one rejoining at an old place could get ahead, and
// the caller does not lose its lease to every newcomer. An entry counted as
// expired by the read cannot come back without a new gen and rejoin either
// (renewed after its expiry), so the rank holds at the write. A lease serving a waiting request_id also updates the
// service statistics there, and one that leaves no unblocked entry live
// lowers until (conditioned on the version read), so that the next
// anonymous lease passes the cheap check again.
//
// If the queue item or a reserved resource was changed since the read (a
// caller ranked ahead served, an /acquirebystate, another process, a
// waiter the index had not shown), nothing is written and the caller reads
// again (without using up lostRoundsLimit: the queue moved). So the last
// free resource never goes to a caller while a request_id ranked ahead of
// it waits, on every backend, across processes, and whatever the index
// lags. The cost: one Query and one transaction of two items while nobody
// waits; one more strongly consistent read, and a transaction of at most
// k+2 items, per lease while somebody does (at most
// store.MaxTransactItems: beyond 97 request_ids ahead only the nearest 97
// reserved resources are checked). The guarantee assumes that the
// processes' clocks agree (entries expire by them, as upstream's do).
//
// # Quotas
//
// Each quota of the config in force (Config.Quotas: owners matching a
// pattern hold together at most max resources of a type) has a counter
// item "quota/<type>\x1f<owner pattern>": strings type, owner (the
// pattern) and retired, numbers max, count and settle. A resource counted
// in counters remembers their keys (string quotas, joined by "\x1e"), so
// that its release takes it out of exactly those, whatever the config says
// by then. The invariant, kept by every write: a counter's count is the
// number of resources that remember it, and only owned resources remember
// counters.
//
// Acquire (and AcquireByState) reads the quotas that apply to the owner
// and type from a cache (refreshed every DRLCCacheTTL: one listing of the
// counters). Without quotas the lease is one conditional update, as
// before. With quotas it is one transaction: the lease, which records the
// counters, and for each counter the conditional increment "retired is
// absent, max is what the cache says, count < max" (count + n <= max for
// AcquireByState). Nothing is read, compared and written back: the store
// evaluates the conditions in the write, so concurrent acquires of any
// number of processes can never take an owner past its quota. A counter
// without room is boskos.OverQuota (429); a counter whose max or retired
// no longer matches the cache (a config change) makes the acquire read the
// quotas again and retry, so a changed or removed quota is in force for
// every process at once. A request_id refused for its quota keeps its
// place (its created time) in the queue, but its entry is marked blocked
// and reserves no resource while it is: the others are served meanwhile,
// and its next poll with room in the quota is ranked where it was.
//
// Release, and Reset (the reaper), take the resource out of the counters it
// remembers in the same transaction as the write that frees it (after one
// read, when the releasing owner matches a quota; the plain release keeps
// its single write, conditioned on the resource being counted nowhere).
// Update changes no owner and leaves the counters alone; the cleaner and
// the reconciler only write unowned resources.
//
// Config changes (Sync): a new quota gets its counter, and the resources
// its owners hold already are adopted into it (counted, each in one
// transaction with the counter, whatever the max: a quota never revokes a
// lease; an owner over its new max waits until its releases bring it
// below). A process whose cache does not have the new quota yet grants
// leases uncounted for up to DRLCCacheTTL; the first Reconcile after
// DRLCCacheTTL + 5s adopts those too (settle). A changed max applies at
// once to new acquires and never revokes. A quota that left the config is
// retired: no acquire counts in it any more, its counter stays while
// resources remember it (their releases still count down), and a
// Reconcile deletes it once it is 0. A quota back in the config is
// un-retired and its holdings adopted again.
//
// # History
//
// Every write of a resource item is a transition, and DeriveHistory turns
// the item before and after it into a boskos.HistoryRecord (create,
// acquire, claim, release, clean, fail, quarantine, reset, the Mason
// steps, toBeDeleted, tombstone, delete, user data updates; a heartbeat
// that only stamps lastupdate is none). What the derivation needs that a
// resource did not carry is written by the write itself: the lease's start
// (leasedat), request_id and first queueing (queuedat), a reset's cause,
// the resource's creation (born, the generation of its history keys). Two
// feeds write the records with the same function: HistoryHook, in the
// transaction of the write itself on the embedded stores, and
// WriteHistory, from the DynamoDB stream, idempotent on resource,
// generation and version (a duplicate is store.ErrExists). No acquire
// writes history itself. ResourceHistory lists one resource's records
// (one prefix, newest first), History one type's (or every type's of the
// config in force) in a time range from the index, Usage sums the leases
// into resource-hours per owner and type. Records expire after the
// retention (their ttl; PruneHistory deletes them on stores without Time
// to Live).
//
// # The estimated wait
//
// A refused acquire with a request_id says where the id waits
// (boskos.QueuePlace): its position p, the queue's length and, where the
// figures allow, an estimated wait. Which estimate applies:
//
//   - The type's recent hold times, when its history has lease ends
//     (release and reset records with a time held) in the last
//     holdWindow (24h): H, the mean time held of the last holdSamples
//     (20) of them, and N, the type's resources (its typecount counter),
//     give p × H / N (holdFigure.wait: N resources held H on average come
//     back at a rate of N / H, one every H / N). The mean, not a median:
//     the rate of returns is set by the mean of the hold times, whatever
//     their distribution.
//   - Otherwise (history off, a new type, no lease end in the window, a
//     failed read of the history), the queue's own recent service: p times
//     the moving average of the interval between grants to waiting
//     request_ids (the queue item's svc), once the queue has served two.
//   - Otherwise none.
//
// The hold figure costs one index query of the type's history partition
// (at most holdScanLimit records, newest first) and, when it found a
// lease end, one Get of the type's counter; each Ranch caches it per type
// for Options.HoldCacheTTL (30s), read by the refusal that finds it stale
// while concurrent refusals of the type wait for that read. A grant never
// reads it, and a refused poll within the TTL costs what it did before.
//
// Errors returned are *boskos.Error; store failures are boskos.Internal.
package ranch
