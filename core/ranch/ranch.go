package ranch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// Defaults of Options.
const (
	DefaultRequestTTL   = 30 * time.Second
	DefaultMaxRetries   = 8
	DefaultDRLCCacheTTL = 10 * time.Second
	// DefaultSpreadWindow is the SpreadWindow of the local server and the
	// Lambda functions unless configured otherwise (Options' zero value
	// still means strict order).
	DefaultSpreadWindow = 500 * time.Millisecond
	// DefaultHoldCacheTTL is how long a type's hold-time figure, read
	// from its lease history for the estimated wait, is reused (see
	// Options.HoldCacheTTL).
	DefaultHoldCacheTTL = 30 * time.Second
)

// Options tune a Ranch. The zero value of each field means its default.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RequestTTL is how long a request_id keeps its place in the queue
	// without polling (default 30s). An id that polls again within a
	// minute after that still finds its place; later it is new.
	RequestTTL time.Duration
	// SpreadWindow: among the free candidates whose lastupdate lies within
	// this window of the oldest one, acquire picks one at random, so that
	// concurrent clients do not all race for the same first candidate
	// (upstream's ties are random at one-second precision). 0 = strict
	// least-recently-updated order, ties by name.
	SpreadWindow time.Duration
	// MaxRetries bounds the conflict retries of one operation (default 8).
	MaxRetries int
	// AcquireConcurrency bounds how many acquires of one (type, state) this
	// Ranch sends to the store at once; the others wait their turn (default
	// DefaultAcquireConcurrency). Fewer racing writers means fewer failed
	// conditional writes under contention.
	AcquireConcurrency int
	// DRLCCacheTTL is how long the dynamic life cycles and the quotas read
	// from the store are reused (default 10s; negative = read every time).
	// A quota added to the config is enforced by the other processes
	// within this time (see the package doc, Quotas).
	DRLCCacheTTL time.Duration
	// HoldCacheTTL is how long this Ranch reuses a type's hold-time
	// figure, read from the type's lease history for the wait it
	// estimates to refused request_ids (default DefaultHoldCacheTTL;
	// <= 0 means the default: the figure is never read per request).
	// See the package doc, "The estimated wait".
	HoldCacheTTL time.Duration
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
	log   *slog.Logger

	drlcs  ttlCache[map[string]boskos.DRLC]
	quotas ttlCache[quotaSet]
	holds  holdCache

	syncMu sync.Mutex // serialises SyncConfig and Reconcile in this process

	acquireGates gates
}

// New returns a Ranch over s.
func New(s store.Store, opts Options) *Ranch {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RequestTTL <= 0 {
		opts.RequestTTL = DefaultRequestTTL
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.DRLCCacheTTL == 0 {
		opts.DRLCCacheTTL = DefaultDRLCCacheTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HoldCacheTTL <= 0 {
		opts.HoldCacheTTL = DefaultHoldCacheTTL
	}
	if opts.AcquireConcurrency <= 0 {
		opts.AcquireConcurrency = DefaultAcquireConcurrency
	}
	return &Ranch{store: s, opts: opts, log: opts.Logger, acquireGates: gates{size: opts.AcquireConcurrency}}
}

func (r *Ranch) now() time.Time { return r.opts.Now() }

// internal wraps a store failure with the operation: a 503 when the store
// refused it for lack of capacity (store.ErrUnavailable: nothing applied),
// otherwise a 500.
func internal(format string, args ...any) *boskos.Error {
	err := fmt.Errorf("ranch: "+format, args...)
	if errors.Is(err, store.ErrUnavailable) {
		return boskos.Unavailable(err)
	}
	return boskos.Internal(err)
}

// validateFields checks request parameters given as kind, value pairs.
func validateFields(kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := boskos.ValidateField(kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// isRetryable reports whether err is a conflict or a vanished item, after
// which a fresh read may succeed.
func isRetryable(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)
}

// current returns the stored item after a failed conditional write on key:
// from the *store.ConditionError when it carries it, else by reading. found
// is false when the item does not exist.
func (r *Ranch) current(ctx context.Context, key string, writeErr error) (it store.Item, found bool, err error) {
	var ce *store.ConditionError
	if errors.As(writeErr, &ce) && ce.HasCurrent {
		return ce.Current, true, nil
	}
	if !isRetryable(writeErr) {
		return store.Item{}, false, writeErr
	}
	it, err = r.store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return store.Item{}, false, nil
	}
	if err != nil {
		return store.Item{}, false, err
	}
	return it, true, nil
}

// ttlCache holds a value read from the store, reused for
// Options.DRLCCacheTTL. Safe for concurrent use.
type ttlCache[T any] struct {
	mu  sync.Mutex
	val T
	at  time.Time
	set bool
}

// get returns the cached value unless it is older than ttl (or ttl <= 0,
// or force is set); then it calls load and caches its result.
func (c *ttlCache[T]) get(now time.Time, ttl time.Duration, force bool, load func() (T, error)) (T, error) {
	c.mu.Lock()
	if !force && c.set && ttl > 0 && now.Sub(c.at) < ttl {
		v := c.val
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	c.val, c.at, c.set = v, now, true
	c.mu.Unlock()
	return v, nil
}

// invalidate drops the cached value.
func (c *ttlCache[T]) invalidate() {
	c.mu.Lock()
	c.set = false
	c.mu.Unlock()
}

// drlcMap returns the dynamic resource life cycles by type, from the cache
// unless it is older than DRLCCacheTTL or force is set.
func (r *Ranch) drlcMap(ctx context.Context, force bool) (map[string]boskos.DRLC, error) {
	return r.drlcs.get(r.now(), r.opts.DRLCCacheTTL, force, func() (map[string]boskos.DRLC, error) { return r.loadDRLCs(ctx) })
}

// invalidateCaches drops the cached life cycles and quotas (after a sync
// or reconcile of this process changed them).
func (r *Ranch) invalidateCaches() {
	r.drlcs.invalidate()
	r.quotas.invalidate()
}

// loadDRLCs reads every DRLC from the store. The returned map is never
// changed afterwards (callers share it).
func (r *Ranch) loadDRLCs(ctx context.Context) (map[string]boskos.DRLC, error) {
	recs, err := r.loadDRLCRecords(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]boskos.DRLC, len(recs))
	for t, rec := range recs {
		out[t] = rec.DRLC
	}
	return out, nil
}

// drlcRecord is a stored DRLC with the names that the last synced config
// lists statically under its type (only for a DRLC that left the config
// while its type became a static one: Reconcile must not count those).
type drlcRecord struct {
	boskos.DRLC
	statics map[string]bool
}

// loadDRLCRecords reads every DRLC record from the store.
func (r *Ranch) loadDRLCRecords(ctx context.Context) (map[string]drlcRecord, error) {
	out := map[string]drlcRecord{}
	err := r.list(ctx, drlcPrefix, func(it store.Item) error {
		d, err := decodeDRLC(it)
		if err != nil {
			return err
		}
		rec := drlcRecord{DRLC: d}
		if s := it.S(attrStatics); s != "" {
			var names []string
			if err := json.Unmarshal([]byte(s), &names); err != nil {
				return fmt.Errorf("ranch: item %s: %s: %w", it.Key, attrStatics, err)
			}
			rec.statics = make(map[string]bool, len(names))
			for _, n := range names {
				rec.statics[n] = true
			}
		}
		out[d.Type] = rec
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read dynamic resource life cycles: %w", err)
	}
	return out, nil
}

// drlcTypes returns the sorted types of m.
func drlcTypes(m map[string]boskos.DRLC) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// list calls fn for every item under prefix, page by page.
func (r *Ranch) list(ctx context.Context, prefix string, fn func(store.Item) error) error {
	cursor := ""
	for {
		page, err := r.store.List(ctx, prefix, cursor, 0)
		if err != nil {
			return err
		}
		for _, it := range page.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		cursor = page.Next
	}
}

// query calls fn for every item of q's range, page by page.
func (r *Ranch) query(ctx context.Context, q store.Query, fn func(store.Item) error) error {
	for {
		page, err := r.store.Query(ctx, q)
		if err != nil {
			return err
		}
		for _, it := range page.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// typeCount returns the number of resources of rtype (0 when unknown).
func (r *Ranch) typeCount(ctx context.Context, rtype string) (int64, error) {
	it, err := r.store.Get(ctx, typeCountKey(rtype))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return it.N(attrCount), nil
}

// Metric counts the resources of rtype by state and owner.
func (r *Ranch) Metric(ctx context.Context, rtype string) (boskos.Metric, error) {
	if err := validateFields("type", rtype); err != nil {
		return boskos.Metric{}, err
	}
	m := boskos.Metric{Type: rtype, Current: map[string]int{}, Owners: map[string]int{}}
	n := 0
	err := r.query(ctx, store.Query{Partition: rtype}, func(it store.Item) error {
		if !isResourceKey(it.Key) {
			return nil
		}
		n++
		m.Current[it.S(attrState)]++
		m.Owners[it.S(attrOwner)]++
		return nil
	})
	if err != nil {
		return boskos.Metric{}, internal("metric %s: %w", rtype, err)
	}
	if n == 0 {
		return boskos.Metric{}, boskos.ResourceNotFound(rtype)
	}
	return m, nil
}

// Resources returns every resource (for metrics and tooling), by name.
func (r *Ranch) Resources(ctx context.Context) ([]boskos.Resource, error) {
	var out []boskos.Resource
	err := r.list(ctx, resourcePrefix, func(it store.Item) error {
		res, err := toResource(it)
		if err != nil {
			return err
		}
		out = append(out, res)
		return nil
	})
	if err != nil {
		return nil, internal("list resources: %w", err)
	}
	return out, nil
}

func isResourceKey(k string) bool {
	return len(k) > len(resourcePrefix) && k[:len(resourcePrefix)] == resourcePrefix
}
