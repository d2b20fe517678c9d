package ranch

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

var errTODO = errors.New("not implemented yet")

// Options tune a Ranch. The zero value of each field means its default.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RequestTTL is how long a request_id keeps its place in the queue
	// without polling (default 30s).
	RequestTTL time.Duration
	// SpreadWindow: among the free candidates whose lastupdate lies within
	// this window of the oldest one, acquire picks one at random, so that
	// concurrent clients do not all race for the same first candidate
	// (upstream's ties are random at one-second precision). 0 = strict
	// least-recently-updated order, ties by name.
	SpreadWindow time.Duration
	// MaxRetries bounds the conflict retries of one operation (default 8).
	MaxRetries int
	// DRLCCacheTTL is how long the dynamic life cycles read from the store
	// are reused (default 10s; negative = read every time).
	DRLCCacheTTL time.Duration
	// OnAcquire, if set, is called after every successful acquire with the
	// time since the request_id was first seen (or since the call began).
	OnAcquire func(rtype, state, dest string, hasRequestID bool, waited time.Duration)
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Ranch holds the use cases. It is stateless apart from caches: any number
// of Ranches (processes, Lambda containers) may share one store.
type Ranch struct {
	store store.Store
	opts  Options
}

// New returns a Ranch over s.
func New(s store.Store, opts Options) *Ranch {
	return &Ranch{store: s, opts: opts}
}

// Acquire moves the caller's rank-th least-recently-updated unowned resource
// of type rtype in state to dest, owned by owner.
func (r *Ranch) Acquire(ctx context.Context, rtype, state, dest, owner, requestID string) (boskos.Resource, error) {
	return boskos.Resource{}, errTODO
}

// AcquireByState moves every named resource in state to dest, owned by
// owner, all or nothing.
func (r *Ranch) AcquireByState(ctx context.Context, state, dest, owner string, names []string) ([]boskos.Resource, error) {
	return nil, errTODO
}

// Release hands a resource back, moving it to dest. epoch, when not nil,
// must equal the resource's epoch.
func (r *Ranch) Release(ctx context.Context, name, dest, owner string, epoch *int64) error {
	return errTODO
}

// Update is the heartbeat: it stamps lastupdate and merges userdata.
func (r *Ranch) Update(ctx context.Context, name, owner, state string, ud boskos.UserData, epoch *int64) error {
	return errTODO
}

// Reset frees owned resources of rtype in state idle for at least expire.
func (r *Ranch) Reset(ctx context.Context, rtype, state string, expire time.Duration, dest string) (map[string]string, error) {
	return nil, errTODO
}

// Metric counts the resources of rtype by state and owner.
func (r *Ranch) Metric(ctx context.Context, rtype string) (boskos.Metric, error) {
	return boskos.Metric{}, errTODO
}

// Resources returns every resource (for metrics and tooling).
func (r *Ranch) Resources(ctx context.Context) ([]boskos.Resource, error) {
	return nil, errTODO
}

// SyncConfig makes the store match cfg (validated first).
func (r *Ranch) SyncConfig(ctx context.Context, cfg *boskos.Config) error {
	return errTODO
}

// GCRequestQueue deletes expired request-queue entries; it returns how many.
func (r *Ranch) GCRequestQueue(ctx context.Context) (int, error) {
	return 0, errTODO
}
