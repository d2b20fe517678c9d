// Package auth authenticates and authorizes callers of the Boskos API:
// a credentials file of principals (Parse, AddToFile), the role rules of
// each path (RuleFor, Authorize), and the HTTP middleware that enforces
// them in front of the shared handler (Guard), used alike by `boskos
// serve` and by the Lambda functions.
//
// A principal has a name (its HTTP Basic username), a bcrypt password hash
// (never the password), the owners it may act as (exact names and globs
// in which '*' matches any run of characters) and a role:
//
//   - client: /acquire, /update and /release as one of its owners; GET
//     /metric and /metrics.
//   - maintainer: also /reset and /acquirebystate (reapers, janitors,
//     Mason).
//   - admin: everything, as any owner, including paths without a rule of
//     their own (upstream's catch-all; future operator endpoints).
//
// A principal may instead (or also) name an AWS IAM user or role (iam:
// ARN, Credentials.LookupIAM; a role matches each of its sessions): when
// API Gateway's IAM authorization has verified the caller, the Lambda
// adapter puts the caller's ARN in the request's context (WithIAMCaller)
// and the Guard authorizes that principal with the same rules, without
// asking for a password. An ARN that maps to no principal is a 403. The
// local server has no IAM mode (nothing there sets an IAM caller).
//
// /healthz and /healthz/ready are always open. When credentials are in
// force (a Holder that holds some), every other request needs HTTP Basic
// credentials: missing or wrong ones are a 401 with `WWW-Authenticate:
// Basic realm="boskos"`, a principal that lacks the role or may not act as
// the request's owner a 403 naming the owner or the role; the handler is
// not called then, so nothing changes in the store. Options.AnonymousMetrics
// opens GET /metric and /metrics to requests without credentials.
//
// Cost: a verified Authorization header is cached (by its SHA-256, for
// Options.CacheTTL, and only for the credentials it was verified against:
// a reload invalidates the cache), so bcrypt is paid once per client per
// TTL, not per request. Failed attempts are throttled per client address
// and per principal (Options.FailureBurst at once, then one per
// Options.FailureInterval; beyond, 429 with Retry-After) before any bcrypt
// is spent, and at most Options.ChecksPerAddr passwords of one address are
// checked at once (others wait, then find the address throttled or their
// header verified), so a brute force costs the server a few bcrypts and
// callers whose credentials are cached are not slowed. An unknown principal spends the
// same bcrypt time as a wrong password, so timing does not reveal names.
//
// Nothing here logs a password, a hash or an Authorization header.
//
// The credentials come from a file (LoadFile, Watcher for hot reload) or
// from a remote source read through a Fetch (package awscreds: AWS Secrets
// Manager) by a Refresher: once at start (Load), then
// again by the first request after each TTL (DefaultRefreshTTL), one read
// at a time, keeping the credentials in force when a read fails or the
// document is invalid.
package auth
