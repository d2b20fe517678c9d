package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// BenchmarkResourceHistoryHTTP measures GET /v1/resources/hot/history (the
// first page, 100 records, through the handler and its JSON) with 10,000
// records of that resource (5,000 acquire and release cycles, made through
// the ranch with the history hook), on memory and on bolt, and reports the
// p50 and p99 of the requests.
func BenchmarkResourceHistoryHTTP(b *testing.B) {
	ctx := context.Background()
	for _, st := range []struct {
		name string
		open func(b *testing.B, hook store.WriteHook) store.Store
	}{
		{"memory", func(_ *testing.B, hook store.WriteHook) store.Store {
			return memstore.NewWithOptions(memstore.Options{OnWrite: hook})
		}},
		{"bolt", func(b *testing.B, hook store.WriteHook) store.Store {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), boltstore.Options{OnWrite: hook, NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
	} {
		b.Run("store="+st.name, func(b *testing.B) {
			c := testkit.NewClock()
			r := ranch.New(st.open(b, ranch.HistoryHook(ranch.HistoryOptions{Now: c.Now})), ranch.Options{Now: c.Now, Logger: testkit.Quiet()})
			if err := r.SyncConfig(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "t", Names: []string{"hot"}}}}); err != nil {
				b.Fatal(err)
			}
			for range 5000 {
				c.Add(time.Second)
				res, err := r.Acquire(ctx, "t", boskos.Free, boskos.Busy, "o", "")
				if err != nil {
					b.Fatal(err)
				}
				c.Add(time.Second)
				if err := r.Release(ctx, res.Name, boskos.Free, "o", nil); err != nil {
					b.Fatal(err)
				}
			}
			h := httpapi.New(r, httpapi.Options{Logger: testkit.Quiet()})
			d := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rr := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/v1/resources/hot/history", nil))
				d = append(d, time.Since(start))
				if rr.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rr.Code, rr.Body)
				}
			}
			b.StopTimer()
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
		})
	}
}
