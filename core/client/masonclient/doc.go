// Package masonclient is the consumer side of Mason: a client that leases
// a virtual resource (a cluster, say) together with the physical resources
// it was built from (the accounts or projects), as upstream's
// sigs.k8s.io/boskos/mason Client does, over a Boskos client (package
// client).
//
// How Mason leaves a virtual resource ready: the virtual resource is free
// and unowned, its user data key boskos.LeasedResources ("leasedResources")
// holds a YAML list of the names of its physical resources
// (boskos.FormatLeasedResources), and each physical resource is unowned in
// state = the virtual resource's name. Acquire then takes the virtual
// resource (POST /acquire) and, when it has leased resources, all of them
// with one POST /acquirebystate from state <virtual name> to the same
// destination state. ReleaseOne hands them all back.
//
// Differences from upstream's Mason client:
//
//   - A virtual resource without leased resources (no leasedResources key,
//     or an empty value) is acquired alone: no /acquirebystate is sent.
//     Upstream sends names= and fails (400, retried, then the acquire
//     fails).
//   - When the leased resources cannot be taken, everything this client
//     got is released as dirty and the error is a *LeasedError, which
//     names the virtual resource, the leased names and the cause. It
//     deliberately does not match client.ErrNotFound: a virtual resource
//     whose physical ones are gone is broken, not busy, and a caller that
//     waits on ErrNotFound must not go on taking (and dirtying) one virtual
//     resource after another.
//   - Releases send each lease's epoch (fencing), release the leased
//     resources before the virtual one (so that the virtual resource is
//     never free while its physical ones are still held), and report every
//     failure, not just the first.
//   - Every method takes a context. Cleanup after a failed acquire runs
//     even when that context has ended (with its values, without its
//     deadline; the Boskos client's own request timeout still applies).
//
// A Client keeps what it holds in memory (like upstream's), so ReleaseOne,
// ReleaseAll and SyncAll work from a name alone; it is safe for concurrent
// use. Release is the same release for a caller that kept the names itself
// (the stateless `boskos release --mason`).
package masonclient
