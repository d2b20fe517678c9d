package ranch

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// t0 is the start of every test's clock. It lies in the future on purpose:
// DynamoDB Local's Time to Live sweeper deletes, by the wall clock, items
// whose ttl attribute has passed, so a test clock in the (recent) past would
// see its request-queue entries vanish at random (a CI flake, once).
var t0 = time.Date(2100, 1, 2, 15, 4, 5, 0, time.UTC)

// clock is an injected clock that only moves when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is one test's world: a memstore, optionally behind a faultstore, a
// clock and a ranch.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *clock
	mem   *memstore.Store // the real store, for seeding and checking
	fs    *faultstore.Store
	r     *Ranch
}

// storeModes are the stores every ranch test runs on: the plain memstore,
// and the memstore behind a faultstore that fails the first write of each
// key, so that every test also walks the retry paths.
var storeModes = []struct {
	name  string
	rules func() []faultstore.Rule
}{
	{"memstore", func() []faultstore.Rule { return nil }},
	{"faults", func() []faultstore.Rule { return []faultstore.Rule{faultstore.FirstWriteConflict()} }},
}

// eachStore runs fn once per store mode.
func eachStore(t *testing.T, opts Options, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, m := range storeModes {
		t.Run(m.name, func(t *testing.T) {
			fn(t, newEnv(t, opts, m.rules()...))
		})
	}
}

// newEnv builds an env; the ranch talks to the store through a faultstore
// with rules (none: a pure counter).
func newEnv(t *testing.T, opts Options, rules ...faultstore.Rule) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: &clock{now: t0}, mem: memstore.New()}
	e.fs = faultstore.New(e.mem, rules...)
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e.r = New(e.fs, opts)
	t.Cleanup(func() {
		if !t.Failed() {
			checkInvariants(t, e.mem)
		}
	})
	return e
}

// res is a compact resource description for seeding.
type res struct {
	name, rtype, state, owner string
	age                       time.Duration // lastupdate = t0 - age
	ud                        boskos.UserData
	exp                       *time.Time
	epoch                     int64
}

// seed writes resources straight into the memstore, with their counters.
func (e *env) seed(rs ...res) {
	e.t.Helper()
	for _, x := range rs {
		lu := t0.Add(-x.age)
		it := newResourceItem(x.rtype, x.name, x.state, lu)
		if x.owner != "" {
			it.Str[attrOwner] = x.owner
			it.Str[store.IndexSort] = resourceSort(x.state, true, lu, x.name)
		}
		for k, v := range x.ud {
			it.Map[attrUserData][k] = v
		}
		if x.exp != nil {
			it.Str[attrExpiration] = fmtTime(*x.exp)
		}
		it.Num[attrEpoch] = x.epoch
		counter := store.Update{Key: typeCountKey(x.rtype), Upsert: true, AddNum: map[string]int64{attrCount: 1}}
		require.NoError(e.t, e.mem.Transact(e.ctx, []store.Op{{Create: &it}, {Update: &counter}}), "seed %s", x.name)
	}
}

// seedDRLC stores a DRLC straight into the memstore.
func (e *env) seedDRLC(d boskos.DRLC) {
	e.t.Helper()
	spec, err := encodeDRLC(d)
	require.NoError(e.t, err)
	_, err = e.mem.Update(e.ctx, store.Update{Key: drlcKey(d.Type), Upsert: true,
		Set: map[string]string{attrType: d.Type, attrSpec: spec}})
	require.NoError(e.t, err)
}

// get reads a resource from the memstore; ok is false when it is missing.
func (e *env) get(name string) (boskos.Resource, bool) {
	e.t.Helper()
	it, err := e.mem.Get(e.ctx, resourceKey(name))
	if err != nil {
		require.ErrorIs(e.t, err, store.ErrNotFound)
		return boskos.Resource{}, false
	}
	r, err := toResource(it)
	require.NoError(e.t, err)
	return r, true
}

// mustGet reads a resource that must exist.
func (e *env) mustGet(name string) boskos.Resource {
	e.t.Helper()
	r, ok := e.get(name)
	require.True(e.t, ok, "resource %s missing", name)
	return r
}

// all returns every resource by name.
func (e *env) all() map[string]boskos.Resource {
	e.t.Helper()
	out := map[string]boskos.Resource{}
	page, err := e.mem.List(e.ctx, resourcePrefix, "", 100000)
	require.NoError(e.t, err)
	for _, it := range page.Items {
		r, err := toResource(it)
		require.NoError(e.t, err)
		out[r.Name] = r
	}
	return out
}

// byType returns the resources of rtype, sorted by name.
func (e *env) byType(rtype string) []boskos.Resource {
	var out []boskos.Resource
	for _, r := range e.all() {
		if r.Type == rtype {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// drlc reads a stored DRLC; ok is false when it is missing.
func (e *env) drlc(rtype string) (boskos.DRLC, bool) {
	e.t.Helper()
	it, err := e.mem.Get(e.ctx, drlcKey(rtype))
	if err != nil {
		return boskos.DRLC{}, false
	}
	d, err := decodeDRLC(it)
	require.NoError(e.t, err)
	return d, true
}

// requireErr checks err's code and exact message.
func requireErr(t *testing.T, err error, code boskos.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, code, boskos.ErrorCode(err), "code of %q", err)
	assert.Equal(t, msg, err.Error())
}

// checkInvariants verifies the encoding: every resource indexed under its
// type with the right sort value, userdata present, counters exact.
func checkInvariants(t *testing.T, s *memstore.Store) {
	t.Helper()
	ctx := context.Background()
	page, err := s.List(ctx, resourcePrefix, "", 1000000)
	require.NoError(t, err)
	counts := map[string]int64{}
	for _, it := range page.Items {
		rtype, state, name := it.S(attrType), it.S(attrState), it.S(attrName)
		counts[rtype]++
		assert.Equal(t, resourceKey(name), it.Key)
		assert.Equal(t, rtype, it.S(store.IndexPartition), "%s: ixp", it.Key)
		lu, err := parseTime(it.S(attrLastUpdate))
		require.NoError(t, err, "%s: lastupdate", it.Key)
		assert.Equal(t, resourceSort(state, it.S(attrOwner) != "", lu, name), it.S(store.IndexSort), "%s: ixs", it.Key)
		assert.NotNil(t, it.Map[attrUserData], "%s: userdata must be present", it.Key)
	}
	cpage, err := s.List(ctx, typeCountPrefix, "", 100000)
	require.NoError(t, err)
	got := map[string]int64{}
	for _, it := range cpage.Items {
		if n := it.N(attrCount); n != 0 {
			got[it.Key[len(typeCountPrefix):]] = n
		}
	}
	assert.Equal(t, counts, got, "type counters")
	checkQuotaInvariants(t, s)
	checkQueueInvariants(t, s)
}

// checkQueueInvariants verifies the queue items (see the package doc, "The
// queue item"): every unblocked entry's expiry is covered by its queue
// item's until, and its created by its lastjoin. Entries that expired
// before t0 are the tests' own seeds of stale entries.
func checkQueueInvariants(t *testing.T, s store.Store) {
	t.Helper()
	page, err := s.List(context.Background(), queuePrefix, "", 1000000)
	require.NoError(t, err)
	items := map[string]store.Item{}
	for _, it := range page.Items {
		if isQueueItemKey(it.Key) {
			items[it.Key] = it
		}
	}
	for _, it := range page.Items {
		if isQueueItemKey(it.Key) || it.S(attrBlocked) != "" {
			continue
		}
		e, err := toQueueEntry(it)
		require.NoError(t, err)
		if e.expires.Before(t0) {
			continue
		}
		h, ok := items[queueItemKey(it.S(attrType), it.S(attrState))]
		if !assert.True(t, ok, "%q: an unblocked entry without its queue item", it.Key) {
			continue
		}
		assert.GreaterOrEqual(t, h.N(attrUntil), e.expires.UnixNano(), "%q: until covers the entry's expiry", it.Key)
		assert.GreaterOrEqual(t, h.N(attrLastJoin), e.created.UnixNano(), "%q: lastjoin covers the entry's created", it.Key)
	}
}

// checkQuotaInvariants verifies the quota counters: each counts exactly the
// resources that remember it, only owned resources remember counters, and
// every counter remembered exists.
func checkQuotaInvariants(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	page, err := s.List(ctx, resourcePrefix, "", 1000000)
	require.NoError(t, err)
	refs := map[string]int64{}
	for _, it := range page.Items {
		keys := countedIn(it)
		if it.S(attrOwner) == "" {
			assert.Empty(t, keys, "%s: unowned, yet counted in quotas", it.Key)
		}
		for _, k := range keys {
			refs[k]++
		}
	}
	qpage, err := s.List(ctx, quotaPrefix, "", 100000)
	require.NoError(t, err)
	got := map[string]int64{}
	for _, it := range qpage.Items {
		got[it.Key] = it.N(attrCount)
		if _, ok := refs[it.Key]; !ok {
			refs[it.Key] = 0
		}
	}
	assert.Equal(t, refs, got, "quota counters (key -> count) against the resources counted in them")
}

func ptr[T any](v T) *T { return &v }

type storeItem = store.Item

type storeUpdate = store.Update

// updateCase is one heartbeat of a table test run by runUpdateCases: on a
// busy resource "r" owned by "o" (epoch 7, userdata {a:1, b:2}).
type updateCase struct {
	name    string
	upName  string
	owner   string
	state   string
	ud      boskos.UserData
	epoch   *int64
	wantErr *boskos.Error   // nil: success
	wantUD  boskos.UserData // the userdata after a success
}

// runUpdateCases runs each case on every store mode: a failure leaves the
// store unchanged, a success stamps lastupdate and sets the userdata.
func runUpdateCases(t *testing.T, tests []updateCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				e.seed(res{name: "r", rtype: "t", state: "busy", owner: "o", epoch: 7, age: time.Hour,
					ud: boskos.UserData{"a": "1", "b": "2"}})
				before := e.all()
				e.clock.Add(time.Second)
				err := e.r.Update(e.ctx, tc.upName, tc.owner, tc.state, tc.ud, tc.epoch)
				if tc.wantErr != nil {
					requireErr(t, err, tc.wantErr.Code, tc.wantErr.Message)
					assert.Equal(t, before, e.all(), "store unchanged")
					return
				}
				require.NoError(t, err)
				want := before["r"]
				want.LastUpdate, want.UserData = e.clock.Now(), tc.wantUD
				assert.Equal(t, want, e.mustGet("r"))
			})
		})
	}
}
