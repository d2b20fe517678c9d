package ranchbackends_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// sharedStores opens one fresh store of backend b as two stores, as two
// servers see it: on DynamoDB two clients of one table, elsewhere the same
// store twice (one bolt file can be opened by one process only).
func sharedStores(t *testing.T, b testkit.Backend) (store.Store, store.Store) {
	t.Helper()
	if b.Name != "dynamostore" {
		s := b.Open(t)
		return s, s
	}
	c1, table := dynamotest.NewTable(t)
	c2 := dynamotest.Client(t)
	return dynamostore.New(c1, table, dynamostore.Options{}), dynamostore.New(c2, table, dynamostore.Options{})
}

// poolWithQuotas is a config of n free resources of type q (q-0 ..), one
// of type other, and the quotas.
func poolWithQuotas(n int, quotas ...boskos.QuotaEntry) *boskos.Config {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("q-%d", i)
	}
	return &boskos.Config{Resources: []boskos.ResourceEntry{
		{Type: "q", State: boskos.Free, Names: names},
		{Type: "other", State: boskos.Free, Names: []string{"o-0"}},
	}, Quotas: quotas}
}

func quotaEntry(owner, rtype string, max int) boskos.QuotaEntry {
	return boskos.QuotaEntry{Owner: owner, Type: rtype, Max: &max}
}

// holdings returns what the quotas in force count ("owner/type" -> used)
// and what the matching owners really hold, from the resources.
func holdings(t *testing.T, r *ranch.Ranch) (counted, held map[string]int64) {
	t.Helper()
	ctx := context.Background()
	us, err := r.QuotaUsage(ctx)
	require.NoError(t, err)
	res, err := r.Resources(ctx)
	require.NoError(t, err)
	counted, held = map[string]int64{}, map[string]int64{}
	for _, u := range us {
		k := u.Owner + "/" + u.Type
		counted[k] = u.Used
		held[k] = 0
		for _, x := range res {
			if x.Owner != "" && u.Matches(x.Type, x.Owner) {
				held[k]++
			}
		}
	}
	return counted, held
}

// TestQuotaScenario walks quotas through the public API on every backend,
// with and without injected conflicts: the counters always equal the
// holdings of the owners they cover.
func TestQuotaScenario(t *testing.T) {
	for _, b := range backends {
		for _, faults := range []bool{false, true} {
			name := b.Name
			if faults {
				name += "/faults"
			}
			t.Run(name, func(t *testing.T) {
				var s store.Store = b.Open(t)
				if faults {
					s = faultstore.New(s, faultstore.FirstWriteConflict())
				}
				quotaScenario(t, s)
			})
		}
	}
}

func quotaScenario(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := testkit.NewClock()
	r := ranch.New(s, ranch.Options{Now: c.Now, DRLCCacheTTL: -1, Logger: testkit.Quiet()})
	balanced := func(msg string) {
		t.Helper()
		counted, held := holdings(t, r)
		assert.Equal(t, held, counted, "%s: counters against holdings", msg)
	}
	acquire := func(owner string) (boskos.Resource, error) {
		c.Add(time.Second)
		return r.Acquire(ctx, "q", boskos.Free, boskos.Busy, owner, "")
	}
	require.NoError(t, r.SyncConfig(ctx, poolWithQuotas(6, quotaEntry("ci-*", "q", 2), quotaEntry("ci-a", "q", 1))))

	a, err := acquire("ci-a")
	require.NoError(t, err)
	_, err = acquire("ci-a")
	requireErr(t, err, boskos.EOverQuota, boskos.OverQuota("ci-a", "q", "ci-a", 1).Message)
	b1, err := acquire("ci-b")
	require.NoError(t, err)
	_, err = acquire("ci-b")
	requireErr(t, err, boskos.EOverQuota, boskos.OverQuota("ci-b", "q", "ci-*", 2).Message)
	_, err = r.AcquireByState(ctx, boskos.Free, "leased", "ci-c", []string{"q-4", "q-5"})
	requireErr(t, err, boskos.EOverQuota, boskos.OverQuota("ci-c", "q", "ci-*", 2).Message)
	bot, err := r.AcquireByState(ctx, boskos.Free, "leased", "bot", []string{"q-4", "q-5"})
	require.NoError(t, err, "bot has no quota")
	balanced("at the quota")

	// A release and a reset free the counters; a heartbeat does not.
	require.NoError(t, r.Update(ctx, a.Name, "ci-a", boskos.Busy, boskos.UserData{"k": "v"}, &a.Epoch))
	require.NoError(t, r.Release(ctx, a.Name, boskos.Dirty, "ci-a", &a.Epoch))
	balanced("after a release")
	c.Add(time.Hour)
	reset, err := r.Reset(ctx, "q", boskos.Busy, 30*time.Minute, boskos.Dirty)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{b1.Name: "ci-b"}, reset)
	balanced("after a reset")
	for _, x := range bot {
		require.NoError(t, r.Release(ctx, x.Name, boskos.Free, "bot", nil))
	}

	// Config changes: a new quota counts the current holders; a removed
	// one is retired; every counter still equals its holdings.
	_, err = acquire("ci-a")
	require.NoError(t, err)
	_, err = acquire("dev")
	require.NoError(t, err)
	require.NoError(t, r.SyncConfig(ctx, poolWithQuotas(6, quotaEntry("ci-*", "q", 2), quotaEntry("dev", "q", 0))))
	balanced("after the config changed")
	counted, _ := holdings(t, r)
	assert.Equal(t, map[string]int64{"ci-*/q": 1, "dev/q": 1}, counted)
	_, err = acquire("dev")
	requireErr(t, err, boskos.EOverQuota, boskos.OverQuota("dev", "q", "dev", 0).Message)
	_, err = acquire("ci-a")
	require.NoError(t, err, "the quota of ci-a alone left the config")
	require.NoError(t, r.Reconcile(ctx))
	balanced("after a reconcile")
}

// TestQuotaContention is the quality bar of quotas: 64 clients of one owner
// whose quota is 3, on a pool of 20, through two Ranches (two servers) on
// one store, on the memory, bolt and DynamoDB Local stores. Half the
// clients poll with a request_id. Every grant and release is recorded on
// one clock of ticks: a grant's tick is taken after its acquire returned
// and its release's before the release is sent, so each recorded interval
// lies inside the real lease, and more than 3 recorded intervals at once
// prove more than 3 leases at once. A sweep over the ticks checks that the
// owner never held more than 3. At the end some clients keep their lease:
// the counter must equal the holdings, and after the reaper resets them, 0.
// The control (no quota, memory) shows that the sweep sees more than 3 when
// nothing stops them.
func TestQuotaContention(t *testing.T) {
	const clients, pool, quotaMax = 64, 20, 3
	tests := []struct {
		backend testkit.Backend
		quota   bool
		d       time.Duration
	}{
		{testkit.Backends[0], true, 2 * time.Second},
		{testkit.Backends[2], true, 3 * time.Second},
		{testkit.Backends[3], true, 5 * time.Second},
		{testkit.Backends[0], false, 500 * time.Millisecond},
	}
	for _, tc := range tests {
		name := tc.backend.Name
		if !tc.quota {
			name += "/control without quota"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s1, s2 := sharedStores(t, tc.backend)
			var quotas []boskos.QuotaEntry
			if tc.quota {
				quotas = append(quotas, quotaEntry("ci", "q", quotaMax))
			}
			servers := []*ranch.Ranch{
				ranch.New(s1, ranch.Options{SpreadWindow: ranch.DefaultSpreadWindow, Logger: testkit.Quiet()}),
				ranch.New(s2, ranch.Options{SpreadWindow: ranch.DefaultSpreadWindow, Logger: testkit.Quiet()}),
			}
			require.NoError(t, servers[0].SyncConfig(ctx, poolWithQuotas(pool, quotas...)))

			type event struct {
				tick  int64
				delta int
			}
			var (
				tick              atomic.Int64
				mu                sync.Mutex
				events            []event
				refused, notFound atomic.Int64
				grants            atomic.Int64
				kept              atomic.Int64
				stop              = make(chan struct{})
				wg                sync.WaitGroup
				unexpected        = make(chan error, clients)
				record            = func(e event) { mu.Lock(); events = append(events, e); mu.Unlock() }
				polls             atomic.Int64
			)
			for i := range clients {
				wg.Go(func() {
					r := servers[i%2]
					id := ""
					for n := 0; ; n++ {
						select {
						case <-stop:
							return
						default:
						}
						if i%2 == 0 && id == "" {
							id = fmt.Sprintf("c%d-%d", i, n)
						}
						polls.Add(1)
						res, err := r.Acquire(ctx, "q", boskos.Free, boskos.Busy, "ci", id)
						switch boskos.ErrorCode(err) {
						case "":
						case boskos.EOverQuota:
							refused.Add(1)
							time.Sleep(time.Duration(1+rand.IntN(3)) * time.Millisecond)
							continue
						case boskos.ENotFound:
							notFound.Add(1)
							time.Sleep(time.Duration(1+rand.IntN(3)) * time.Millisecond)
							continue
						default:
							unexpected <- fmt.Errorf("client %d: acquire: %w", i, err)
							return
						}
						id = ""
						record(event{tick.Add(1), +1})
						grants.Add(1)
						time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
						select {
						case <-stop:
							kept.Add(1) // leaves with its lease, for the reaper
							return
						default:
						}
						record(event{tick.Add(1), -1})
						if err := r.Release(ctx, res.Name, boskos.Free, "ci", &res.Epoch); err != nil {
							unexpected <- fmt.Errorf("client %d: release %s: %w", i, res.Name, err)
							return
						}
					}
				})
			}
			time.Sleep(tc.d)
			close(stop)
			wg.Wait()
			close(unexpected)
			for err := range unexpected {
				t.Error(err)
			}

			sort.Slice(events, func(i, j int) bool { return events[i].tick < events[j].tick })
			holding, most := 0, 0
			for _, e := range events {
				holding += e.delta
				most = max(most, holding)
			}
			t.Logf("%d grants, %d refused for the quota, %d not found, %d polls; at most %d held at once; %d kept to the end",
				grants.Load(), refused.Load(), notFound.Load(), polls.Load(), most, kept.Load())
			require.Positive(t, grants.Load(), "some grants")
			if !tc.quota {
				assert.Greater(t, most, quotaMax, "the control: without a quota the sweep sees more than %d at once", quotaMax)
				return
			}
			assert.LessOrEqual(t, most, quotaMax, "the owner held more than its quota at some instant")
			assert.Positive(t, refused.Load(), "the quota refused some acquires")

			counted, held := holdings(t, servers[1])
			assert.Equal(t, map[string]int64{"ci/q": kept.Load()}, held, "the kept leases are held")
			assert.Equal(t, held, counted, "after the run the counter equals the holdings")

			// The reaper, an hour later, resets the kept leases.
			reaperRanch := ranch.New(s2, ranch.Options{Now: func() time.Time { return time.Now().Add(time.Hour) }, Logger: testkit.Quiet()})
			reaper, err := maintenance.NewReaper(reaperRanch, maintenance.ReaperOptions{Logger: testkit.Quiet()})
			require.NoError(t, err)
			rep, err := reaper.Reap(ctx)
			require.NoError(t, err)
			assert.Len(t, rep.Reaped, int(kept.Load()), "the reaper resets every kept lease")
			counted, held = holdings(t, servers[0])
			assert.Equal(t, map[string]int64{"ci/q": 0}, held, "nothing is held after reaping")
			assert.Equal(t, held, counted, "after reaping the counter equals the holdings")
		})
	}
}
