package ranch

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
)

func mustConfig(t *testing.T, y string) *boskos.Config {
	t.Helper()
	c, err := boskos.ParseConfig([]byte(y))
	require.NoError(t, err)
	return c
}

// summary is name -> "type/state/owner" of every resource, with dynamic
// (uuid) names of a type replaced by "<type>#<n>".
func (e *env) summary() map[string]string {
	out := map[string]string{}
	dyn := map[string]int{}
	rs := e.all()
	names := make([]string, 0, len(rs))
	for n := range rs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := rs[n]
		key := n
		if len(n) == 36 && n[8] == '-' {
			dyn[r.Type]++
			key = r.Type + "#" + string(rune('0'+dyn[r.Type]))
		}
		out[key] = r.Type + "/" + r.State + "/" + r.Owner
	}
	return out
}

func TestSyncConfigStatic(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		cfg := mustConfig(t, `
resources:
- type: phonetic-project
  names: [alpha, bravo, charlie]
- type: numeric-project
  state: dirty
  names: ["1", "2"]
`)
		require.NoError(t, e.r.SyncConfig(e.ctx, cfg))
		assert.Equal(t, map[string]string{
			"alpha": "phonetic-project/free/", "bravo": "phonetic-project/free/", "charlie": "phonetic-project/free/",
			"1": "numeric-project/dirty/", "2": "numeric-project/dirty/",
		}, e.summary())
		assert.Equal(t, boskos.UserData{}, e.mustGet("alpha").UserData)
		assert.Equal(t, t0, e.mustGet("alpha").LastUpdate)

		// Lease two, change things around.
		_, err := e.r.AcquireByState(e.ctx, "free", "busy", "o", []string{"alpha", "bravo"})
		require.NoError(t, err)
		require.NoError(t, e.r.Update(e.ctx, "alpha", "o", "busy", nil, nil))
		e.clock.Add(time.Minute)
		cfg = mustConfig(t, `
resources:
- type: phonetic-project
  state: dirty
  names: [bravo, delta]
- type: numeric-project
  names: ["1", "alpha"]
- type: other
  names: ["charlie-2"]
`)
		require.NoError(t, e.r.SyncConfig(e.ctx, cfg))
		assert.Equal(t, map[string]string{
			"alpha":     "phonetic-project/busy/o", // owned: type change waits for the release
			"bravo":     "phonetic-project/busy/o", // existing: never modified
			"delta":     "phonetic-project/dirty/", // new, state from config
			"1":         "numeric-project/dirty/",  // existing keeps its state
			"charlie-2": "other/free/",
			// "charlie" (unowned) and "2" (unowned, dirty) left the config: deleted
		}, e.summary())

		// Once released, the type change happens: delete + recreate.
		require.NoError(t, e.r.Release(e.ctx, "alpha", "dirty", "o", nil))
		e.clock.Add(time.Minute)
		require.NoError(t, e.r.SyncConfig(e.ctx, cfg))
		assert.Equal(t, "numeric-project/free/", e.summary()["alpha"])
		assert.Equal(t, e.clock.Now(), e.mustGet("alpha").LastUpdate)
		assert.Equal(t, int64(0), e.mustGet("alpha").Epoch)
	})
}

func TestSyncConfigInvalidChangesNothing(t *testing.T) {
	e := newEnv(t, Options{})
	e.seed(res{name: "keep", rtype: "t", state: "free"})
	err := e.r.SyncConfig(e.ctx, mustConfig(t, `
resources:
- type: t
  names: [Bad_Name]
- type: d
  max-count: 0
`))
	requireErr(t, err, boskos.EInvalid, "[.0.names.0(Bad_Name) is invalid: [a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')], .1.max-count: must be >0]")
	assert.Equal(t, map[string]string{"keep": "t/free/"}, e.summary())
	err = e.r.SyncConfig(e.ctx, &boskos.Config{})
	requireErr(t, err, boskos.EInvalid, "empty config")
}

func TestSyncConfigDynamic(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		cfg := mustConfig(t, `
resources:
- type: manual-token
  names: [token-1]
- type: automatic-token
  state: free
  min-count: 2
  max-count: 3
  lifespan: 5m
`)
		require.NoError(t, e.r.SyncConfig(e.ctx, cfg))
		assert.Equal(t, map[string]string{
			"token-1": "manual-token/free/", "automatic-token#1": "automatic-token/free/", "automatic-token#2": "automatic-token/free/",
		}, e.summary())
		d, ok := e.drlc("automatic-token")
		require.True(t, ok)
		ls := 5 * time.Minute
		assert.Equal(t, boskos.DRLC{Type: "automatic-token", InitialState: "free", MinCount: 2, MaxCount: 3, LifeSpan: &ls}, d)

		// Syncing again changes nothing.
		require.NoError(t, e.r.SyncConfig(e.ctx, cfg))
		assert.Len(t, e.byType("automatic-token"), 2)

		// Lease one; remove the DRLC from the config.
		leased, err := e.r.Acquire(e.ctx, "automatic-token", "free", "busy", "o", "")
		require.NoError(t, err)
		require.NoError(t, e.r.SyncConfig(e.ctx, mustConfig(t, `
resources:
- type: manual-token
  names: [token-1]
`)))
		d, ok = e.drlc("automatic-token")
		require.True(t, ok, "kept with 0/0 while resources remain")
		assert.Equal(t, [2]int{0, 0}, [2]int{d.MinCount, d.MaxCount})
		for _, r := range e.byType("automatic-token") {
			if r.Name == leased.Name {
				assert.Equal(t, "busy", r.State, "owned: untouched")
			} else {
				assert.Equal(t, boskos.ToBeDeleted, r.State)
			}
		}
		// The cleaner tombstones both once released; the next sync deletes them
		// and then the DRLC.
		require.NoError(t, e.r.Release(e.ctx, leased.Name, boskos.Tombstone, "o", nil))
		for _, r := range e.byType("automatic-token") {
			if r.State == boskos.ToBeDeleted {
				_, err := e.r.Acquire(e.ctx, "automatic-token", boskos.ToBeDeleted, "cleaning", "cleaner", "")
				require.NoError(t, err)
				require.NoError(t, e.r.Release(e.ctx, r.Name, boskos.Tombstone, "cleaner", nil))
			}
		}
		require.NoError(t, e.r.Reconcile(e.ctx))
		assert.Empty(t, e.byType("automatic-token"))
		_, ok = e.drlc("automatic-token")
		assert.False(t, ok, "DRLC deleted once no resources remain")
	})
}

func TestReconcile(t *testing.T) {
	past := t0.Add(-time.Minute)
	future := t0.Add(time.Minute)
	tests := []struct {
		name     string
		min, max int
		seed     []res
		want     map[string]string // summary
	}{
		{
			name: "scale down", min: 1, max: 2,
			seed: []res{{name: "dt_1", state: "free"}, {name: "dt_2", state: "free"}, {name: "dt_4", state: "busy", owner: "o"}},
			want: map[string]string{"dt_1": "dt/free/", "dt_2": "dt/toBeDeleted/", "dt_4": "dt/busy/o"},
		},
		{
			name: "scale down, busy over max", min: 1, max: 2,
			seed: []res{{name: "dt_1", state: "free"}, {name: "dt_2", state: "busy", owner: "o"},
				{name: "dt_3", state: "busy", owner: "o"}, {name: "dt_4", state: "busy", owner: "o"}},
			want: map[string]string{"dt_1": "dt/toBeDeleted/", "dt_2": "dt/busy/o", "dt_3": "dt/busy/o", "dt_4": "dt/busy/o"},
		},
		{
			name: "replace tombstoned", min: 4, max: 8,
			seed: []res{{name: "dt_1", state: "free"}, {name: "dt_2", state: "busy", owner: "o"},
				{name: "dt_3", state: "toBeDeleted"}, {name: "dt_4", state: "tombstone"}},
			want: map[string]string{"dt_1": "dt/free/", "dt_2": "dt/busy/o", "dt_3": "dt/toBeDeleted/", "dt#1": "dt/free/"},
		},
		{
			name: "decrease max with deletions in flight", min: 0, max: 1,
			seed: []res{{name: "dt_1", state: "free"}, {name: "dt_2", state: "free"}, {name: "dt_3", state: "free"},
				{name: "dt_4", state: "toBeDeleted"}, {name: "dt_5", state: "tombstone"}},
			want: map[string]string{"dt_1": "dt/free/", "dt_2": "dt/toBeDeleted/", "dt_3": "dt/toBeDeleted/", "dt_4": "dt/toBeDeleted/"},
		},
		{
			name: "increase min with deletions", min: 4, max: 4,
			seed: []res{{name: "dt_1", state: "free"}, {name: "dt_2", state: "toBeDeleted"},
				{name: "dt_3", state: "toBeDeleted"}, {name: "dt_4", state: "tombstone"}},
			want: map[string]string{"dt_1": "dt/free/", "dt_2": "dt/toBeDeleted/", "dt_3": "dt/toBeDeleted/", "dt#1": "dt/free/"},
		},
		{
			name: "expired", min: 2, max: 4,
			seed: []res{{name: "dt_1", state: "free", exp: &past}, {name: "dt_2", state: "free", exp: &future},
				{name: "dt_3", state: "tombstone"}, {name: "dt_4", state: "free"},
				{name: "dt_5", state: "busy", owner: "o", exp: &past}},
			want: map[string]string{"dt_1": "dt/toBeDeleted/", "dt_2": "dt/free/", "dt_4": "dt/free/", "dt_5": "dt/busy/o"},
		},
		{
			name: "adopt existing resources", min: 5, max: 5,
			seed: []res{{name: "test-resource-0", state: "free"}, {name: "test-resource-1", state: "free"},
				{name: "test-resource-2", state: "dirty"}},
			want: map[string]string{"test-resource-0": "dt/free/", "test-resource-1": "dt/free/", "test-resource-2": "dt/dirty/",
				"dt#1": "dt/free/", "dt#2": "dt/free/"},
		},
		{
			name: "owned tombstone is left alone", min: 0, max: 1,
			seed: []res{{name: "dt_1", state: "tombstone", owner: "o"}},
			want: map[string]string{"dt_1": "dt/tombstone/o"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				for i := range tc.seed {
					tc.seed[i].rtype = "dt"
				}
				e.seed(tc.seed...)
				e.seed(res{name: "static", rtype: "st", state: "free"})
				tc.want["static"] = "st/free/"
				e.seedDRLC(boskos.DRLC{Type: "dt", MinCount: tc.min, MaxCount: tc.max})
				require.NoError(t, e.r.Reconcile(e.ctx))
				assert.Equal(t, tc.want, e.summary())
				// Reconcile is idempotent.
				require.NoError(t, e.r.Reconcile(e.ctx))
				assert.Equal(t, tc.want, e.summary())
			})
		})
	}
}

func TestGCRequestQueue(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "r", rtype: "t", state: "busy", owner: "x"})
		for _, id := range []string{"a", "b", "c"} {
			_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", id)
			require.Error(t, err)
			e.clock.Add(10 * time.Second)
		}
		// a expires at t0+30s, b at +40s, c at +50s; GC keeps a minute's grace.
		e.clock.Add(100*time.Second - 30*time.Second) // now t0+100s
		n, err := e.r.GCRequestQueue(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "only a is more than 60s past its expiry")
		e.clock.Add(20 * time.Second)
		n, err = e.r.GCRequestQueue(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		page, err := e.mem.List(e.ctx, queuePrefix, "", 0)
		require.NoError(t, err)
		assert.Empty(t, page.Items)
	})
}

// TestSyncConfigDRLCBecomesStatic: turning a DRLC into a static list marks
// the unlisted resources toBeDeleted and leaves the listed ones alone, also
// in later stand-alone reconciles.
func TestSyncConfigDRLCBecomesStatic(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seedDRLC(boskos.DRLC{Type: "tok", MinCount: 2, MaxCount: 2})
		e.seed(res{name: "dyn-1", rtype: "tok", state: "free"}, res{name: "dyn-2", rtype: "tok", state: "free"})
		cfg := mustConfig(t, `
resources:
- type: tok
  names: [dyn-1, fixed]
`)
		require.NoError(t, e.r.SyncConfig(e.ctx, cfg))
		want := map[string]string{"dyn-1": "tok/free/", "dyn-2": "tok/toBeDeleted/", "fixed": "tok/free/"}
		assert.Equal(t, want, e.summary())
		require.NoError(t, e.r.Reconcile(e.ctx))
		assert.Equal(t, want, e.summary(), "a later reconcile keeps the listed names")

		_, err := e.r.Acquire(e.ctx, "tok", boskos.ToBeDeleted, "cleaning", "cleaner", "")
		require.NoError(t, err)
		require.NoError(t, e.r.Release(e.ctx, "dyn-2", boskos.Tombstone, "cleaner", nil))
		require.NoError(t, e.r.Reconcile(e.ctx))
		assert.Equal(t, map[string]string{"dyn-1": "tok/free/", "fixed": "tok/free/"}, e.summary())
		_, ok := e.drlc("tok")
		assert.False(t, ok, "the DRLC goes once only listed resources remain")
		require.NoError(t, e.r.SyncConfig(e.ctx, cfg))
		assert.Equal(t, map[string]string{"dyn-1": "tok/free/", "fixed": "tok/free/"}, e.summary())
	})
}

func TestSyncConfigCreatesLargePoolsInBatches(t *testing.T) {
	cfgFor := func(n int) *boskos.Config {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("r-%04d", i)
		}
		return &boskos.Config{Resources: []boskos.ResourceEntry{
			{Type: "big", State: "dirty", Names: names},
			{Type: "small", Names: []string{"s-1"}},
		}}
	}
	tests := []struct {
		name      string
		rules     []faultstore.Rule
		maxTx     int // most Transact calls the sync may make
		wantCount int64
	}{
		// 250 "big" = 99 + 99 + 52, plus one for "small".
		{name: "batched", maxTx: 4, wantCount: 250},
		// The first batch fails (say another process created one of its
		// names meanwhile): its items are created one by one.
		{name: "failed batch falls back", rules: []faultstore.Rule{faultstore.Fail(faultstore.Method(faultstore.Transact),
			faultstore.Conflict(faultstore.Call{Method: faultstore.Transact}), 1)}, maxTx: 4 + 1 + 99, wantCount: 250},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{}, tc.rules...)
			e.fs.ResetCounts()
			require.NoError(t, e.r.SyncConfig(e.ctx, cfgFor(250)))
			assert.LessOrEqual(t, e.fs.Counts()["Transact"], tc.maxTx, "transactions")
			n, err := e.r.typeCount(e.ctx, "big")
			require.NoError(t, err)
			assert.Equal(t, tc.wantCount, n, "type counter")
			m, err := e.r.Metric(e.ctx, "big")
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"dirty": 250}, m.Current)
			assert.Equal(t, "free", e.mustGet("s-1").State)

			// A second sync creates nothing and keeps the count.
			e.fs.ResetCounts()
			require.NoError(t, e.r.SyncConfig(e.ctx, cfgFor(250)))
			assert.Zero(t, e.fs.Counts()["Transact"])
			n, err = e.r.typeCount(e.ctx, "big")
			require.NoError(t, err)
			assert.Equal(t, tc.wantCount, n)
		})
	}
}

// stateCounts counts the resources of rtype by "state/owner".
func (e *env) stateCounts(rtype string) map[string]int {
	out := map[string]int{}
	for _, r := range e.byType(rtype) {
		out[r.State+"/"+r.Owner]++
	}
	return out
}

// TestSyncConfigChangesDRLC (§5.2 step 5, §5.3): a changed dynamic entry
// updates the stored DRLC, and the reconcile that follows applies it:
// raising min-count creates resources, lowering max-count marks the extra
// unowned ones toBeDeleted (owned ones are left alone).
func TestSyncConfigChangesDRLC(t *testing.T) {
	cfg := func(min, max int) *boskos.Config {
		return mustConfig(t, fmt.Sprintf(`
resources:
- type: st
  names: [s-1]
- type: dt
  state: free
  min-count: %d
  max-count: %d
`, min, max))
	}
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		sync := func(min, max int) {
			t.Helper()
			e.clock.Add(time.Minute)
			require.NoError(t, e.r.SyncConfig(e.ctx, cfg(min, max)))
			d, ok := e.drlc("dt")
			require.True(t, ok)
			assert.Equal(t, boskos.DRLC{Type: "dt", InitialState: "free", MinCount: min, MaxCount: max}, d, "stored DRLC")
		}
		sync(1, 3)
		assert.Equal(t, map[string]int{"free/": 1}, e.stateCounts("dt"))
		sync(3, 3)
		assert.Equal(t, map[string]int{"free/": 3}, e.stateCounts("dt"), "raising min-count creates two")

		leased, err := e.r.Acquire(e.ctx, "dt", "free", "busy", "o", "")
		require.NoError(t, err)
		sync(1, 1)
		assert.Equal(t, map[string]int{"busy/o": 1, "toBeDeleted/": 2}, e.stateCounts("dt"), "max-count 3 -> 1")
		assert.Equal(t, "busy", e.mustGet(leased.Name).State, "the owned one is kept")
		require.NoError(t, e.r.Reconcile(e.ctx))
		assert.Equal(t, map[string]int{"busy/o": 1, "toBeDeleted/": 2}, e.stateCounts("dt"), "a later reconcile changes nothing")

		// The cleaner tombstones the marked ones; the reconcile deletes
		// them and creates none (one active, min-count 1).
		for range 2 {
			r, err := e.r.Acquire(e.ctx, "dt", boskos.ToBeDeleted, "cleaning", "cleaner", "")
			require.NoError(t, err)
			require.NoError(t, e.r.Release(e.ctx, r.Name, boskos.Tombstone, "cleaner", nil))
		}
		require.NoError(t, e.r.Reconcile(e.ctx))
		assert.Equal(t, map[string]int{"busy/o": 1}, e.stateCounts("dt"))

		sync(2, 2)
		assert.Equal(t, map[string]int{"busy/o": 1, "free/": 1}, e.stateCounts("dt"), "raising min-count counts the owned one")
		assert.Equal(t, map[string]string{"s-1": "st/free/"}, map[string]string{"s-1": e.summary()["s-1"]})
	})
}

// TestSyncConfigStaticBecomesDRLC (§5.3): when a type that was static
// becomes dynamic, its existing resources are adopted, not deleted, and
// count toward min-count and max-count.
func TestSyncConfigStaticBecomesDRLC(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		require.NoError(t, e.r.SyncConfig(e.ctx, mustConfig(t, `
resources:
- type: tok
  names: [a, b, c]
- type: other
  names: [o-1]
`)))
		_, err := e.r.AcquireByState(e.ctx, "free", "busy", "o", []string{"b"})
		require.NoError(t, err)
		dynamic := func(min, max int) *boskos.Config {
			return mustConfig(t, fmt.Sprintf(`
resources:
- type: tok
  min-count: %d
  max-count: %d
- type: other
  names: [o-1]
`, min, max))
		}

		e.clock.Add(time.Minute)
		require.NoError(t, e.r.SyncConfig(e.ctx, dynamic(2, 4)))
		assert.Equal(t, map[string]string{"a": "tok/free/", "b": "tok/busy/o", "c": "tok/free/", "o-1": "other/free/"},
			e.summary(), "adopted: nothing deleted, nothing created (3 within 2..4)")
		assert.Equal(t, t0, e.mustGet("a").LastUpdate, "adopted resources are not modified")
		d, ok := e.drlc("tok")
		require.True(t, ok)
		assert.Equal(t, boskos.DRLC{Type: "tok", MinCount: 2, MaxCount: 4}, d)

		require.NoError(t, e.r.SyncConfig(e.ctx, dynamic(2, 2)))
		assert.Equal(t, map[string]string{"a": "tok/free/", "b": "tok/busy/o", "c": "tok/toBeDeleted/", "o-1": "other/free/"},
			e.summary(), "counted toward max-count: one over, the highest idle name is marked")

		require.NoError(t, e.r.SyncConfig(e.ctx, dynamic(4, 4)))
		assert.Equal(t, map[string]string{"a": "tok/free/", "b": "tok/busy/o", "c": "tok/toBeDeleted/", "tok#1": "tok/free/",
			"o-1": "other/free/"}, e.summary(), "counted toward min-count: one created")
	})
}
