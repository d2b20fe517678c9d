package ranch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// BenchmarkAcquireRelease measures one acquire + release cycle against pools
// of growing size: the cost must not grow with the pool.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, pool := range []int{100, 10000, 100000} {
		b.Run(fmt.Sprintf("pool=%d", pool), func(b *testing.B) {
			benchAcquireRelease(b, memstore.New(), pool, nil)
		})
	}
}

// BenchmarkAcquireReleaseQuota measures one acquire + release cycle of an
// owner under a quota (the lease and the counter in one transaction; the
// release one read and one transaction) against one of an owner without
// quota (one write each), on memory and on the embedded bolt store (every
// write an fsync'ed commit).
func BenchmarkAcquireReleaseQuota(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(*testing.B) store.Store { return memstore.New() }},
		{"bolt", func(b *testing.B) store.Store {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), boltstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
	}
	ten := 10
	for _, st := range stores {
		for _, q := range []struct {
			name   string
			quotas []boskos.QuotaEntry
		}{{"no quota", nil}, {"quota", []boskos.QuotaEntry{{Owner: "bench*", Type: "bench", Max: &ten}}}} {
			b.Run("store="+st.name+"/"+q.name, func(b *testing.B) {
				benchAcquireRelease(b, st.open(b), 1000, q.quotas)
			})
		}
	}
}

// benchAcquireRelease fills s with pool free resources of one type (through
// SyncConfig, with quotas) and then times acquire + release cycles of the
// owner "bencher". Other backends' benchmarks call it with their store.
func benchAcquireRelease(b *testing.B, s store.Store, pool int, quotas []boskos.QuotaEntry) {
	ctx := context.Background()
	r := New(s, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	names := make([]string, pool)
	for i := range names {
		names[i] = fmt.Sprintf("res-%06d", i)
	}
	cfg := &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "bench", Names: names}}, Quotas: quotas}
	if err := r.SyncConfig(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := r.Acquire(ctx, "bench", "free", "busy", "bencher", "")
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Release(ctx, res.Name, "free", "bencher", nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
}
