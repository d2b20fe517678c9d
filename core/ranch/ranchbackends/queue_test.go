package ranchbackends_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// afterFirstQuery runs hook once, right after the first index query of its
// store returned: between an acquire's read of the queue and its write,
// which is where another process can get in.
type afterFirstQuery struct {
	store.Store
	once sync.Once
	hook func()
}

func (s *afterFirstQuery) Query(ctx context.Context, q store.Query) (store.Page, error) {
	p, err := s.Store.Query(ctx, q)
	s.once.Do(s.hook)
	return p, err
}

// TestQueueOrderAtTheWrite is finding 1 of issue 9, reproduced on every
// backend with two Ranches (two processes) on one store: while request_id
// A waits, r1 and r2 become free; process 2's acquirer reads the queue
// (A ahead of it, so r1 is A's and r2 its own), and before it writes,
// process 1 takes r1 by name (/acquirebystate, which no queue binds). The
// acquirer's rank no longer holds: taking r2, the last free resource, would
// jump A. The write must fail and the acquirer hear 404; A then gets r2.
// The control case takes r1 while nobody waits: the acquirer still gets
// r2, with one write per candidate and no extra read (the uncontended
// cost).
func TestQueueOrderAtTheWrite(t *testing.T) {
	tests := []struct {
		name    string
		waiting []string // request_ids queued before r1 and r2 are freed, in order
		id      string   // the acquirer's request_id ("" = anonymous)
		want    string   // "" = 404; else the resource it gets
		counts  map[string]int
	}{
		{name: "anonymous behind a waiting request_id", waiting: []string{"A"}, id: "", want: ""},
		{name: "request_id ranked behind a waiting one", waiting: []string{"A", "B"}, id: "B", want: ""},
		// r1 was the first candidate: one failed conditional write, then r2;
		// each write is one transaction of the lease and the check that
		// nobody waits (the queue item), no extra read.
		{name: "nobody waits", id: "", want: "r2", counts: map[string]int{"Transact": 2}},
	}
	for _, b := range backends {
		for _, tc := range tests {
			t.Run(b.Name+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				s := b.Open(t)
				c := testkit.NewClock()
				quiet := testkit.Quiet()
				p1 := ranch.New(s, ranch.Options{Now: c.Now, Logger: quiet})
				require.NoError(t, p1.SyncConfig(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{
					{Type: "t", State: boskos.Free, Names: []string{"r1", "r2"}}}}))
				for range 2 {
					_, err := p1.Acquire(ctx, "t", "free", "busy", "x", "")
					require.NoError(t, err)
				}
				for _, id := range tc.waiting {
					c.Add(time.Second)
					_, err := p1.Acquire(ctx, "t", "free", "busy", "o-"+id, id)
					requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
				}
				for _, n := range []string{"r1", "r2"} {
					c.Add(time.Second)
					require.NoError(t, p1.Release(ctx, n, "free", "x", nil))
				}
				counted := faultstore.New(s)
				hooked := &afterFirstQuery{Store: counted, hook: func() {
					_, err := p1.AcquireByState(ctx, "free", "busy", "intruder", []string{"r1"})
					require.NoError(t, err)
					counted.ResetCounts()
				}}
				p2 := ranch.New(hooked, ranch.Options{Now: c.Now, Logger: quiet})
				c.Add(time.Second)
				got, err := p2.Acquire(ctx, "t", "free", "busy", "o-"+tc.id, tc.id)
				if tc.want == "" {
					requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
					head := tc.waiting[0]
					got, err = p1.Acquire(ctx, "t", "free", "busy", "o-"+head, head)
					require.NoError(t, err, "the head of the queue is served")
					assert.Equal(t, "r2", got.Name)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tc.want, got.Name)
				assert.Equal(t, tc.counts, counted.Counts(), "requests after the index read")
			})
		}
	}
}
