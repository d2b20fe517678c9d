package ranch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
)

func TestAcquireSelection(t *testing.T) {
	tests := []struct {
		name      string
		seed      []res
		rtype     string
		state     string
		wantNames []string // successive acquires; then one more must 404
		wantErr   *boskos.Error
	}{
		{
			name: "least recently updated first (upstream probe)",
			seed: []res{
				{name: "r1", rtype: "t", state: "free", age: 0},
				{name: "r2", rtype: "t", state: "free", age: 2 * time.Second},
				{name: "r3", rtype: "t", state: "free", age: time.Second},
			},
			rtype: "t", state: "free",
			wantNames: []string{"r2", "r3", "r1"},
			wantErr:   boskos.ResourceNotFound("t"),
		},
		{
			name: "ties by name",
			seed: []res{
				{name: "b", rtype: "t", state: "free"},
				{name: "c", rtype: "t", state: "free"},
				{name: "a", rtype: "t", state: "free"},
			},
			rtype: "t", state: "free",
			wantNames: []string{"a", "b", "c"},
			wantErr:   boskos.ResourceNotFound("t"),
		},
		{
			name: "only matching type, state and unowned",
			seed: []res{
				{name: "other-type", rtype: "u", state: "free", age: 9 * time.Second},
				{name: "other-state", rtype: "t", state: "dirty", age: 8 * time.Second},
				{name: "owned", rtype: "t", state: "free", owner: "o", age: 7 * time.Second},
				{name: "prefix-state", rtype: "t", state: "free2", age: 6 * time.Second},
				{name: "ok", rtype: "t", state: "free"},
			},
			rtype: "t", state: "free",
			wantNames: []string{"ok"},
			wantErr:   boskos.ResourceNotFound("t"),
		},
		{
			name:  "unknown type",
			seed:  []res{{name: "r", rtype: "t", state: "free"}},
			rtype: "nope", state: "free",
			wantErr: boskos.TypeNotFound("nope"),
		},
		{
			name:  "type exists but every resource is busy",
			seed:  []res{{name: "r", rtype: "t", state: "busy", owner: "o"}},
			rtype: "t", state: "free",
			wantErr: boskos.ResourceNotFound("t"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				e.seed(tc.seed...)
				for _, want := range tc.wantNames {
					e.clock.Add(time.Second)
					got, err := e.r.Acquire(e.ctx, tc.rtype, tc.state, "busy", "me", "")
					require.NoError(t, err)
					assert.Equal(t, want, got.Name)
				}
				_, err := e.r.Acquire(e.ctx, tc.rtype, tc.state, "busy", "me", "")
				requireErr(t, err, tc.wantErr.Code, tc.wantErr.Message)
			})
		})
	}
}

func TestAcquireResult(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		exp := t0.Add(time.Hour)
		e.seed(res{name: "r", rtype: "t", state: "free", age: time.Minute, ud: boskos.UserData{"k": "v"}, exp: &exp, epoch: 4})
		e.clock.Add(time.Second)
		got, err := e.r.Acquire(e.ctx, "t", "free", "busy", "me", "")
		require.NoError(t, err)
		want := boskos.Resource{Type: "t", Name: "r", State: "busy", Owner: "me", LastUpdate: e.clock.Now(),
			UserData: boskos.UserData{"k": "v"}, ExpirationDate: &exp, Epoch: 5}
		assert.Equal(t, want, got)
		assert.Equal(t, want, e.mustGet("r"), "stored resource")
	})
}

func TestAcquireInvalid(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name                             string
		rtype, state, dest, owner, reqID string
		wantMsg                          string
	}{
		{"no type", "", "s", "d", "o", "", "invalid type: must be set"},
		{"no owner", "t", "s", "d", "", "", "invalid owner: must be set"},
		{"control char in state", "t", "s\x1f", "d", "o", "", "invalid state: must not contain control characters"},
		{"long dest", "t", "s", string(make([]byte, 300)), "o", "", "invalid dest: must be no more than 253 bytes (got 300)"},
		{"bad request id", "t", "s", "d", "o", "a\nb", "invalid request_id: must not contain control characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.r.Acquire(e.ctx, tc.rtype, tc.state, tc.dest, tc.owner, tc.reqID)
			requireErr(t, err, boskos.EInvalid, tc.wantMsg)
		})
	}
}

// TestAcquireRoundRobin is upstream's TestAcquireRoundRobin: acquiring and
// releasing to the same state visits every resource.
func TestAcquireRoundRobin(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		for i := 0; i < 4; i++ {
			e.seed(res{name: fmt.Sprintf("r%d", i), rtype: "t", state: "free"})
		}
		seen := map[string]bool{}
		for i := 0; i < 4; i++ {
			e.clock.Add(time.Second)
			got, err := e.r.Acquire(e.ctx, "t", "free", "busy", "me", "")
			require.NoError(t, err)
			seen[got.Name] = true
			require.NoError(t, e.r.Release(e.ctx, got.Name, "free", "me", nil))
		}
		assert.Len(t, seen, 4)
	})
}

// TestAcquirePriority is upstream's worked example of the request queue.
func TestAcquirePriority(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "r1", rtype: "t", state: "free"})
		acq := func(id string) (boskos.Resource, error) {
			e.clock.Add(time.Second)
			return e.r.Acquire(e.ctx, "t", "free", "busy", "o-"+id, id)
		}
		notFound := boskos.ResourceNotFound("t")

		got, err := acq("A")
		require.NoError(t, err, "A, rank 1")
		assert.Equal(t, "r1", got.Name)
		_, err = acq("B")
		requireErr(t, err, notFound.Code, notFound.Message)
		_, err = acq("")
		requireErr(t, err, notFound.Code, notFound.Message) // rank 2
		_, err = acq("B")
		requireErr(t, err, notFound.Code, notFound.Message) // nothing free
		_, err = acq("A")
		requireErr(t, err, notFound.Code, notFound.Message) // A is new again, behind B
		require.NoError(t, e.r.Release(e.ctx, "r1", "free", "o-A", nil))
		_, err = acq("")
		requireErr(t, err, notFound.Code, notFound.Message) // rank 3
		_, err = acq("A")
		requireErr(t, err, notFound.Code, notFound.Message) // rank 2
		got, err = acq("B")
		require.NoError(t, err, "B, rank 1")
		assert.Equal(t, "o-B", got.Owner)
		// B's entry is gone: A is first now.
		require.NoError(t, e.r.Release(e.ctx, "r1", "free", "o-B", nil))
		_, err = acq("A")
		require.NoError(t, err, "A, rank 1 after B left")
	})
}

func TestAcquireQueuePerTypeAndState(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "d", rtype: "t", state: "dirty", owner: "x"}, res{name: "f", rtype: "t", state: "free"},
			res{name: "u", rtype: "u", state: "dirty"})
		_, err := e.r.Acquire(e.ctx, "t", "dirty", "cleaning", "j", "A")
		require.Error(t, err, "A waits on (t, dirty)")
		got, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
		require.NoError(t, err, "(t, free) is not behind A")
		assert.Equal(t, "f", got.Name)
		got, err = e.r.Acquire(e.ctx, "u", "dirty", "busy", "o", "")
		require.NoError(t, err, "(u, dirty) is not behind A")
		assert.Equal(t, "u", got.Name)
	})
}

// TestAcquireQueueExpiry pins how long an expired request id keeps its
// place: for others its entry stops counting at expiry; for itself the
// place lasts queueGrace (upstream's GC period) past expiry, after which the
// id is new and goes to the tail, whether or not GC has run.
func TestAcquireQueueExpiry(t *testing.T) {
	notFound := boskos.ResourceNotFound("t")
	tests := []struct {
		name string
		// A polls at t0 (expires t0+30s), B at t0+20s (expires t0+50s);
		// both wait. Then the clock moves to pastA after A's expiry, B
		// polls again (keeping its place, refreshing its entry), GC runs
		// if gc is set, and the resource is freed:
		pastA  time.Duration
		gc     bool
		polls  []string // who polls next, in order; "" = anonymous
		winner string   // which poll gets the resource
	}{
		{name: "expired entry skipped for others", pastA: 5 * time.Second, polls: []string{"", "B"}, winner: "B"},
		{name: "expired entry regains its place when it polls again", pastA: 5 * time.Second, polls: []string{"A"}, winner: "A"},
		{name: "at the end of the grace the place is still kept", pastA: queueGrace, polls: []string{"A"}, winner: "A"},
		{name: "past the grace the id is new and goes to the tail", pastA: queueGrace + time.Nanosecond, polls: []string{"A", "B"}, winner: "B"},
		{name: "after GC the expired id is new and goes to the tail", pastA: queueGrace + 5*time.Second, gc: true, polls: []string{"A", "B"}, winner: "B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				e.seed(res{name: "r", rtype: "t", state: "busy", owner: "x"})
				_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "A", "A")
				requireErr(t, err, notFound.Code, notFound.Message)
				e.clock.Add(20 * time.Second)
				_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "B", "B")
				requireErr(t, err, notFound.Code, notFound.Message)
				e.clock.Add(10*time.Second + tc.pastA) // A's entry expired at t0+30s
				_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "B", "B")
				requireErr(t, err, notFound.Code, notFound.Message)
				assert.Equal(t, t0.Add(20*time.Second), queueEntryOf(t, e, "B").created, "B keeps its place")
				if tc.gc {
					n, err := e.r.GCRequestQueue(e.ctx)
					require.NoError(t, err)
					assert.Equal(t, 1, n, "only A is collected")
				}
				require.NoError(t, e.r.Release(e.ctx, "r", "free", "x", nil))
				for i, id := range tc.polls {
					got, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o"+id, id)
					if id == tc.winner {
						require.NoError(t, err, "poll %d by %q", i, id)
						assert.Equal(t, "o"+id, got.Owner)
						return
					}
					requireErr(t, err, notFound.Code, notFound.Message)
					if id == "A" && tc.pastA > queueGrace {
						// The stale entry was overwritten: A queues anew.
						a := queueEntryOf(t, e, "A")
						assert.Equal(t, e.clock.Now(), a.created, "A's entry is fresh")
						assert.WithinDuration(t, e.clock.Now().Add(DefaultRequestTTL), a.expires, 0, "A's entry expires a TTL from now")
					}
				}
				t.Fatalf("nobody got the resource, want %q", tc.winner)
			})
		})
	}
}

// TestAcquireStaleEntry: an id whose entry expired more than queueGrace ago
// is new in every respect, also before any GC: it may trigger on-demand
// creation, and when it gets a resource at once the lease (the write and
// the check of the queue item) leaves the stale item for GC.
func TestAcquireStaleEntry(t *testing.T) {
	t.Run("on-demand creation", func(t *testing.T) {
		eachStore(t, Options{DRLCCacheTTL: -1}, func(t *testing.T, e *env) {
			e.seedDRLC(boskos.DRLC{Type: "dt", InitialState: "dirty", MaxCount: 3})
			acq := func() error {
				_, err := e.r.Acquire(e.ctx, "dt", "free", "busy", "o", "req1")
				return err
			}
			require.Error(t, acq())
			require.Len(t, e.byType("dt"), 1, "a new id creates one")
			e.clock.Add(DefaultRequestTTL + queueGrace) // expired, within the grace
			require.Error(t, acq())
			assert.Len(t, e.byType("dt"), 1, "within the grace the id is not new")
			e.clock.Add(DefaultRequestTTL + queueGrace + time.Nanosecond) // its refreshed entry is past the grace
			require.Error(t, acq())
			assert.Len(t, e.byType("dt"), 2, "past the grace the id is new and creates one")
		})
	})
	t.Run("lease leaves the stale item", func(t *testing.T) {
		e := newEnv(t, Options{})
		e.seed(res{name: "r", rtype: "t", state: "busy", owner: "x"})
		_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "A")
		require.Error(t, err)
		require.NoError(t, e.r.Release(e.ctx, "r", "free", "x", nil))
		e.clock.Add(DefaultRequestTTL + queueGrace + time.Second)
		e.fs.ResetCounts()
		got, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "A")
		require.NoError(t, err)
		assert.Equal(t, "r", got.Name)
		// The clock moved past DRLCCacheTTL: the quota cache is read again.
		assert.Equal(t, map[string]int{"List": 1, "Query": 1, "Transact": 1}, e.fs.Counts(), "no consistent read of the queue for the stale entry")
		assert.Equal(t, t0, queueEntryOf(t, e, "A").created, "stale item untouched")
		n, err := e.r.GCRequestQueue(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "GC removes it")
	})
}

// queueEntries lists the stored request queue entries (not the queue
// items).
func queueEntries(t *testing.T, e *env) []store.Item {
	t.Helper()
	var out []store.Item
	require.NoError(t, e.r.list(e.ctx, queuePrefix, func(it store.Item) error {
		if !isQueueItemKey(it.Key) {
			out = append(out, it)
		}
		return nil
	}))
	return out
}

// queueEntryOf reads the (t, free) queue entry of id, which must exist.
func queueEntryOf(t *testing.T, e *env, id string) queueEntry {
	t.Helper()
	it, err := e.mem.Get(e.ctx, queueKey("t", "free", id))
	require.NoError(t, err, "queue entry of %q", id)
	q, err := toQueueEntry(it)
	require.NoError(t, err)
	return q
}

func TestRankOf(t *testing.T) {
	now := t0
	live := now.Add(time.Second)
	dead := now.Add(-time.Second)
	var q []queueEntry
	for i := 0; i < 10; i++ {
		q = append(q, queueEntry{id: fmt.Sprintf("request_%d", i), expires: live})
	}
	for i := 0; i < 10; i++ {
		rank, own := rankOf(q, fmt.Sprintf("request_%d", i), now)
		assert.Equal(t, i+1, rank, "request_%d", i)
		require.NotNil(t, own)
	}
	rank, own := rankOf(q, "", now)
	assert.Equal(t, 11, rank, "empty id is behind everyone")
	assert.Nil(t, own)
	rank, own = rankOf(q, "unknown", now)
	assert.Equal(t, 11, rank, "unknown id goes to the tail")
	assert.Nil(t, own)
	// After request_0 leaves, the others move up by one.
	rank, _ = rankOf(q[1:], "request_5", now)
	assert.Equal(t, 5, rank)
	// Expired entries ahead do not count, but an expired id keeps its place
	// for queueGrace past its expiry.
	q[0].expires, q[1].expires = dead, dead
	rank, own = rankOf(q, "request_1", now)
	assert.Equal(t, 1, rank)
	assert.NotNil(t, own)
	rank, _ = rankOf(q, "request_2", now)
	assert.Equal(t, 1, rank)
	rank, _ = rankOf(q, "", now)
	assert.Equal(t, 9, rank)
	q[1].expires = now.Add(-queueGrace)
	rank, own = rankOf(q, "request_1", now)
	assert.Equal(t, 1, rank, "at the end of the grace")
	assert.NotNil(t, own)
	// Past the grace the entry counts as absent: the id is new, at the tail.
	q[1].expires = now.Add(-queueGrace - time.Nanosecond)
	rank, own = rankOf(q, "request_1", now)
	assert.Equal(t, 9, rank, "past the grace")
	assert.Nil(t, own)
}

// TestAcquireOnDemand is upstream's TestAcquireOnDemand.
func TestAcquireOnDemand(t *testing.T) {
	eachStore(t, Options{DRLCCacheTTL: -1}, func(t *testing.T, e *env) {
		e.seedDRLC(boskos.DRLC{Type: "dt", InitialState: "dirty", MinCount: 0, MaxCount: 2})
		typeNotFound := boskos.TypeNotFound("dt")
		notFound := boskos.ResourceNotFound("dt")
		acq := func(id string) error {
			_, err := e.r.Acquire(e.ctx, "dt", "free", "busy", "o", id)
			return err
		}
		requireErr(t, acq("req1"), typeNotFound.Code, typeNotFound.Message) // counts before creation
		require.Len(t, e.byType("dt"), 1)
		assert.Equal(t, "dirty", e.byType("dt")[0].State)
		assert.Empty(t, e.byType("dt")[0].UserData)
		assert.Nil(t, e.byType("dt")[0].ExpirationDate)
		requireErr(t, acq("req1"), notFound.Code, notFound.Message) // not new: no creation
		require.Len(t, e.byType("dt"), 1)
		requireErr(t, acq("req2"), notFound.Code, notFound.Message)
		require.Len(t, e.byType("dt"), 2)
		requireErr(t, acq("req3"), notFound.Code, notFound.Message)
		require.Len(t, e.byType("dt"), 2, "max-count holds")
		for _, r := range e.byType("dt") {
			_, err := e.r.deleteResource(e.ctx, mustItem(t, e, r.Name), nil)
			require.NoError(t, err)
		}
		requireErr(t, acq(""), typeNotFound.Code, typeNotFound.Message)
		assert.Empty(t, e.byType("dt"), "no creation for an empty request id")
	})
}

func TestAcquireOnDemandInitialStateFree(t *testing.T) {
	eachStore(t, Options{DRLCCacheTTL: -1}, func(t *testing.T, e *env) {
		e.seedDRLC(boskos.DRLC{Type: "dt", MaxCount: 1})
		_, err := e.r.Acquire(e.ctx, "dt", "free", "busy", "o", "req1")
		require.Error(t, err)
		got, err := e.r.Acquire(e.ctx, "dt", "free", "busy", "o", "req1")
		require.NoError(t, err, "the caller retries with the same id and gets the new resource")
		assert.Len(t, got.Name, 36, "uuid name")
		assert.Equal(t, int64(1), got.Epoch)
	})
}

func TestAcquireOnAcquire(t *testing.T) {
	type call struct {
		hasID  bool
		waited time.Duration
	}
	var calls []call
	e := newEnv(t, Options{OnAcquire: func(rtype, state, dest string, hasID bool, waited time.Duration) {
		assert.Equal(t, []string{"t", "free", "busy"}, []string{rtype, state, dest})
		calls = append(calls, call{hasID, waited})
	}})
	e.seed(res{name: "r", rtype: "t", state: "busy", owner: "x"})
	_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "A")
	require.Error(t, err)
	e.clock.Add(7 * time.Second)
	require.NoError(t, e.r.Release(e.ctx, "r", "free", "x", nil))
	_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "o", "A")
	require.NoError(t, err)
	require.NoError(t, e.r.Release(e.ctx, "r", "free", "o", nil))
	_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
	require.NoError(t, err)
	assert.Equal(t, []call{{true, 7 * time.Second}, {false, 0}}, calls)
}

// TestAcquireCost pins the number of store requests: the DynamoDB backend
// pays per request.
func TestAcquireCost(t *testing.T) {
	for _, pool := range []int{10, 1000} {
		t.Run(fmt.Sprint(pool), func(t *testing.T) {
			e := newEnv(t, Options{})
			e.seed(res{name: "busy", rtype: "t", state: "free", owner: "x"})
			for i := 0; i < pool; i++ {
				e.seed(res{name: fmt.Sprintf("r%05d", i), rtype: "t", state: "free"})
			}
			e.fs.ResetCounts()
			_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
			require.NoError(t, err)
			// The first one also fills the quota cache (one listing per
			// DRLCCacheTTL): there are none, so the lease is one write, a
			// transaction of the lease and the check that nobody waits.
			assert.Equal(t, map[string]int{"List": 1, "Query": 1, "Transact": 1}, e.fs.Counts(), "uncontended acquire, cold cache")

			e.fs.ResetCounts()
			_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "o", "new-id")
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"Query": 1, "Transact": 1}, e.fs.Counts(), "new request id")

			// A queued request id that then succeeds: query, the
			// consistent read of the queue, transaction.
			_, err = e.r.Acquire(e.ctx, "t", "dirty", "busy", "o", "queued")
			require.Error(t, err)
			e.seed(res{name: "d", rtype: "t", state: "dirty"})
			e.fs.ResetCounts()
			_, err = e.r.Acquire(e.ctx, "t", "dirty", "busy", "o", "queued")
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"List": 1, "Query": 1, "Transact": 1}, e.fs.Counts(), "queued request id")
			assert.Empty(t, queueEntries(t, e), "queue entry deleted with the acquire")

			e.fs.ResetCounts()
			require.NoError(t, e.r.Release(e.ctx, "d", "dirty", "o", nil))
			assert.Equal(t, map[string]int{"Update": 1}, e.fs.Counts(), "release (DRLC cache warm since the miss)")
			e.fs.ResetCounts()
			require.NoError(t, e.r.Release(e.ctx, "r00000", "free", "o", nil))
			assert.Equal(t, map[string]int{"Update": 1}, e.fs.Counts(), "release")
			e.fs.ResetCounts()
			require.NoError(t, e.r.Update(e.ctx, "r00001", "o", "busy", boskos.UserData{"a": "b", "c": ""}, nil))
			assert.Equal(t, map[string]int{"Update": 1}, e.fs.Counts(), "update")
		})
	}
}

func TestAcquireMovesOnAfterConflict(t *testing.T) {
	// The first candidate's write always fails: acquire takes the next.
	e := newEnv(t, Options{}, faultstore.Fail(func(c faultstore.Call) bool {
		return c.IsWrite() && c.Keys[0] == resourceKey("a")
	}, faultstore.Conflict(faultstore.Call{Method: faultstore.Update}), 0))
	e.seed(res{name: "a", rtype: "t", state: "free", age: time.Second}, res{name: "b", rtype: "t", state: "free"})
	e.fs.ResetCounts()
	got, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
	require.NoError(t, err)
	assert.Equal(t, "b", got.Name)
	assert.Equal(t, map[string]int{"List": 1, "Query": 1, "Transact": 2}, e.fs.Counts(), "no re-query needed (the list fills the quota cache)")
}

func TestAcquireLosingEveryRaceIsNotFound(t *testing.T) {
	// Every write loses to another client: after the bounded rounds the
	// caller hears the retryable 404 (nothing available to it right now),
	// not a 500, and its request id keeps a place in the queue.
	conflicts := faultstore.Fail(func(c faultstore.Call) bool {
		return c.IsWrite() && c.Keys[0] == resourceKey("a")
	}, faultstore.Conflict(faultstore.Call{Method: faultstore.Update}), 0)
	e := newEnv(t, Options{MaxRetries: 3}, conflicts)
	e.seed(res{name: "a", rtype: "t", state: "free"})
	_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
	requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
	assert.ErrorIs(t, err, boskos.ErrContended, "a 404 of lost races says so")
	assert.Equal(t, lostRoundsLimit, e.fs.Counts()["Query"], "one query per lost round")
	assert.Equal(t, "", e.mustGet("a").Owner)

	_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "o", "req-1")
	requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
	entries := queueEntries(t, e)
	require.Len(t, entries, 1, "the request id is queued")
	assert.Equal(t, "req-1", entries[0].S(attrID))
}

func TestAcquireStoreError(t *testing.T) {
	e := newEnv(t, Options{}, faultstore.Fail(faultstore.Method(faultstore.Query), nil, 0))
	e.seed(res{name: "a", rtype: "t", state: "free"})
	_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
	requireErr(t, err, boskos.EInternal, "ranch: acquire t: query: faultstore: injected failure")
}

func TestAcquireSpreadWindow(t *testing.T) {
	e := newEnv(t, Options{SpreadWindow: 5 * time.Second})
	for i := 0; i < 20; i++ {
		// r00..r09 within 5s of the oldest; r10..r19 much newer.
		age := time.Hour - time.Duration(i)*400*time.Millisecond
		if i >= 10 {
			age = time.Duration(20-i) * time.Second
		}
		e.seed(res{name: fmt.Sprintf("r%02d", i), rtype: "t", state: "free", age: age})
	}
	got := map[string]bool{}
	for i := 0; i < 10; i++ {
		r, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
		require.NoError(t, err)
		got[r.Name] = true
	}
	for i := 0; i < 10; i++ {
		assert.True(t, got[fmt.Sprintf("r%02d", i)], "r%02d is within the window of the oldest", i)
	}
}

func mustItem(t *testing.T, e *env, name string) storeItem {
	t.Helper()
	it, err := e.mem.Get(e.ctx, resourceKey(name))
	require.NoError(t, err)
	return it
}

func TestAcquireUnknownTypeQueuesNothing(t *testing.T) {
	e := newEnv(t, Options{})
	e.seed(res{name: "a", rtype: "t", state: "busy", owner: "x"})
	for i := 0; i < 5; i++ {
		_, err := e.r.Acquire(e.ctx, fmt.Sprintf("made-up-%d", i), "free", "busy", "o", fmt.Sprintf("req-%d", i))
		requireErr(t, err, boskos.ETypeNotFound, fmt.Sprintf("resource type %q does not exist", fmt.Sprintf("made-up-%d", i)))
	}
	page, err := e.mem.List(e.ctx, queuePrefix, "", 0)
	require.NoError(t, err)
	assert.Empty(t, page.Items, "no queue entries for types without resources or life cycle")

	// A known type still queues the id.
	_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "o", "req-t")
	requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
	assert.Len(t, queueEntries(t, e), 1)
}

// TestAcquireRankTakesKthOldest (§3.1 step 3): a caller at rank k gets the
// k-th least recently updated free resource, leaving the older ones to the
// callers ahead of it.
func TestAcquireRankTakesKthOldest(t *testing.T) {
	type poll struct{ id, want string } // id "" = anonymous
	tests := []struct {
		name   string
		n      int      // free resources r1..rn, r1 least recently updated
		queued []string // ids queued (live) before they are freed, in order
		polls  []poll
	}{
		{name: "anonymous at rank 2", n: 2, queued: []string{"A"},
			polls: []poll{{"", "r2"}, {"A", "r1"}}},
		{name: "anonymous at rank 3, B at rank 2", n: 3, queued: []string{"A", "B"},
			polls: []poll{{"", "r3"}, {"B", "r2"}, {"A", "r1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{SpreadWindow: 0}, func(t *testing.T, e *env) {
				for i := 1; i <= tc.n; i++ {
					e.seed(res{name: fmt.Sprintf("r%d", i), rtype: "t", state: "busy", owner: "x"})
				}
				for _, id := range tc.queued {
					_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o-"+id, id)
					requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
				}
				for i := 1; i <= tc.n; i++ {
					e.clock.Add(time.Second)
					require.NoError(t, e.r.Release(e.ctx, fmt.Sprintf("r%d", i), "free", "x", nil))
				}
				for _, p := range tc.polls {
					e.clock.Add(time.Second)
					got, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o-"+p.id, p.id)
					require.NoError(t, err, "poll by %q", p.id)
					assert.Equal(t, p.want, got.Name, "poll by %q", p.id)
				}
			})
		})
	}
}

// TestAcquireOnDemandCreationFails (§3.3): when the store refuses the
// creation of a dynamic resource, the error is only logged, the caller gets
// the 404 the counts call for, and nothing is half written.
func TestAcquireOnDemandCreationFails(t *testing.T) {
	tests := []struct {
		name    string
		seed    []res
		wantErr *boskos.Error
	}{
		{name: "type without resources", wantErr: boskos.TypeNotFound("dt")},
		{name: "type with a busy resource", seed: []res{{name: "busy", rtype: "dt", state: "free", owner: "x"}},
			wantErr: boskos.ResourceNotFound("dt")},
	}
	createsDT := func(c faultstore.Call) bool {
		return c.Method == faultstore.Transact && len(c.Keys) == 2 &&
			strings.HasPrefix(c.Keys[0], resourcePrefix) && c.Keys[1] == typeCountKey("dt")
	}
	// refuseFirst fails the first creation of a dt resource and counts the
	// creations tried.
	refuseFirst := func(tried *int) faultstore.Rule {
		return func(c faultstore.Call) error {
			if !createsDT(c) {
				return nil
			}
			if *tried++; *tried == 1 {
				return faultstore.ErrInjected
			}
			return nil
		}
	}
	for _, tc := range tests {
		for _, m := range storeModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				var logs bytes.Buffer
				opts := Options{DRLCCacheTTL: -1, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
				tried := 0
				e := newEnv(t, opts, append([]faultstore.Rule{refuseFirst(&tried)}, m.rules()...)...)
				e.seedDRLC(boskos.DRLC{Type: "dt", MaxCount: 3})
				e.seed(tc.seed...)
				before := e.all()

				_, err := e.r.Acquire(e.ctx, "dt", "free", "busy", "o", "req1")
				requireErr(t, err, tc.wantErr.Code, tc.wantErr.Message)
				require.Equal(t, 1, tried, "one creation tried, and refused")
				assert.Equal(t, before, e.all(), "no resource created")
				checkInvariants(t, e.mem) // the type counter was not bumped

				var found bool
				for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
					var rec map[string]any
					require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
					if rec["msg"] == "ranch: on-demand creation failed" {
						found = true
						assert.Equal(t, "ERROR", rec["level"])
						assert.Equal(t, "dt", rec["type"])
						assert.Contains(t, rec["err"], faultstore.ErrInjected.Error())
					}
				}
				assert.True(t, found, "creation failure logged; logs:\n%s", logs.String())

				// The next new id creates one (the fault was one-off).
				_, err = e.r.Acquire(e.ctx, "dt", "free", "busy", "o", "req2")
				requireErr(t, err, tc.wantErr.Code, tc.wantErr.Message)
				assert.Len(t, e.byType("dt"), len(tc.seed)+1)
			})
		}
	}
}

// movingPages is a store whose index queries return one item per page and
// that runs hook once, after page after: between two pages of one scan,
// which is where a concurrent write moves an item in the index.
type movingPages struct {
	store.Store
	after, n int
	hook     func()
}

func (m *movingPages) Query(ctx context.Context, q store.Query) (store.Page, error) {
	q.Limit = 1
	p, err := m.Store.Query(ctx, q)
	m.n++
	if m.n == m.after {
		m.hook()
	}
	return p, err
}

// TestScanSeesEachItemOnce: a resource that moves in the index between two
// pages of an acquire's scan (a concurrent acquire and release: its
// lastupdate moved on) is seen twice by the index read; the scan keeps it
// once. Twice, a lease could check it as reserved for the queue and take it
// in one transaction, which the store refuses (a 500), as 64 clients with
// request_ids on 20 resources once showed.
func TestScanSeesEachItemOnce(t *testing.T) {
	tests := []struct {
		name  string
		after int // the page after which "a" moves past "b" (pages: queue item, entry, a, b)
		want  []string
	}{
		{name: "moved after it was read", after: 3, want: []string{resourceKey("a"), resourceKey("b")}},
		{name: "moved before it was read", after: 2, want: []string{resourceKey("b"), resourceKey("a")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.seed(res{name: "a", rtype: "t", state: "free", age: 2 * time.Second}, res{name: "b", rtype: "t", state: "free", age: time.Second})
			require.NoError(t, e.r.enqueue(e.ctx, "t", "free", "A", nil, false, t0))
			later := t0.Add(time.Second)
			m := &movingPages{Store: e.mem, after: tc.after, hook: func() {
				_, err := e.mem.Update(e.ctx, storeUpdate{Key: resourceKey("a"), Set: map[string]string{
					attrLastUpdate: fmtTime(later), store.IndexSort: resourceSort("free", false, later, "a")}})
				require.NoError(t, err)
			}}
			v, err := New(m, Options{Now: e.clock.Now, Logger: e.r.log}).scan(e.ctx, "t", "free", "", t0, 0)
			require.NoError(t, err)
			var got []string
			for _, it := range v.free {
				got = append(got, it.Key)
			}
			assert.Equal(t, tc.want, got, "free resources seen")
			assert.Len(t, v.queue, 1)
		})
	}
}

// TestAcquireLostToTheQueueAhead: a waiting request_id whose candidate is
// taken while the request_ids ahead of it are served has not lost a round
// to its peers: the queue moved, and with resources free at its new rank
// it gets one instead of the 404 of lost rounds.
func TestAcquireLostToTheQueueAhead(t *testing.T) {
	var e *env
	var served []string
	// B's lease of r3 fails, twice; each time the next request_id ahead
	// of it is served meanwhile (by another process).
	rule := func(c faultstore.Call) error {
		if c.Method != faultstore.Transact || c.Keys[0] != resourceKey("r3") || len(served) == 2 {
			return nil
		}
		head := []string{"A1", "A2"}[len(served)]
		other := New(e.mem, Options{Now: e.clock.Now, Logger: e.r.log})
		got, err := other.Acquire(e.ctx, "t", "free", "busy", "o-"+head, head)
		require.NoError(t, err, "%s is served", head)
		served = append(served, got.Name)
		return faultstore.Conflict(c)
	}
	e = newEnv(t, Options{}, rule)
	e.seed(res{name: "x", rtype: "t", state: "busy", owner: "x"})
	for _, id := range []string{"A1", "A2", "B"} {
		e.clock.Add(time.Second)
		_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o-"+id, id)
		requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
	}
	e.seed(res{name: "r1", rtype: "t", state: "free", age: 3 * time.Second},
		res{name: "r2", rtype: "t", state: "free", age: 2 * time.Second},
		res{name: "r3", rtype: "t", state: "free", age: time.Second})
	got, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o-B", "B")
	require.NoError(t, err, "B, head of the queue now, gets what is left")
	assert.Equal(t, "r3", got.Name)
	assert.Equal(t, []string{"r1", "r2"}, served)
}

func TestAcquireNothingFreeIsNotContended(t *testing.T) {
	// Only lost races mark a 404 as contended: with nothing free, looking
	// again at once finds nothing either.
	e := newEnv(t, Options{})
	e.seed(res{name: "a", rtype: "t", state: "busy", owner: "x"})
	_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
	requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
	assert.NotErrorIs(t, err, boskos.ErrContended)
}
