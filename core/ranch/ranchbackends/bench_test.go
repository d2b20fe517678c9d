package ranchbackends_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// contentionStores open one fresh store as two processes see it: one bolt
// file, or two clients of one DynamoDB Local table.
var contentionStores = []struct {
	name string
	open func(b *testing.B) (store.Store, store.Store)
}{
	{"bolt", func(b *testing.B) (store.Store, store.Store) {
		s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s, s
	}},
	{"dynamodb", func(b *testing.B) (store.Store, store.Store) {
		c1, table := dynamotest.NewTable(b)
		c2 := dynamotest.Client(b)
		return dynamostore.New(c1, table, dynamostore.Options{}), dynamostore.New(c2, table, dynamostore.Options{})
	}},
}

// BenchmarkQueueContention measures acquire → release cycles under
// contention for a small pool, with a queue: two Ranches (two processes)
// on one store, 16 clients on 4 resources, half of them polling with a
// request_id (a new one per lease, every millisecond until granted), half
// without; each lease is held for a millisecond. b.N is the number of
// grants. It reports cycles/s, the store requests per grant and the
// transactions per grant, on the embedded bolt store (one file, fsync'ed
// commits) and on DynamoDB Local (two clients of one table).
func BenchmarkQueueContention(b *testing.B) {
	for _, st := range contentionStores {
		b.Run("store="+st.name, func(b *testing.B) {
			s1, s2 := st.open(b)
			benchQueueContention(b, s1, s2)
		})
	}
}

// BenchmarkAcquireRelease measures uncontended acquire → release cycles of
// one client (nobody waits: the acquire's write is the lease and the check
// of the queue item) on bolt and on DynamoDB Local.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, st := range contentionStores {
		b.Run("store="+st.name, func(b *testing.B) {
			s, _ := st.open(b)
			ctx := context.Background()
			r := ranch.New(s, ranch.Options{Logger: testkit.Quiet()})
			if err := r.SyncConfig(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{
				{Type: "t", State: boskos.Free, Names: []string{"r0", "r1", "r2", "r3"}}}}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				res, err := r.Acquire(ctx, "t", boskos.Free, boskos.Busy, "o", "")
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Release(ctx, res.Name, boskos.Free, "o", nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
		})
	}
}

func benchQueueContention(b *testing.B, s1, s2 store.Store) {
	const (
		clients = 16
		pool    = 4
		hold    = time.Millisecond
		poll    = time.Millisecond
	)
	ctx := context.Background()
	c1, c2 := faultstore.New(s1), faultstore.New(s2)
	opts := ranch.Options{Logger: testkit.Quiet(), SpreadWindow: ranch.DefaultSpreadWindow}
	ranches := []*ranch.Ranch{ranch.New(c1, opts), ranch.New(c2, opts)}
	names := make([]string, pool)
	for i := range names {
		names[i] = fmt.Sprintf("r%d", i)
	}
	if err := ranches[0].SyncConfig(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{
		{Type: "t", State: boskos.Free, Names: names}}}); err != nil {
		b.Fatal(err)
	}
	c1.ResetCounts()
	c2.ResetCounts()
	var grants, refusals atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := ranches[i%2]
			owner := fmt.Sprintf("c%d", i)
			for n := 0; ; n++ {
				if grants.Load() >= int64(b.N) {
					return
				}
				id := ""
				if (i/2)%2 == 0 {
					id = fmt.Sprintf("%s-%d", owner, n)
				}
				var res boskos.Resource
				for {
					var err error
					res, err = r.Acquire(ctx, "t", boskos.Free, boskos.Busy, owner, id)
					if err == nil {
						break
					}
					if boskos.ErrorCode(err) != boskos.ENotFound {
						failed.Store(err)
						return
					}
					refusals.Add(1)
					if grants.Load() >= int64(b.N) {
						return
					}
					time.Sleep(poll)
				}
				grants.Add(1)
				time.Sleep(hold)
				if err := r.Release(ctx, res.Name, boskos.Free, owner, nil); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	g := float64(grants.Load())
	total := 0
	byOp := map[string]int{}
	for _, c := range []*faultstore.Store{c1, c2} {
		for op, n := range c.Counts() {
			total += n
			byOp[op] += n
		}
	}
	b.ReportMetric(g/b.Elapsed().Seconds(), "cycles/s")
	b.ReportMetric(float64(total)/g, "requests/grant")
	for _, op := range []string{faultstore.Query, faultstore.List, faultstore.Transact, faultstore.Update, faultstore.Get} {
		b.ReportMetric(float64(byOp[op])/g, op+"s/grant")
	}
	b.ReportMetric(float64(refusals.Load())/g, "404s/grant")
}
