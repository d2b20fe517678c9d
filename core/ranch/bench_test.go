package ranch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// BenchmarkAcquireRelease measures one acquire + release cycle against pools
// of growing size: the cost must not grow with the pool.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, pool := range []int{100, 10000, 100000} {
		b.Run(fmt.Sprintf("pool=%d", pool), func(b *testing.B) {
			benchAcquireRelease(b, memstore.New(), pool)
		})
	}
}

// benchAcquireRelease fills s with pool free resources of one type (through
// SyncConfig) and then times acquire + release cycles. Other backends'
// benchmarks call it with their store.
func benchAcquireRelease(b *testing.B, s store.Store, pool int) {
	ctx := context.Background()
	r := New(s, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	names := make([]string, pool)
	for i := range names {
		names[i] = fmt.Sprintf("res-%06d", i)
	}
	cfg := &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "bench", Names: names}}}
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
}
