package ranch

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// hist is a compact history record of type t for seeding: event, time
// held, and how long before t0 it happened.
type hist struct {
	event string
	held  time.Duration
	ago   time.Duration
}

func release(held, ago time.Duration) hist { return hist{boskos.EventRelease, held, ago} }

// seeded names the seeded records' resources, one each.
var seeded atomic.Int64

// seedHistory writes records of type t straight into the memstore, as a
// history feed would have: each under its own resource name.
func (e *env) seedHistory(hs ...hist) {
	e.t.Helper()
	for i, h := range hs {
		rec := boskos.HistoryRecord{Name: fmt.Sprintf("h-%d", seeded.Add(1)), Type: "t", Version: 2, Time: t0.Add(-h.ago),
			Event: h.event, PrevOwner: "x", HeldSeconds: h.held.Seconds()}
		it, err := historyItem(rec, 0, DefaultHistoryRetention)
		require.NoError(e.t, err)
		_, err = e.mem.Create(e.ctx, it)
		require.NoError(e.t, err, "seed history %d", i)
	}
}

// seedQueueStats gives the (t, free) queue item service statistics: served
// grants to waiting request_ids, svc apart on average.
func (e *env) seedQueueStats(served int64, svc time.Duration) {
	e.t.Helper()
	_, err := e.mem.Update(e.ctx, store.Update{Key: queueItemKey("t", "free"), Upsert: true,
		Set: map[string]string{attrType: "t", attrState: "free",
			store.IndexPartition: "t", store.IndexSort: queueItemSort("free")},
		SetNum: map[string]int64{attrSvc: int64(svc), attrServed: served, attrLastServe: t0.Add(-time.Minute).UnixNano()}})
	require.NoError(e.t, err)
}

// busy seeds n resources of type t, all leased.
func busy(n int) []res {
	out := make([]res, n)
	for i := range out {
		out[i] = res{name: fmt.Sprintf("r-%d", i), rtype: "t", state: "busy", owner: "x"}
	}
	return out
}

// TestEstimatedWait: the wait a refused request_id is told, from the
// type's recent hold times where history allows (position × mean hold /
// resources), else from the queue's own service, else none.
func TestEstimatedWait(t *testing.T) {
	many := func(n int, held, from time.Duration) []hist {
		out := make([]hist, n)
		for i := range out {
			out[i] = release(held, from+time.Duration(i)*time.Minute)
		}
		return out
	}
	tests := []struct {
		name      string
		resources int
		history   []hist
		served    int64         // queue statistics: grants to waiting request_ids
		svc       time.Duration // and their mean interval
		ahead     int           // request_ids queued before the caller
		want      time.Duration // 0: no estimate
	}{
		// Mean hold 80s over 4 resources: 20s for the first in line. The
		// queue's own service (3s per grant) would say 3s.
		{name: "history over the queue's service", resources: 4, served: 5, svc: 3 * time.Second,
			history: []hist{release(40*time.Second, time.Minute), release(80*time.Second, 2*time.Minute), release(120*time.Second, 3*time.Minute)},
			want:    20 * time.Second},
		{name: "third in line waits for three", resources: 4, ahead: 2,
			history: []hist{release(40*time.Second, time.Minute), release(80*time.Second, 2*time.Minute), release(120*time.Second, 3*time.Minute)},
			want:    60 * time.Second},
		{name: "not a whole second: the transport rounds up", resources: 3,
			history: []hist{release(10*time.Second, time.Minute)}, want: 10 * time.Second / 3},
		// 20 recent releases of 10s, then 5 older ones of 1000s: only the
		// last holdSamples count.
		{name: "the last K lease ends", resources: 2,
			history: append(many(holdSamples, 10*time.Second, time.Minute), many(5, 1000*time.Second, time.Hour)...),
			want:    5 * time.Second},
		{name: "resets are lease ends", resources: 1,
			history: []hist{{boskos.EventReset, time.Hour, time.Minute}, release(time.Hour/2, 2*time.Minute)},
			want:    45 * time.Minute},
		// The janitor's claims, acquires, user data updates and lease
		// ends without a time held are not hold times: only the 60s one.
		{name: "other records are not lease ends", resources: 2,
			history: []hist{{boskos.EventClean, time.Second, time.Minute}, {boskos.EventFail, time.Second, time.Minute},
				{boskos.EventAcquire, 0, time.Minute}, {boskos.EventUpdate, 0, time.Minute}, release(0, time.Minute),
				{boskos.EventMasonFree, time.Second, time.Minute}, release(60*time.Second, 2*time.Minute)},
			want: 30 * time.Second},
		{name: "releases older than the window: the queue's service", resources: 2, served: 2, svc: 7 * time.Second,
			history: []hist{release(60*time.Second, holdWindow+time.Minute)}, want: 7 * time.Second},
		{name: "no history: the queue's service", resources: 2, served: 2, svc: 7 * time.Second, ahead: 1,
			want: 14 * time.Second},
		{name: "only lease ends that say nothing: the queue's service", resources: 2, served: 3, svc: 7 * time.Second,
			history: []hist{{boskos.EventClean, time.Second, time.Minute}}, want: 7 * time.Second},
		{name: "neither: no estimate", resources: 2},
		{name: "no history, one grant: no estimate", resources: 2, served: 1, svc: 7 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				e.seed(busy(tc.resources)...)
				e.seedHistory(tc.history...)
				if tc.served > 0 {
					e.seedQueueStats(tc.served, tc.svc)
				}
				for i := range tc.ahead {
					_, err := e.acquireAs(e.r, "t", "o", fmt.Sprintf("ahead-%d", i))
					requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
				}
				_, err := e.acquireAs(e.r, "t", "o", "me")
				requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
				p, ok := boskos.QueueOf(err)
				require.True(t, ok, "a queue place")
				assert.Equal(t, tc.ahead+1, p.Position)
				assert.Equal(t, tc.want, p.EstimatedWait, "got %v, want %v", p.EstimatedWait, tc.want)
			})
		})
	}
}

// countingStore counts an inner store's reads of the history and of the
// type counters. With gate set, the first history query waits until gate
// is closed; with queued set, it is closed once wantTx transactions
// succeeded (the refusals' enqueues, right before they ask for the hold
// figure).
type countingStore struct {
	store.Store
	historyQueries atomic.Int64
	counterGets    atomic.Int64
	gate           chan struct{}
	queued         chan struct{}
	wantTx         int64
	tx             atomic.Int64
}

func (s *countingStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if strings.HasPrefix(q.Partition, historyPartition) {
		if s.historyQueries.Add(1) == 1 && s.gate != nil {
			<-s.gate
		}
	}
	return s.Store.Query(ctx, q)
}

func (s *countingStore) Transact(ctx context.Context, ops []store.Op) error {
	err := s.Store.Transact(ctx, ops)
	if err == nil && s.queued != nil && s.tx.Add(1) == s.wantTx {
		close(s.queued)
	}
	return err
}

func (s *countingStore) Get(ctx context.Context, key string) (store.Item, error) {
	if strings.HasPrefix(key, typeCountPrefix) {
		s.counterGets.Add(1)
	}
	return s.Store.Get(ctx, key)
}

// TestHoldCacheTTL: a type's hold figure is read once per HoldCacheTTL,
// by the refusal that finds it stale; the refusals in between and every
// grant read nothing more than before.
func TestHoldCacheTTL(t *testing.T) {
	e := newEnv(t, Options{})
	cs := &countingStore{Store: e.fs}
	r := New(cs, Options{Now: e.clock.Now, Logger: e.r.log})
	e.seed(busy(2)...)
	e.seedHistory(release(40*time.Second, time.Minute))
	poll := func(id string) boskos.QueuePlace {
		t.Helper()
		_, err := r.Acquire(e.ctx, "t", "free", "busy", "o", id)
		requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
		p, _ := boskos.QueueOf(err)
		return p
	}
	type step struct {
		name     string
		advance  time.Duration
		history  []hist // seeded before the poll
		wait     time.Duration
		queries  int64 // history queries so far
		counters int64 // counter reads by the fills so far (miss reads one per poll besides)
	}
	steps := []step{
		{name: "the first refusal reads the figure", wait: 20 * time.Second, queries: 1, counters: 1},
		// A release of 120s arrives: the cached figure still says 40s.
		{name: "within the TTL: cached", advance: time.Second, history: []hist{release(120*time.Second, 0)},
			wait: 20 * time.Second, queries: 1, counters: 1},
		{name: "just before the TTL: cached", advance: DefaultHoldCacheTTL - 2*time.Second, wait: 20 * time.Second, queries: 1, counters: 1},
		{name: "at the TTL: read again", advance: time.Second, wait: 40 * time.Second, queries: 2, counters: 2},
		{name: "cached again", advance: time.Second, wait: 40 * time.Second, queries: 2, counters: 2},
	}
	polls := int64(0)
	for _, s := range steps {
		e.clock.Add(s.advance)
		e.seedHistory(s.history...)
		p := poll("A")
		polls++
		assert.Equal(t, s.wait, p.EstimatedWait, "%s: estimated wait", s.name)
		assert.Equal(t, s.queries, cs.historyQueries.Load(), "%s: history queries", s.name)
		assert.Equal(t, polls+s.counters, cs.counterGets.Load(), "%s: counter reads", s.name)
	}

	// A grant's path reads neither, even with the figure stale.
	e.clock.Add(DefaultHoldCacheTTL)
	require.NoError(t, r.Release(e.ctx, "r-0", "free", "x", nil))
	q, g := cs.historyQueries.Load(), cs.counterGets.Load()
	_, err := r.Acquire(e.ctx, "t", "free", "busy", "o", "A")
	require.NoError(t, err, "A served")
	require.NoError(t, r.Release(e.ctx, "r-0", "free", "o", nil))
	_, err = r.Acquire(e.ctx, "t", "free", "busy", "o", "")
	require.NoError(t, err, "an anonymous grant")
	assert.Equal(t, q, cs.historyQueries.Load(), "a grant reads no history")
	assert.Equal(t, g, cs.counterGets.Load(), "a grant reads no counter")
}

// TestHoldCacheConcurrent: concurrent refusals of one type with a stale
// figure make one read of it, and all tell the estimate it gives. The
// first read is held until every poller has queued (and so is at, or
// right before, its own ask for the figure).
func TestHoldCacheConcurrent(t *testing.T) {
	const pollers = 4
	e := newEnv(t, Options{})
	cs := &countingStore{Store: e.fs, gate: make(chan struct{}), queued: make(chan struct{}), wantTx: pollers}
	r := New(cs, Options{Now: e.clock.Now, Logger: e.r.log, AcquireConcurrency: pollers})
	e.seed(busy(2)...)
	e.seedHistory(release(40*time.Second, time.Minute))
	var wg sync.WaitGroup
	places := make([]boskos.QueuePlace, pollers)
	for i := range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Acquire(e.ctx, "t", "free", "busy", "o", fmt.Sprintf("p-%d", i))
			places[i], _ = boskos.QueueOf(err)
		}()
	}
	// The first fill waits on the gate; the others wait for it, not for a
	// read of their own.
	<-cs.queued
	close(cs.gate)
	wg.Wait()
	assert.Equal(t, int64(1), cs.historyQueries.Load(), "history queries")
	for i, p := range places {
		if assert.Positive(t, p.Position, "poller %d: a queue place", i) {
			assert.Equal(t, time.Duration(p.Position)*20*time.Second, p.EstimatedWait, "poller %d: estimated wait", i)
		}
	}
}

// TestHoldFigureReadFails: a failed read of the history is no failed
// refusal: the queue's own estimate (or none) applies, and the store is
// not read again before the TTL.
func TestHoldFigureReadFails(t *testing.T) {
	e := newEnv(t, Options{})
	fs := &failingHistory{Store: e.fs}
	r := New(fs, Options{Now: e.clock.Now, Logger: e.r.log})
	e.seed(busy(2)...)
	e.seedHistory(release(40*time.Second, time.Minute))
	e.seedQueueStats(2, 7*time.Second)
	for i := range 3 {
		e.clock.Add(time.Second)
		_, err := r.Acquire(e.ctx, "t", "free", "busy", "o", "A")
		requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
		p, _ := boskos.QueueOf(err)
		assert.Equal(t, 7*time.Second, p.EstimatedWait, "poll %d: the queue's service", i)
	}
	assert.Equal(t, int64(1), fs.tries.Load(), "one failed read per TTL")
}

// failingHistory fails every query of the history.
type failingHistory struct {
	store.Store
	tries atomic.Int64
}

func (s *failingHistory) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if strings.HasPrefix(q.Partition, historyPartition) {
		s.tries.Add(1)
		return store.Page{}, fmt.Errorf("history unavailable")
	}
	return s.Store.Query(ctx, q)
}
