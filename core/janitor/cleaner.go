package janitor

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// Outcome is what a successful Cleaner.Clean did.
type Outcome int

const (
	// Cleaned: the resource is clean; the janitor releases it free.
	Cleaned Outcome = iota + 1
	// Dispatched: the cleanup took the resource over and releases it
	// itself (as owner Options.Owner, with the resource's epoch); the
	// janitor neither releases it nor heartbeats it any longer. A cleanup
	// that dies is covered by the reaper, which resets a cleaning lease
	// left without heartbeat.
	Dispatched
)

// String returns "cleaned" or "dispatched".
func (o Outcome) String() string {
	switch o {
	case Cleaned:
		return "cleaned"
	case Dispatched:
		return "dispatched"
	}
	return "unknown"
}

// Cleaner cleans resources of one or more types.
type Cleaner interface {
	// Clean cleans r, which the janitor holds (state cleaning, owner
	// Options.Owner, epoch r.Epoch). A nil error means success, with the
	// outcome Cleaned or Dispatched; a non-nil error is a failed cleanup
	// whose message becomes the quarantine reason (keep it short, never
	// include credentials). Clean must return soon after ctx is done; an
	// error that wraps ErrStopped says the cleanup is known to have
	// stopped (a killed process), so the janitor may hand the resource
	// back at once.
	Clean(ctx context.Context, r boskos.Resource) (Outcome, error)
}

// CleanerFunc adapts a function to a Cleaner.
type CleanerFunc func(ctx context.Context, r boskos.Resource) (Outcome, error)

// Clean calls f.
func (f CleanerFunc) Clean(ctx context.Context, r boskos.Resource) (Outcome, error) { return f(ctx, r) }

// ErrStopped is wrapped by a cleanup error that reports a cleanup stopped
// by its context before it finished, known not to run any more.
var ErrStopped = errors.New("cleanup stopped before it finished")

// Targets maps resource types to their cleanup.
type Targets struct {
	// All cleans every type that has no entry in ByType (nil: none).
	All Cleaner
	// ByType holds the cleanup of each named type.
	ByType map[string]Cleaner
}

// For returns the cleanup of rtype, nil when there is none.
func (t Targets) For(rtype string) Cleaner {
	if c, ok := t.ByType[rtype]; ok {
		return c
	}
	return t.All
}

// Empty reports whether t cleans nothing (a caller then runs no janitor).
func (t Targets) Empty() bool { return t.All == nil && len(t.ByType) == 0 }

// Types returns the types named in ByType, sorted.
func (t Targets) Types() []string {
	out := make([]string, 0, len(t.ByType))
	for k := range t.ByType {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Validate checks t against the types of the config in force: a type named
// in ByType that is not among types is an error naming it (all such types
// are reported together).
func (t Targets) Validate(types []string) error {
	known := make(map[string]bool, len(types))
	for _, x := range types {
		known[x] = true
	}
	var errs []error
	for _, x := range t.Types() {
		if !known[x] {
			errs = append(errs, fmt.Errorf("janitor: a cleanup is configured for type %q, which is not in the config", x))
		}
	}
	return errors.Join(errs...)
}

// MaxReasonBytes bounds the quarantineReason user data value.
const MaxReasonBytes = 1024
