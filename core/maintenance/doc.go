// Package maintenance holds the scheduled jobs that make a deployment run
// itself, each a function of the store (through a ranch.Ranch) with an
// injected clock:
//
//   - Reaper (upstream's reaper): leases not updated within an expiry go
//     back to a target state (default dirty), for every type of the config
//     in force.
//   - Reconciler: config sync from a Source (an S3 object in AWS), re-sync
//     of deferred work, dynamic-resource reconcile and request-queue GC.
//   - Cleaner (upstream's cleaner, v2 semantics): toBeDeleted dynamic
//     resources release their leased resources and become tombstones.
//
// The janitor lives in package janitor. `boskos serve` runs the jobs as
// loops (Loop); each scheduled Lambda function runs one pass (RunOnce) per
// EventBridge event. Every job is idempotent and safe to run as two copies
// at once: each change it makes is a conditional write in the ranch.
package maintenance
