package ranch

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// historyStores open the embedded stores with the history hook or without.
var historyStores = []struct {
	name string
	open func(b *testing.B, hook store.WriteHook) store.Store
}{
	{"memory", func(_ *testing.B, hook store.WriteHook) store.Store {
		return memstore.NewWithOptions(memstore.Options{OnWrite: hook})
	}},
	{"bolt", func(b *testing.B, hook store.WriteHook) store.Store {
		s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), boltstore.Options{OnWrite: hook})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	}},
}

// BenchmarkAcquireReleaseHistory measures one acquire + release cycle on
// the embedded stores with the lease history on (two records, in the
// transactions of the two writes) and off.
func BenchmarkAcquireReleaseHistory(b *testing.B) {
	for _, st := range historyStores {
		for _, on := range []bool{false, true} {
			name := fmt.Sprintf("store=%s/history=%v", st.name, on)
			b.Run(name, func(b *testing.B) {
				var hook store.WriteHook
				if on {
					hook = HistoryHook(HistoryOptions{})
				}
				benchAcquireRelease(b, st.open(b, hook), 1000, nil)
			})
		}
	}
}

// BenchmarkResourceHistory measures the first page (100 records) of one
// resource's history among 10,000 records of it, on bolt (the default
// store), and reports the p50 and p99 of the calls.
func BenchmarkResourceHistory(b *testing.B) {
	ctx := context.Background()
	for _, st := range historyStores {
		b.Run("store="+st.name, func(b *testing.B) {
			s := st.open(b, nil)
			r := New(s, Options{})
			seedHistory(b, s, "hot", 10000)
			d := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				p, err := r.ResourceHistory(ctx, "hot", 0, "")
				if err != nil || len(p.Items) != boskos.DefaultPageLimit || p.Cursor == "" {
					b.Fatalf("page of %d, cursor %q: %v", len(p.Items), p.Cursor, err)
				}
				d = append(d, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// seedHistory writes n records of the resource name (alternating acquires
// and releases), 100 per transaction.
func seedHistory(tb testing.TB, s store.Store, name string, n int) {
	tb.Helper()
	ctx := context.Background()
	t0 := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	var ops []store.Op
	for v := 1; v <= n; v++ {
		rec := boskos.HistoryRecord{Name: name, Type: "bench", Version: int64(v), Time: t0.Add(time.Duration(v) * time.Second),
			Event: boskos.EventAcquire, FromState: "free", ToState: "busy", Owner: "o", Epoch: int64(v / 2), RequestID: "rid"}
		if v%2 == 0 {
			rec.Event, rec.FromState, rec.ToState, rec.Owner, rec.PrevOwner, rec.HeldSeconds = boskos.EventRelease, "busy", "free", "", "o", 1
		}
		it, err := historyItem(rec, 1, DefaultHistoryRetention)
		if err != nil {
			tb.Fatal(err)
		}
		ops = append(ops, store.Op{Create: &it})
		if len(ops) == store.MaxTransactItems || v == n {
			if err := s.Transact(ctx, ops); err != nil {
				tb.Fatal(err)
			}
			ops = nil
		}
	}
}

// BenchmarkHistoryOverhead alternates chunks of acquire + release cycles
// on two stores of one kind, one with the history hook and one without,
// so that the shared machine's load drifts through both alike, and reports
// each one's cycles/s and their ratio (history on / off).
func BenchmarkHistoryOverhead(b *testing.B) {
	ctx := context.Background()
	for _, st := range historyStores {
		b.Run("store="+st.name, func(b *testing.B) {
			rs := [2]*Ranch{}
			for i, hook := range []store.WriteHook{nil, HistoryHook(HistoryOptions{})} {
				r := New(st.open(b, hook), Options{Logger: slog.New(slog.DiscardHandler)})
				names := make([]string, 1000)
				for j := range names {
					names[j] = fmt.Sprintf("res-%06d", j)
				}
				if err := r.SyncConfig(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "bench", Names: names}}}); err != nil {
					b.Fatal(err)
				}
				rs[i] = r
			}
			const chunk = 50
			var spent [2]time.Duration
			var cycles [2]int
			b.ResetTimer()
			for n := 0; n < b.N; {
				for i, r := range rs {
					start := time.Now()
					for k := 0; k < chunk && n < b.N; k++ {
						res, err := r.Acquire(ctx, "bench", "free", "busy", "bencher", "")
						if err != nil {
							b.Fatal(err)
						}
						if err := r.Release(ctx, res.Name, "free", "bencher", nil); err != nil {
							b.Fatal(err)
						}
						cycles[i]++
						if i == 1 {
							n++
						}
					}
					spent[i] += time.Since(start)
				}
			}
			off := float64(cycles[0]) / spent[0].Seconds()
			on := float64(cycles[1]) / spent[1].Seconds()
			b.ReportMetric(off, "off-cycles/s")
			b.ReportMetric(on, "on-cycles/s")
			b.ReportMetric(on/off, "on/off")
		})
	}
}
