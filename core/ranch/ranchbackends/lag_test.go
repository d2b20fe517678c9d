package ranchbackends_test

import (
	"context"
	"fmt"
	"strings"
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

// queueNS is the namespace of the request queue's items (core/ranch's
// storage encoding): the entries "queue/<type>\x1f<state>\x1f<id>" and
// the queue item "queue/<type>\x1f<state>".
const queueNS = "queue/"

// laggingIndex is a store whose index lags on purpose, as DynamoDB's global
// secondary index may: after freeze, Query shows the request queue's items
// as they were at freeze (an item written since is missing, one changed
// since shows its old version); resources, and every other read (Get,
// BatchGet, List), are current, as the store contract requires.
//
// blind turns it into the store the queue had before it had a strongly
// consistent item (a test of the test): List shows the queue as lagging
// as Query does, and the conditions on the queue items (checks, and those
// of writes to a queue item) are dropped from transactions, so that
// nothing consistent is left to see a hidden waiter by.
type laggingIndex struct {
	store.Store
	blind bool

	mu     sync.Mutex
	frozen map[string]store.Item // the queue items at freeze; nil before
}

func (s *laggingIndex) freeze(t *testing.T) {
	t.Helper()
	snap := map[string]store.Item{}
	cursor := ""
	for {
		page, err := s.Store.List(context.Background(), queueNS, cursor, 0)
		require.NoError(t, err)
		for _, it := range page.Items {
			snap[it.Key] = it
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	s.mu.Lock()
	s.frozen = snap
	s.mu.Unlock()
}

// lag replaces the queue items of p by their frozen versions.
func (s *laggingIndex) lag(p store.Page) store.Page {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frozen == nil {
		return p
	}
	out := make([]store.Item, 0, len(p.Items))
	for _, it := range p.Items {
		if strings.HasPrefix(it.Key, queueNS) {
			old, ok := s.frozen[it.Key]
			if !ok {
				continue
			}
			it = old.Clone()
		}
		out = append(out, it)
	}
	p.Items = out
	return p
}

func (s *laggingIndex) Query(ctx context.Context, q store.Query) (store.Page, error) {
	p, err := s.Store.Query(ctx, q)
	if err != nil {
		return p, err
	}
	return s.lag(p), nil
}

func (s *laggingIndex) List(ctx context.Context, prefix, cursor string, limit int) (store.Page, error) {
	p, err := s.Store.List(ctx, prefix, cursor, limit)
	if err != nil || !s.blind {
		return p, err
	}
	return s.lag(p), nil
}

// isQueueItem reports whether key is a (type, state) queue item, not an
// entry: one separator after the namespace instead of two.
func isQueueItem(key string) bool {
	return strings.HasPrefix(key, queueNS) && strings.Count(key, "\x1f") == 1
}

func (s *laggingIndex) Transact(ctx context.Context, ops []store.Op) error {
	if !s.blind {
		return s.Store.Transact(ctx, ops)
	}
	var kept []store.Op
	for _, o := range ops {
		switch {
		case o.Check != nil && strings.HasPrefix(o.Check.Key, queueNS):
			continue
		case o.Update != nil && isQueueItem(o.Update.Key):
			u := *o.Update
			u.Cond = nil
			o = store.Op{Update: &u}
		}
		kept = append(kept, o)
	}
	if len(kept) == 1 && kept[0].Update != nil {
		_, err := s.Store.Update(ctx, *kept[0].Update)
		if err != nil {
			return &store.TxError{Index: 0, Err: err}
		}
		return nil
	}
	return s.Store.Transact(ctx, kept)
}

// TestQueueWithLaggingIndex is the open part of issue 9's first finding:
// DynamoDB's index is eventually consistent, so a request_id that was
// refused (and queued) a moment ago may be missing from another caller's
// index read, and that caller, ranking itself ahead of it, would take the
// last free resource. With the strongly consistent queue item that every
// lease checks, the caller hears 404 and the waiters are served in order;
// on the blind store (no consistent queue item to check: the situation
// before the fix) the same script jumps the queue, which shows the lag
// really hides the waiter. The control cases: a request_id hidden even
// from itself still gets its turn, and a caller with nobody waiting still
// pays one index query and one write.
func TestQueueWithLaggingIndex(t *testing.T) {
	tests := []struct {
		name    string
		visible []string // request_ids queued before the index freezes, in order
		hidden  []string // request_ids queued after it, in order (the index misses them)
		free    int      // resources freed then (r1, r2, ...)
		id      string   // the acquirer's request_id ("" = anonymous)
		jump    bool     // the acquirer is ranked behind free or more waiters: granting it jumps the queue
		counts  map[string]int
	}{
		{name: "anonymous behind a hidden request_id", hidden: []string{"A"}, free: 1, jump: true},
		{name: "request_id behind a hidden one, itself hidden", hidden: []string{"A", "C"}, free: 1, id: "C", jump: true},
		{name: "anonymous behind a visible and a hidden request_id", visible: []string{"A"}, hidden: []string{"B"}, free: 2, jump: true},
		{name: "request_id behind a visible and a hidden one", visible: []string{"A"}, hidden: []string{"B", "C"}, free: 2, id: "C", jump: true},
		{name: "a hidden request_id at the head gets its turn", hidden: []string{"A"}, free: 1, id: "A"},
		{name: "nobody waits", free: 1, counts: map[string]int{"Query": 1, "Transact": 1}},
	}
	for _, b := range backends {
		for _, tc := range tests {
			for _, blind := range []bool{false, true} {
				if blind && !tc.jump {
					continue
				}
				name := b.Name + "/" + tc.name
				if blind {
					name += "/blind"
				}
				t.Run(name, func(t *testing.T) {
					ctx := context.Background()
					lagging := &laggingIndex{Store: b.Open(t), blind: blind}
					counted := faultstore.New(lagging)
					c := testkit.NewClock()
					r := ranch.New(counted, ranch.Options{Now: c.Now, Logger: testkit.Quiet()})
					names := []string{"r1", "r2"}
					require.NoError(t, r.SyncConfig(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{
						{Type: "t", State: boskos.Free, Names: names}}}))
					for range names {
						_, err := r.Acquire(ctx, "t", "free", "busy", "x", "")
						require.NoError(t, err)
					}
					poll := func(id string) (boskos.Resource, error) {
						c.Add(time.Second)
						return r.Acquire(ctx, "t", "free", "busy", "o-"+id, id)
					}
					refused := func(id string) {
						t.Helper()
						_, err := poll(id)
						requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
					}
					for _, id := range tc.visible {
						refused(id)
					}
					lagging.freeze(t)
					for _, id := range tc.hidden {
						refused(id)
					}
					for _, n := range names[:tc.free] {
						c.Add(time.Second)
						require.NoError(t, r.Release(ctx, n, "free", "x", nil))
					}

					counted.ResetCounts()
					got, err := poll(tc.id)
					switch {
					case blind:
						require.NoError(t, err, "without a consistent queue item the lag makes the caller jump the queue")
						return
					case tc.jump:
						requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
					default:
						require.NoError(t, err)
						if tc.counts != nil {
							assert.Equal(t, tc.counts, counted.Counts(), "requests of the acquire")
						}
					}

					// The waiters are served in order, the lag notwithstanding.
					served := map[string]bool{}
					if err == nil {
						served[got.Name] = true
					}
					for _, id := range append(append([]string(nil), tc.visible...), tc.hidden...) {
						if len(served) == tc.free {
							break
						}
						if id == tc.id && err == nil {
							continue
						}
						got, err := poll(id)
						require.NoError(t, err, "waiter %s, in turn", id)
						assert.False(t, served[got.Name], "%s granted twice", got.Name)
						served[got.Name] = true
					}
					assert.Len(t, served, tc.free, fmt.Sprintf("every freed resource went to the queue: %v", served))
				})
			}
		}
	}
}
