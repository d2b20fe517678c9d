// Package janitor cleans dirty resources (upstream's cmd/janitor, §7.2 of
// the wire contract), as one core for two runners: `boskos serve` keeps a
// long-lived Janitor and calls Pass every period with its lifetime
// context; the janitor Lambda function calls RunOnce once per scheduled
// event, bounded by the invocation's deadline.
//
// # Life of a cleanup
//
// The janitor claims a dirty resource through the ranch (Acquire dirty →
// cleaning, owner "janitor"), runs the cleanup configured for its type,
// and releases it free on success or dirty on failure, always with the
// epoch it got (a lease reaped meanwhile cannot be released by a stale
// janitor). While a cleanup runs, its lease is heart-beaten every
// Options.Heartbeat (default 1m), so the reaper, which resets cleaning
// leases idle for 30m, never resets a live cleanup but does reset the
// lease of a janitor that died. A heartbeat that finds the lease gone
// cancels the cleanup and leaves the resource alone.
//
// Failures are counted in the resource's user data (KeyFailures, kept
// across claims). After Options.MaxFailures failures in a row (default 3)
// the resource goes to boskos.Quarantined, unowned, with KeyFailures and
// KeyReason (the last error, at most MaxReasonBytes): nothing claims it
// again; an operator releases it by hand (clear KeyFailures with /update
// first, or its next failure quarantines it again). A successful cleanup
// removes both keys. A failed resource is not tried again by the same
// janitor within Options.RetryDelay (default 1m), so a transient failure
// does not quarantine within seconds.
//
// # Targets
//
// The cleanup of each type is a Cleaner, chosen by Targets, and configured
// rather than compiled in:
//
//   - Command: upstream's convention CMD ARGS... --<kind>=<name>, with kind
//     the last '-'-separated segment of the type (gce-project: --project),
//     the resource JSON on stdin; exit 0 = cleaned. ParseCommands reads the
//     local server's --janitor-command values ("CMD" or "TYPE=CMD").
//   - Webhook: POST of the resource JSON; 2xx = cleaned, 202 = dispatched.
//   - Lambda (package lambdatarget, the only one importing the AWS SDK):
//     invoke a function with the resource JSON; see its doc for the
//     answers. ParseTargets reads BOSKOS_JANITOR_TARGETS (TYPE=URL or
//     TYPE=function, comma-separated) with lambdatarget.Factory for the
//     non-URL targets.
//
// A cleanup that answers Dispatched (webhook 202, Lambda {"dispatched":
// true}) has taken the resource over: it must release it itself, as owner
// "janitor" with the resource's epoch (POST
// /release?name=N&dest=free&owner=janitor&epoch=E), heartbeat it with
// /update?name=N&state=cleaning&owner=janitor&epoch=E if it runs longer
// than the reaper's expiry, and clear or count KeyFailures as it sees fit.
//
// Targets.Validate checks a configuration against the config's types (a
// cleanup for a type not in the config is a start-up error naming it).
//
// # Fairness and passes
//
// Each type has Options.Concurrency slots (default 4). A pass claims one
// resource per type in turn (round-robin, starting one type further each
// pass) while types have free slots and dirty resources, and starts each
// cleanup at once without waiting for it. A cleanup that succeeds claims
// the next dirty resource of its type in its slot, so a type's backlog
// drains at its concurrency; a failed one leaves its slot to the next
// pass. A slow, failing or hanging type thus holds at most its own slots
// and never delays another type or the next pass.
//
// A pass stops claiming Options.StopMargin before its context's deadline,
// and a resource is claimed only when its cleanup starts right away (one
// claimed as the context ends is handed back dirty). When the context
// ends during a cleanup, a cleanup known to have stopped (a killed
// command) is handed back dirty without counting a failure; any other (a
// remote one, which may still run) is left in cleaning without heartbeat,
// for the reaper.
//
// # Safety
//
// Every write is fenced by owner and epoch, so any number of janitors
// (processes, Lambda invocations delivered twice) may run on one store: a
// resource is cleaned by one of them at a time, and no janitor touches a
// resource it did not claim.
package janitor
