package ranch

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// quotaConfig is a config of five free resources of type t (t-0 .. t-4),
// two of type u, and quotas.
func quotaConfig(quotas ...boskos.QuotaEntry) *boskos.Config {
	return &boskos.Config{
		Resources: []boskos.ResourceEntry{
			{Type: "t", Names: []string{"t-0", "t-1", "t-2", "t-3", "t-4"}},
			{Type: "u", Names: []string{"u-0", "u-1"}},
		},
		Quotas: quotas,
	}
}

// quota is a quotas entry.
func quota(owner, rtype string, max int) boskos.QuotaEntry {
	return boskos.QuotaEntry{Owner: owner, Type: rtype, Max: &max}
}

// usage returns QuotaUsage as "owner/type" -> used.
func usage(t *testing.T, e *env) map[string]int64 {
	t.Helper()
	us, err := e.r.QuotaUsage(e.ctx)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, u := range us {
		out[u.Owner+"/"+u.Type] = u.Used
	}
	return out
}

// acquireAs is one acquire of type rtype, free -> busy, by owner.
func (e *env) acquireAs(r *Ranch, rtype, owner, requestID string) (boskos.Resource, error) {
	return r.Acquire(e.ctx, rtype, boskos.Free, boskos.Busy, owner, requestID)
}

// overQuota is the error text of boskos.OverQuota.
func overQuota(owner, rtype, pattern string, max int64) string {
	return boskos.OverQuota(owner, rtype, pattern, max).Message
}

func TestAcquireQuota(t *testing.T) {
	type acq struct {
		owner, rtype string
		wantErr      string // "" = granted
	}
	tests := []struct {
		name     string
		quotas   []boskos.QuotaEntry
		acquires []acq
		wantUsed map[string]int64
	}{
		{name: "an exact owner is capped alone",
			quotas: []boskos.QuotaEntry{quota("o", "t", 2)},
			acquires: []acq{{"o", "t", ""}, {"o", "t", ""}, {"o", "t", overQuota("o", "t", "o", 2)},
				{"p", "t", ""}, {"o", "u", ""}},
			wantUsed: map[string]int64{"o/t": 2}},
		{name: "a pattern caps its owners together",
			quotas: []boskos.QuotaEntry{quota("ci-*", "t", 2)},
			acquires: []acq{{"ci-a", "t", ""}, {"ci-b", "t", ""}, {"ci-a", "t", overQuota("ci-a", "t", "ci-*", 2)},
				{"ci-c", "t", overQuota("ci-c", "t", "ci-*", 2)}, {"bot", "t", ""}},
			wantUsed: map[string]int64{"ci-*/t": 2}},
		{name: "an owner is held to every quota it matches",
			quotas: []boskos.QuotaEntry{quota("ci-*", "t", 3), quota("ci-a", "t", 1)},
			acquires: []acq{{"ci-a", "t", ""}, {"ci-a", "t", overQuota("ci-a", "t", "ci-a", 1)},
				{"ci-b", "t", ""}, {"ci-b", "t", ""}, {"ci-b", "t", overQuota("ci-b", "t", "ci-*", 3)}},
			wantUsed: map[string]int64{"ci-*/t": 3, "ci-a/t": 1}},
		{name: "max 0 lets the owners hold none",
			quotas:   []boskos.QuotaEntry{quota("*", "u", 0)},
			acquires: []acq{{"o", "u", overQuota("o", "u", "*", 0)}, {"o", "t", ""}},
			wantUsed: map[string]int64{"*/u": 0}},
		{name: "no quotas",
			acquires: []acq{{"o", "t", ""}, {"o", "t", ""}, {"o", "t", ""}, {"o", "t", ""}, {"o", "t", ""},
				{"o", "t", "no available resource t, try again later."}},
			wantUsed: map[string]int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(tc.quotas...)))
				for i, a := range tc.acquires {
					before := e.all()
					got, err := e.acquireAs(e.r, a.rtype, a.owner, "")
					if a.wantErr == "" {
						require.NoError(t, err, "acquire %d by %s", i, a.owner)
						assert.Equal(t, a.owner, got.Owner)
						continue
					}
					require.Error(t, err, "acquire %d by %s", i, a.owner)
					assert.Equal(t, a.wantErr, err.Error(), "acquire %d by %s", i, a.owner)
					assert.Equal(t, before, e.all(), "a refused acquire changes no resource")
				}
				assert.Equal(t, tc.wantUsed, usage(t, e))
			})
		})
	}
}

// TestQuotaFreed: every way a lease ends takes the resource out of the
// counters it was counted in, and the owner may acquire again.
func TestQuotaFreed(t *testing.T) {
	tests := []struct {
		name string
		end  func(e *env, res boskos.Resource) error
	}{
		{"release", func(e *env, res boskos.Resource) error {
			return e.r.Release(e.ctx, res.Name, boskos.Dirty, res.Owner, nil)
		}},
		{"release with epoch", func(e *env, res boskos.Resource) error {
			return e.r.Release(e.ctx, res.Name, boskos.Free, res.Owner, &res.Epoch)
		}},
		{"reset (the reaper)", func(e *env, res boskos.Resource) error {
			e.clock.Add(time.Hour)
			got, err := e.r.Reset(e.ctx, "t", boskos.Busy, 30*time.Minute, boskos.Dirty)
			if err == nil && len(got) != 2 {
				err = fmt.Errorf("reset %v, want both leases", got)
			}
			return err
		}},
		{"release after the quota left the config", func(e *env, res boskos.Resource) error {
			if err := e.r.SyncConfig(e.ctx, quotaConfig()); err != nil {
				return err
			}
			return e.r.Release(e.ctx, res.Name, boskos.Dirty, res.Owner, nil)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("ci-*", "t", 2), quota("ci-a", "t", 2))))
				a, err := e.acquireAs(e.r, "t", "ci-a", "")
				require.NoError(t, err)
				b, err := e.acquireAs(e.r, "t", "ci-b", "")
				require.NoError(t, err)
				_, err = e.acquireAs(e.r, "t", "ci-a", "")
				requireErr(t, err, boskos.EOverQuota, overQuota("ci-a", "t", "ci-*", 2))
				require.NoError(t, tc.end(e, a))
				if tc.name != "reset (the reaper)" {
					require.NoError(t, tc.end(e, b))
				}
				checkQuotaInvariants(t, e.mem)
				for name, r := range e.all() {
					assert.Equal(t, "", r.Owner, "%s is free again", name)
				}
				if tc.name == "release after the quota left the config" {
					require.NoError(t, e.r.Reconcile(e.ctx))
					page, err := e.mem.List(e.ctx, quotaPrefix, "", 0)
					require.NoError(t, err)
					assert.Empty(t, page.Items, "the retired counters are deleted once nothing is counted in them")
					return
				}
				assert.Equal(t, map[string]int64{"ci-*/t": 0, "ci-a/t": 0}, usage(t, e))
				_, err = e.acquireAs(e.r, "t", "ci-a", "")
				require.NoError(t, err, "the quota has room again")
			})
		})
	}
}

func TestQuotaAcquireByState(t *testing.T) {
	tests := []struct {
		name     string
		owner    string
		names    []string
		wantErr  string
		wantUsed map[string]int64
	}{
		{name: "within the quota", owner: "ci-a", names: []string{"t-0", "t-1", "u-0"},
			wantUsed: map[string]int64{"ci-*/t": 2, "ci-*/u": 1}},
		{name: "over one quota: none of them", owner: "ci-a", names: []string{"t-0", "t-1", "t-2", "t-3"},
			wantErr:  overQuota("ci-a", "t", "ci-*", 3),
			wantUsed: map[string]int64{"ci-*/t": 1, "ci-*/u": 0}},
		{name: "owner without quotas", owner: "bot", names: []string{"t-0", "t-1", "t-2", "t-3"},
			wantUsed: map[string]int64{"ci-*/t": 1, "ci-*/u": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("ci-*", "t", 3), quota("ci-*", "u", 1))))
				names := tc.names
				if tc.wantErr != "" || tc.owner == "bot" {
					_, err := e.acquireAs(e.r, "t", "ci-b", "") // takes t-0
					require.NoError(t, err)
					names = append(append([]string(nil), names[1:]...), "t-4")
				}
				before := e.all()
				got, err := e.r.AcquireByState(e.ctx, boskos.Free, "leased", tc.owner, names)
				if tc.wantErr != "" {
					requireErr(t, err, boskos.EOverQuota, tc.wantErr)
					assert.Equal(t, before, e.all(), "all or nothing")
				} else {
					require.NoError(t, err)
					assert.Len(t, got, len(names))
				}
				assert.Equal(t, tc.wantUsed, usage(t, e))
				for _, res := range got {
					require.NoError(t, e.r.Release(e.ctx, res.Name, boskos.Free, tc.owner, nil))
				}
			})
		})
	}
}

// TestQuotaKeepsRequestIDPlace: a request_id refused for its quota keeps
// its place in the queue, but reserves nothing meanwhile (a caller queued
// after it is served); once its owner has room again it is served before
// those queued after it.
func TestQuotaKeepsRequestIDPlace(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("ci-a", "t", 1))))
		held, err := e.acquireAs(e.r, "t", "ci-a", "")
		require.NoError(t, err)
		for _, n := range []string{"t-1", "t-2", "t-3"} {
			_, err := e.r.AcquireByState(e.ctx, boskos.Free, boskos.Busy, "x", []string{n})
			require.NoError(t, err)
		}
		// One resource is free (t-4): A is refused for its quota, and B,
		// queued after it, still gets t-4.
		e.clock.Add(time.Second)
		_, err = e.acquireAs(e.r, "t", "ci-a", "A")
		requireErr(t, err, boskos.EOverQuota, overQuota("ci-a", "t", "ci-a", 1))
		created := queueEntryOf(t, e, "A").created
		assert.True(t, queueEntryOf(t, e, "A").blocked, "A's entry is blocked")
		e.clock.Add(time.Second)
		got, err := e.acquireAs(e.r, "t", "ci-b", "B")
		require.NoError(t, err, "A, refused for its quota, does not hold back B")
		assert.Equal(t, "t-4", got.Name)

		// Nothing free: C queues behind A; A, refused again, keeps its
		// place. Then ci-a releases: A, ahead of C, is served (had it been
		// queued anew, C would be ahead of it and A would hear 404).
		e.clock.Add(time.Second)
		_, err = e.acquireAs(e.r, "t", "ci-c", "C")
		requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
		e.clock.Add(time.Second)
		_, err = e.acquireAs(e.r, "t", "ci-a", "A")
		requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
		assert.Equal(t, created, queueEntryOf(t, e, "A").created, "A kept its place")
		assert.False(t, queueEntryOf(t, e, "A").blocked, "A's last poll was not refused for its quota")
		require.NoError(t, e.r.Release(e.ctx, held.Name, boskos.Free, "ci-a", nil))
		_, err = e.acquireAs(e.r, "t", "ci-c", "C")
		requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
		_, err = e.acquireAs(e.r, "t", "ci-a", "A")
		require.NoError(t, err, "A is served")
		require.NoError(t, e.r.Release(e.ctx, "t-1", boskos.Free, "x", nil))
		_, err = e.acquireAs(e.r, "t", "ci-c", "C")
		require.NoError(t, err, "then C")
		assert.Empty(t, queueEntries(t, e), "every entry consumed")
	})
}

// TestQuotaConfigChanges: the counters follow the config in force, and a
// second process (r2) whose quota cache is stale cannot apply an old max.
func TestQuotaConfigChanges(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env, r2 *Ranch)
	}{
		{"a new quota counts the current holdings", func(t *testing.T, e *env, r2 *Ranch) {
			for range 3 {
				_, err := e.acquireAs(e.r, "t", "o", "")
				require.NoError(t, err)
			}
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("o", "t", 2))))
			assert.Equal(t, map[string]int64{"o/t": 3}, usage(t, e), "over the max: no lease is revoked")
			_, err := e.acquireAs(e.r, "t", "o", "")
			requireErr(t, err, boskos.EOverQuota, overQuota("o", "t", "o", 2))
			require.NoError(t, e.r.Release(e.ctx, "t-0", boskos.Free, "o", nil))
			_, err = e.acquireAs(e.r, "t", "o", "")
			requireErr(t, err, boskos.EOverQuota, overQuota("o", "t", "o", 2))
			require.NoError(t, e.r.Release(e.ctx, "t-1", boskos.Free, "o", nil))
			_, err = e.acquireAs(e.r, "t", "o", "")
			require.NoError(t, err)
		}},
		{"a lowered max binds a process with a stale cache", func(t *testing.T, e *env, r2 *Ranch) {
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("o", "t", 3))))
			_, err := e.acquireAs(r2, "t", "o", "") // r2 caches max 3
			require.NoError(t, err)
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("o", "t", 1))))
			_, err = e.acquireAs(r2, "t", "o", "")
			requireErr(t, err, boskos.EOverQuota, overQuota("o", "t", "o", 1))
		}},
		{"a raised max is seen by a process with a stale cache", func(t *testing.T, e *env, r2 *Ranch) {
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("o", "t", 1))))
			_, err := e.acquireAs(r2, "t", "o", "")
			require.NoError(t, err)
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("o", "t", 2))))
			_, err = e.acquireAs(r2, "t", "o", "")
			require.NoError(t, err)
			assert.Equal(t, map[string]int64{"o/t": 2}, usage(t, e))
		}},
		{"a removed quota stops counting, and its counter goes with the last release", func(t *testing.T, e *env, r2 *Ranch) {
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("o", "t", 1))))
			_, err := e.acquireAs(r2, "t", "o", "")
			require.NoError(t, err)
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig()))
			assert.Empty(t, usage(t, e), "not in force")
			got, err := e.acquireAs(r2, "t", "o", "")
			require.NoError(t, err, "r2's stale cache is caught and refreshed")
			assert.Empty(t, countedIn(mustItem(t, e, got.Name)), "counted nowhere")
			require.NoError(t, e.r.Reconcile(e.ctx))
			assert.Len(t, quotaItems(t, e), 1, "the retired counter stays while a resource is counted in it")
			require.NoError(t, e.r.Release(e.ctx, "t-0", boskos.Free, "o", nil))
			require.NoError(t, e.r.Reconcile(e.ctx))
			assert.Empty(t, quotaItems(t, e), "then it is deleted")
		}},
		{"a quota back in the config counts its holdings again", func(t *testing.T, e *env, r2 *Ranch) {
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("o", "t", 2))))
			_, err := e.acquireAs(e.r, "t", "o", "")
			require.NoError(t, err)
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig()))
			_, err = e.acquireAs(e.r, "t", "o", "") // uncounted
			require.NoError(t, err)
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("o", "t", 2))))
			assert.Equal(t, map[string]int64{"o/t": 2}, usage(t, e))
			_, err = e.acquireAs(e.r, "t", "o", "")
			requireErr(t, err, boskos.EOverQuota, overQuota("o", "t", "o", 2))
		}},
		{"a new quota adopts, once settled, what a stale cache granted", func(t *testing.T, e *env, r2 *Ranch) {
			_, err := e.acquireAs(r2, "t", "o", "") // r2 caches: no quotas
			require.NoError(t, err)
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("o", "t", 1))))
			assert.Equal(t, map[string]int64{"o/t": 1}, usage(t, e), "the holding is adopted at once")
			_, err = e.acquireAs(r2, "t", "o", "")
			require.NoError(t, err, "r2 does not know the quota yet")
			assert.Equal(t, map[string]int64{"o/t": 1}, usage(t, e))
			require.NoError(t, e.r.Reconcile(e.ctx))
			assert.Equal(t, map[string]int64{"o/t": 1}, usage(t, e), "not settled yet")
			e.clock.Add(DefaultDRLCCacheTTL + quotaSettleMargin)
			require.NoError(t, e.r.Reconcile(e.ctx))
			assert.Equal(t, map[string]int64{"o/t": 2}, usage(t, e), "the second pass adopts it")
			_, err = e.acquireAs(r2, "t", "o", "")
			requireErr(t, err, boskos.EOverQuota, overQuota("o", "t", "o", 1))
			assert.Zero(t, mustQuotaItem(t, e, quotaKey("t", "o")).N(attrSettle), "settled")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig()))
				r2 := New(e.fs, Options{Now: e.clock.Now, Logger: e.r.log})
				tc.run(t, e, r2)
			})
		})
	}
}

// TestQuotaCost pins the store calls of a lease under a quota (caches
// warm): an acquire is one query and one transaction (the lease and the
// counter), a release one read and one transaction, a refused acquire one
// query and the failed transaction; without quotas nothing changes.
func TestQuotaCost(t *testing.T) {
	tests := []struct {
		name    string
		owner   string
		acquire map[string]int
		release map[string]int
	}{
		{"owner under a quota", "ci-a", map[string]int{"Query": 1, "Transact": 1}, map[string]int{"Get": 1, "Transact": 1}},
		// The lease and the check of the queue item.
		{"owner without quotas", "bot", map[string]int{"Query": 1, "Transact": 1}, map[string]int{"Update": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("ci-*", "t", 1))))
			warm, err := e.acquireAs(e.r, "t", tc.owner, "")
			require.NoError(t, err)
			require.NoError(t, e.r.Release(e.ctx, warm.Name, boskos.Free, tc.owner, nil))

			e.fs.ResetCounts()
			res, err := e.acquireAs(e.r, "t", tc.owner, "")
			require.NoError(t, err)
			assert.Equal(t, tc.acquire, e.fs.Counts(), "acquire")
			if tc.owner == "ci-a" {
				e.fs.ResetCounts()
				_, err = e.acquireAs(e.r, "t", tc.owner, "")
				requireErr(t, err, boskos.EOverQuota, overQuota("ci-a", "t", "ci-*", 1))
				assert.Equal(t, map[string]int{"Query": 1, "Transact": 1}, e.fs.Counts(), "refused acquire")
			}
			e.fs.ResetCounts()
			require.NoError(t, e.r.Release(e.ctx, res.Name, boskos.Free, tc.owner, nil))
			assert.Equal(t, tc.release, e.fs.Counts(), "release")
		})
	}
}

// TestQuotaCounterGone: a resource counted in a counter that no longer
// exists (only a damaged store has one) is still released.
func TestQuotaCounterGone(t *testing.T) {
	e := newEnv(t, Options{})
	require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("o", "t", 1))))
	res, err := e.acquireAs(e.r, "t", "o", "")
	require.NoError(t, err)
	require.NoError(t, e.mem.Delete(e.ctx, quotaKey("t", "o")))
	require.NoError(t, e.r.Release(e.ctx, res.Name, boskos.Free, "o", nil))
	assert.Empty(t, countedIn(mustItem(t, e, res.Name)))
}

func TestQuotaSet(t *testing.T) {
	set := quotaSet{"t": {
		{Quota: boskos.Quota{Owner: "ci-*", Type: "t", Max: 3}, key: quotaKey("t", "ci-*")},
		{Quota: boskos.Quota{Owner: "bot", Type: "t", Max: 1}, key: quotaKey("t", "bot")},
	}}
	tests := []struct {
		name, rtype, owner string
		want               []string // keys
		any                bool
	}{
		{"pattern", "t", "ci-a", []string{quotaKey("t", "ci-*")}, true},
		{"exact", "t", "bot", []string{quotaKey("t", "bot")}, true},
		{"other type", "u", "bot", nil, true},
		{"nobody's", "t", "alice", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, q := range set.matching(tc.rtype, tc.owner) {
				got = append(got, q.key)
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.any, set.anyMatches(tc.owner))
		})
	}
}

func mustQuotaItem(t *testing.T, e *env, key string) store.Item {
	t.Helper()
	it, err := e.mem.Get(e.ctx, key)
	require.NoError(t, err)
	return it
}

func quotaItems(t *testing.T, e *env) []store.Item {
	t.Helper()
	page, err := e.mem.List(e.ctx, quotaPrefix, "", 0)
	require.NoError(t, err)
	return page.Items
}
