package maintenance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// poolConfig is n free "proj" resources and m of type "live".
func poolConfig(n int) string {
	var sb strings.Builder
	sb.WriteString("resources:\n- type: proj\n  names:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  - p-%05d\n", i)
	}
	sb.WriteString("- {type: acct, names: [a-1, a-2, a-3, a-4, a-5, a-6]}\n")
	return sb.String()
}

// seedStale applies a pool of n free projects and leases 5 accounts whose
// heartbeats then stop (an hour passes).
func seedStale(t testing.TB, w *world, r *ranch.Ranch, n int) {
	t.Helper()
	cfg := mustConfigTB(t, poolConfig(n))
	require.NoError(t, r.SyncConfig(w.ctx, cfg))
	for range 5 {
		_, err := r.Acquire(w.ctx, "acct", "free", "busy", "job", "")
		require.NoError(t, err)
	}
	w.clock.Add(time.Hour)
}

func mustConfigTB(t testing.TB, y string) *boskosConfig {
	t.Helper()
	c, err := parseValid([]byte(y))
	require.NoError(t, err)
	return c
}

// TestReaperRequestCost: a reaper pass costs the same DynamoDB requests at
// 100 and at 2,000 free resources (10,000 with BOSKOS_BENCH_FULL=1, as `make
// bench` runs it; seeding them takes half a minute) with 5 stale leases:
// one index query per (type, state) and one write per reset lease.
func TestReaperRequestCost(t *testing.T) {
	large := 2000
	if os.Getenv("BOSKOS_BENCH_FULL") != "" {
		large = 10000
	}
	counts := map[int]map[string]int{}
	for _, n := range []int{100, large} {
		var c dynamotest.Counter
		w := &world{ctx: context.Background(), store: dynamotest.NewStore(t, dynamostore.Options{}, c.Option), clock: testkit.NewClock()}
		r := w.ranch()
		seedStale(t, w, r, n)
		p, err := NewReaper(r, ReaperOptions{Logger: quiet()})
		require.NoError(t, err)
		c.Reset()
		rep, err := p.Reap(w.ctx)
		require.NoError(t, err)
		require.Len(t, rep.Reaped, 5)
		counts[n] = c.Counts()
		t.Logf("reaper pass, %d free resources, 5 stale leases: %v (%d requests)", n, counts[n], c.Total())
	}
	assert.Equal(t, counts[100], counts[large], "the pool's size does not change a pass's requests")
	// 2 types x 3 states = 6 queries, 1 header read, 5 resets.
	assert.Equal(t, map[string]int{"GetItem": 1, "Query": 6, "UpdateItem": 5}, counts[100])
}

// TestReconcilerRequestCost: with an unchanged config, a reconciler pass
// reads the store independently of the number of static resources (and
// fetches its source once, conditionally).
func TestReconcilerRequestCost(t *testing.T) {
	counts := map[int]map[string]int{}
	for _, n := range []int{10, 1000} {
		var c dynamotest.Counter
		w := &world{ctx: context.Background(), store: dynamotest.NewStore(t, dynamostore.Options{}, c.Option), clock: testkit.NewClock()}
		src := &memSource{}
		src.put(poolConfig(n) + "- {type: dyn, min-count: 2, max-count: 4}\n")
		rc := NewReconciler(w.ranch(), ReconcilerOptions{Source: src, Logger: quiet()})
		_, err := rc.Reconcile(w.ctx)
		require.NoError(t, err)
		fetches := src.count()
		c.Reset()
		rep, err := rc.Reconcile(w.ctx)
		require.NoError(t, err)
		require.False(t, rep.Synced)
		assert.Equal(t, fetches+1, src.count(), "one conditional fetch")
		counts[n] = c.Counts()
		t.Logf("reconciler pass, unchanged config, %d static resources: %v (%d requests)", n, counts[n], c.Total())
	}
	assert.Equal(t, counts[10], counts[1000])
	// Header, DRLC list, one query for the dynamic type, the quota
	// counters, queue list.
	assert.Equal(t, map[string]int{"GetItem": 1, "Query": 4}, counts[10])
}

// BenchmarkReaperPass times a reaper pass on the embedded store with 5
// stale leases among 100 or 10,000 free resources.
func BenchmarkReaperPass(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("free=%d", n), func(b *testing.B) {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "b.db"), boltstore.Options{})
			require.NoError(b, err)
			defer s.Close()
			w := &world{ctx: context.Background(), store: store.Store(s), clock: testkit.NewClock()}
			r := w.ranch()
			seedStale(b, w, r, n)
			p, err := NewReaper(r, ReaperOptions{Logger: quiet()})
			require.NoError(b, err)
			b.ResetTimer()
			for range b.N {
				rep, err := p.Reap(w.ctx)
				if err != nil || len(rep.Reaped) != 5 {
					b.Fatalf("reaped %d, err %v", len(rep.Reaped), err)
				}
				b.StopTimer()
				for range 5 {
					if _, err := r.Acquire(w.ctx, "acct", "dirty", "busy", "job", ""); err != nil {
						b.Fatal(err)
					}
				}
				w.clock.Add(time.Hour)
				b.StartTimer()
			}
		})
	}
}
