package ranch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// queueItemOf reads the (t, free) queue item, which must exist.
func queueItemOf(t *testing.T, e *env) queueHead {
	t.Helper()
	it, err := e.mem.Get(e.ctx, queueItemKey("t", "free"))
	require.NoError(t, err, "queue item")
	return toQueueHead(it)
}

// TestQueueItemWrites: what each kind of poll writes to the queue item. A
// new id joins (gen changes, lastjoin is its created, until its expiry);
// a renewal of a live entry only moves until; an id renewed after its
// expiry rejoins (gen and rejoin change); a poll refused for its quota
// writes the entry alone.
func TestQueueItemWrites(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "r", rtype: "t", state: "free", owner: "x"})
		poll := func(id string) {
			t.Helper()
			_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", id)
			requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
		}
		poll("A")
		h1 := queueItemOf(t, e)
		assert.NotEmpty(t, h1.gen)
		assert.Equal(t, t0.UnixNano(), h1.lastJoin, "lastjoin is A's created")
		assert.Equal(t, t0.Add(DefaultRequestTTL).UnixNano(), h1.until, "until is A's expiry")

		e.clock.Add(time.Second)
		poll("A")
		h2 := queueItemOf(t, e)
		assert.Equal(t, h1.gen, h2.gen, "a live entry renewed: no join")
		assert.Equal(t, h1.rejoin, h2.rejoin)
		assert.Equal(t, t0.Add(time.Second+DefaultRequestTTL).UnixNano(), h2.until, "until follows the renewal")

		e.clock.Add(time.Second)
		poll("B")
		h3 := queueItemOf(t, e)
		assert.NotEqual(t, h2.gen, h3.gen, "a new entry joins")
		assert.Equal(t, h2.rejoin, h3.rejoin, "at the tail: no rejoin")
		assert.Equal(t, t0.Add(2*time.Second).UnixNano(), h3.lastJoin)

		e.clock.Add(DefaultRequestTTL + time.Second) // A expired, within the grace
		poll("A")
		h4 := queueItemOf(t, e)
		assert.NotEqual(t, h3.gen, h4.gen, "A counts again")
		assert.NotEqual(t, h3.rejoin, h4.rejoin, "at its old place")
		assert.Equal(t, t0, queueEntryOf(t, e, "A").created, "A kept its place")
		assert.Equal(t, h3.lastJoin, h4.lastJoin)
	})
}

// TestQueueItemBlockedPoll: a request_id refused for its quota writes its
// entry only; its next poll with room counts again at its place.
func TestQueueItemBlockedPoll(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		require.NoError(t, e.r.SyncConfig(e.ctx, quotaConfig(quota("ci-a", "t", 1))))
		_, err := e.acquireAs(e.r, "t", "ci-a", "")
		require.NoError(t, err)
		_, err = e.acquireAs(e.r, "t", "ci-a", "A")
		requireErr(t, err, boskos.EOverQuota, overQuota("ci-a", "t", "ci-a", 1))
		_, err = e.mem.Get(e.ctx, queueItemKey("t", "free"))
		require.ErrorIs(t, err, store.ErrNotFound, "a blocked entry counts for nobody: no queue item")
		assert.True(t, queueEntryOf(t, e, "A").blocked)
	})
}

// TestQueueItemLowered: the lease that serves the last waiting request_id
// lowers until, so that the next anonymous acquire passes the check of the
// queue item without reading the queue; it records the service interval.
func TestQueueItemLowered(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "r", rtype: "t", state: "free", owner: "x"}, res{name: "s", rtype: "t", state: "free", owner: "x"})
		_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "A")
		require.Error(t, err)
		require.NoError(t, e.r.Release(e.ctx, "r", "free", "x", nil))
		e.clock.Add(3 * time.Second)
		_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "o", "A")
		require.NoError(t, err)
		h := queueItemOf(t, e)
		assert.Less(t, h.until, e.clock.Now().UnixNano(), "until lowered: nobody waits")
		assert.Equal(t, int64(1), h.served)
		assert.Equal(t, 3*time.Second, h.svc, "A waited 3s")

		require.NoError(t, e.r.Release(e.ctx, "s", "free", "x", nil))
		e.fs.ResetCounts()
		_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
		require.NoError(t, err)
		assert.Equal(t, map[string]int{"Query": 1, "Transact": 1}, e.fs.Counts(), "uncontended again")
	})
}

// TestQueueGuard pins the operation on the queue item that a lease's
// transaction carries, for each kind of view.
func TestQueueGuard(t *testing.T) {
	now := t0
	key := queueItemKey("t", "free")
	entry := func(id string, created, expires time.Time, blocked bool) queueEntry {
		return queueEntry{item: store.Item{Key: queueKey("t", "free", id), Version: 3}, id: id, created: created, expires: expires, blocked: blocked}
	}
	live := now.Add(10 * time.Second)
	head := queueHead{item: store.Item{Key: key, Version: 7}, found: true, until: live.UnixNano(), gen: "g", rejoin: "j",
		lastJoin: now.Add(-time.Second).UnixNano(), served: 2, svc: time.Second, last: now.Add(-4 * time.Second).UnixNano()}
	a := entry("A", now.Add(-5*time.Second), live, false)
	b := entry("B", now.Add(-2*time.Second), live, false)
	late := entry("L", now.Add(time.Hour), live, false) // joined blocked, after lastjoin
	tests := []struct {
		name string
		v    poolView
		own  *queueEntry
		want store.Op
	}{
		{name: "index view: nobody waits", v: poolView{},
			want: store.Op{Check: &store.Check{Key: key, AllowMissing: true, Cond: []store.Cond{store.NumLt(attrUntil, now.UnixNano())}}}},
		{name: "consistent view, no queue item", v: poolView{consistent: true},
			want: store.Op{Check: &store.Check{Key: key, AllowMissing: true, Cond: []store.Cond{store.VersionIs(0)}}}},
		{name: "anonymous behind waiters", v: poolView{consistent: true, head: head, queue: []queueEntry{a, b}},
			want: store.Op{Check: &store.Check{Key: key, Cond: []store.Cond{store.Eq(attrGen, "g")}}}},
		{name: "a waiter served, others wait", v: poolView{consistent: true, head: head, queue: []queueEntry{a, b}}, own: &a,
			want: store.Op{Update: &store.Update{Key: key, Cond: []store.Cond{store.Eq(attrRejoin, "j")},
				SetNum: map[string]int64{attrSvc: int64(time.Second + (4*time.Second-time.Second)/4), attrServed: 3, attrLastServe: now.UnixNano()}}}},
		{name: "the last waiter served: until lowered", v: poolView{consistent: true, head: head, queue: []queueEntry{a}}, own: &a,
			want: store.Op{Update: &store.Update{Key: key, Cond: []store.Cond{store.VersionIs(7)}, Remove: []string{attrUntil},
				SetNum: map[string]int64{attrSvc: int64(time.Second + (4*time.Second-time.Second)/4), attrServed: 3, attrLastServe: now.UnixNano()}}}},
		{name: "a waiter lastjoin does not cover", v: poolView{consistent: true, head: head, queue: []queueEntry{a, late}}, own: &late,
			// It joined after now (a clock ahead): an interval of 0.
			want: store.Op{Update: &store.Update{Key: key, Cond: []store.Cond{store.Eq(attrGen, "g")},
				SetNum: map[string]int64{attrSvc: int64(750 * time.Millisecond), attrServed: 3, attrLastServe: now.UnixNano()}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.v.rtype, tc.v.state = "t", "free"
			got := queueGuard(tc.v, tc.own, now)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestQueuePlace: the place a refused request_id is told (position,
// length, estimated wait) for each kind of queue and hold-time figure.
func TestQueuePlace(t *testing.T) {
	now := t0
	live, dead := now.Add(time.Second), now.Add(-time.Second)
	q := []queueEntry{
		{id: "A", expires: live}, {id: "X", expires: dead}, {id: "Q", expires: live, blocked: true},
		{id: "B", expires: live}, {id: "C", expires: live},
	}
	stats := queueHead{served: 2, svc: 3 * time.Second}
	tests := []struct {
		name string
		id   string
		head queueHead
		hold holdFigure
		want boskos.QueuePlace
	}{
		{name: "second in line, no statistics", id: "B", want: boskos.QueuePlace{Position: 2, Length: 3}},
		{name: "new at the tail", id: "N", head: stats, want: boskos.QueuePlace{Position: 4, Length: 4, EstimatedWait: 12 * time.Second}},
		{name: "head of the queue", id: "A", head: stats, want: boskos.QueuePlace{Position: 1, Length: 3, EstimatedWait: 3 * time.Second}},
		{name: "one grant is not enough to estimate", id: "C", head: queueHead{served: 1, svc: time.Second}, want: boskos.QueuePlace{Position: 3, Length: 3}},
		{name: "hold times over the queue's service", id: "B", head: stats, hold: holdFigure{mean: time.Minute, samples: 3, n: 4},
			want: boskos.QueuePlace{Position: 2, Length: 3, EstimatedWait: 30 * time.Second}},
		{name: "hold times without statistics", id: "N", hold: holdFigure{mean: time.Minute, samples: 1, n: 3},
			want: boskos.QueuePlace{Position: 4, Length: 4, EstimatedWait: 80 * time.Second}},
		{name: "no resources: the queue's service", id: "A", head: stats, hold: holdFigure{mean: time.Minute, samples: 1},
			want: boskos.QueuePlace{Position: 1, Length: 3, EstimatedWait: 3 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := poolView{head: tc.head, queue: q}
			v.rank, v.own = rankOf(q, tc.id, now)
			assert.Equal(t, tc.want, v.place(tc.id, now, tc.hold))
		})
	}
}

// TestQueueGCDeletesIdleItem: GC deletes a queue item once its entries are
// gone and its until is past the grace, and keeps one still in use.
func TestQueueGCDeletesIdleItem(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "r", rtype: "t", state: "free", owner: "x"})
		_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "A")
		require.Error(t, err)
		e.clock.Add(DefaultRequestTTL + queueGrace/2)
		_, err = e.r.GCRequestQueue(e.ctx)
		require.NoError(t, err)
		queueItemOf(t, e) // kept: A's entry is within the grace
		e.clock.Add(queueGrace)
		n, err := e.r.GCRequestQueue(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "A's entry")
		_, err = e.mem.Get(e.ctx, queueItemKey("t", "free"))
		assert.ErrorIs(t, err, store.ErrNotFound, "the idle queue item")
	})
}
