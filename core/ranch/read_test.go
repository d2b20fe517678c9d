package ranch

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// queueView is what a test compares of a listed queue entry.
type queueView struct {
	rtype, state, id string
	rank             int
	age              int64
	blocked          bool
}

func viewsOf(items []boskos.QueueEntry) []queueView {
	out := []queueView{}
	for _, e := range items {
		out = append(out, queueView{e.Type, e.State, e.RequestID, e.Rank, e.AgeSeconds, e.Blocked})
	}
	return out
}

// TestListQueue: the waiting request_ids of each queue, with the rank
// acquire would give them now (blocked entries keep their place but are
// ahead of nobody; expired ones are not waiting and ahead of nobody) and
// their age; filters, pages.
func TestListQueue(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "q-1", rtype: "q", state: "free", owner: "x"},
			res{name: "d-1", rtype: "q", state: "dirty", owner: "x"},
			res{name: "o-1", rtype: "other", state: "free", owner: "x"})
		miss := func(rtype, state, id string) {
			t.Helper()
			_, err := e.r.Acquire(e.ctx, rtype, state, "busy", "o-"+id, id)
			require.Equal(t, boskos.ENotFound, boskos.ErrorCode(err), "%v", err)
		}
		miss("q", "free", "r1")
		e.clock.Add(time.Second)
		miss("q", "free", "r2")
		miss("q", "dirty", "d1")
		e.clock.Add(time.Second)
		miss("q", "free", "r3")
		miss("other", "free", "o1")
		// r4's last poll was refused for its quota: it keeps its place but
		// reserves nothing, so r3 is not behind it.
		require.NoError(t, e.r.enqueue(e.ctx, "q", "free", "r4", nil, true, e.clock.Now()))
		e.clock.Add(time.Second)
		miss("q", "free", "r5")

		list := func(f boskos.QueueFilter) []queueView {
			t.Helper()
			p, err := e.r.ListQueue(e.ctx, f, boskos.PageRequest{})
			require.NoError(t, err)
			assert.Empty(t, p.Cursor)
			return viewsOf(p.Items)
		}
		all := []queueView{
			{"other", "free", "o1", 1, 1, false},
			{"q", "dirty", "d1", 1, 2, false},
			{"q", "free", "r1", 1, 3, false},
			{"q", "free", "r2", 2, 2, false},
			{"q", "free", "r3", 3, 1, false},
			{"q", "free", "r4", 4, 1, true},
			{"q", "free", "r5", 4, 0, false},
		}
		assert.Equal(t, all, list(boskos.QueueFilter{}))
		assert.Equal(t, all[2:], list(boskos.QueueFilter{Type: "q", State: "free"}))
		assert.Equal(t, all[1:], list(boskos.QueueFilter{Type: "q"}))
		assert.Equal(t, []queueView{all[0], all[2], all[3], all[4], all[5], all[6]}, list(boskos.QueueFilter{State: "free"}))
		assert.Equal(t, []queueView{}, list(boskos.QueueFilter{Type: "nope"}))

		// Pages of 2 give the same entries, with the same ranks.
		var got []boskos.QueueEntry
		cursor := ""
		for n := 0; ; n++ {
			require.Less(t, n, 10, "too many pages")
			p, err := e.r.ListQueue(e.ctx, boskos.QueueFilter{}, boskos.PageRequest{Limit: 2, Cursor: cursor})
			require.NoError(t, err)
			assert.LessOrEqual(t, len(p.Items), 2)
			got = append(got, p.Items...)
			if p.Cursor == "" {
				break
			}
			cursor = p.Cursor
		}
		assert.Equal(t, all, viewsOf(got))

		// r1 expires (RequestTTL after its poll): it is not waiting and no
		// longer ahead of the others; r2 polls again and keeps its place.
		e.clock.Add(DefaultRequestTTL - 2*time.Second)
		miss("q", "free", "r2")
		e.clock.Add(time.Second + time.Nanosecond)
		assert.Equal(t, []queueView{
			{"q", "free", "r2", 1, 31, false},
			{"q", "free", "r5", 2, 29, false},
		}, list(boskos.QueueFilter{Type: "q", State: "free"}))
	})
}

// TestListQueueIsAcquireRank: the rank the list gives a request_id is the
// one acquire serves it by: with k free resources, ranks 1..k get one.
func TestListQueueIsAcquireRank(t *testing.T) {
	e := newEnv(t, Options{})
	e.seed(res{name: "a", rtype: "t", state: "free", owner: "x"}, res{name: "b", rtype: "t", state: "free", owner: "x"})
	for i := range 4 {
		_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", fmt.Sprintf("r%d", i))
		require.Error(t, err)
		e.clock.Add(time.Second)
	}
	require.NoError(t, e.r.Release(e.ctx, "a", "free", "x", nil))
	p, err := e.r.ListQueue(e.ctx, boskos.QueueFilter{}, boskos.PageRequest{})
	require.NoError(t, err)
	require.Len(t, p.Items, 4)
	// r3 (rank 4) and r1 (rank 2) poll: only rank 1's resource is free.
	_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "o", p.Items[3].RequestID)
	require.Error(t, err)
	_, err = e.r.Acquire(e.ctx, "t", "free", "busy", "o", p.Items[1].RequestID)
	require.Error(t, err)
	assert.Equal(t, 1, p.Items[0].Rank)
	got, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", p.Items[0].RequestID)
	require.NoError(t, err)
	assert.Equal(t, "a", got.Name)
	p, err = e.r.ListQueue(e.ctx, boskos.QueueFilter{}, boskos.PageRequest{})
	require.NoError(t, err)
	require.Len(t, p.Items, 3)
	assert.Equal(t, []int{1, 2, 3}, []int{p.Items[0].Rank, p.Items[1].Rank, p.Items[2].Rank})
}

// TestResourceInfoHeldFor: a lease records when it began (acquire and
// acquirebystate), heartbeats keep it, a release clears it; held and idle
// times are measured from the ranch's clock.
func TestResourceInfoHeldFor(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "a", rtype: "t", state: "free", age: time.Hour},
			res{name: "b", rtype: "t", state: "free", age: time.Hour, ud: boskos.UserData{"z": "secret", boskos.QuarantineReasonKey: "it broke"}})
		info := func(name string) boskos.ResourceInfo {
			t.Helper()
			p, err := e.r.ListResources(e.ctx, boskos.ResourceFilter{Type: "t"}, boskos.PageRequest{})
			require.NoError(t, err)
			for _, r := range p.Items {
				if r.Name == name {
					return r
				}
			}
			t.Fatalf("%s not listed", name)
			return boskos.ResourceInfo{}
		}
		a := info("a")
		assert.Nil(t, a.AcquiredAt)
		assert.Nil(t, a.HeldSeconds)
		assert.Equal(t, int64(3600), a.IdleSeconds)
		assert.Equal(t, []string{}, a.UserDataKeys)
		b := info("b")
		assert.Equal(t, []string{boskos.QuarantineReasonKey, "z"}, b.UserDataKeys)
		assert.Equal(t, "it broke", b.QuarantineReason)

		start := e.clock.Now()
		got, err := e.r.Acquire(e.ctx, "t", "free", "busy", "alice", "")
		require.NoError(t, err)
		require.Equal(t, "a", got.Name)
		e.clock.Add(90 * time.Second)
		require.NoError(t, e.r.Update(e.ctx, "a", "alice", "busy", nil, nil))
		e.clock.Add(10 * time.Second)
		a = info("a")
		require.NotNil(t, a.AcquiredAt)
		assert.Equal(t, start, *a.AcquiredAt)
		assert.Equal(t, int64(100), *a.HeldSeconds)
		assert.Equal(t, int64(10), a.IdleSeconds, "since the heartbeat")
		assert.Equal(t, "alice", a.Owner)
		assert.Equal(t, int64(1), a.Epoch)

		require.NoError(t, e.r.Release(e.ctx, "a", "dirty", "alice", nil))
		a = info("a")
		assert.Nil(t, a.AcquiredAt)
		it, err := e.mem.Get(e.ctx, resourceKey("a"))
		require.NoError(t, err)
		assert.NotContains(t, it.Str, attrAcquired, "a release clears it")

		_, err = e.r.AcquireByState(e.ctx, "free", "leased", "bob", []string{"b"})
		require.NoError(t, err)
		e.clock.Add(5 * time.Second)
		b = info("b")
		require.NotNil(t, b.HeldSeconds)
		assert.Equal(t, int64(5), *b.HeldSeconds)
	})
}

// TestListResourcesPageBudget: a filter the index cannot select (owner)
// over more store pages than one call may read answers a short page with
// a cursor; following the cursors finds every match once.
func TestListResourcesPageBudget(t *testing.T) {
	defer func(n int) { listPages = n }(listPages)
	listPages = 2
	e := newEnv(t, Options{})
	var want []string
	for i := range 1500 {
		owner := "x"
		if i%700 == 3 {
			owner = "needle"
			want = append(want, fmt.Sprintf("r-%04d", i))
		}
		e.seed(res{name: fmt.Sprintf("r-%04d", i), rtype: "t", state: "busy", owner: owner})
	}
	var got []string
	cursor, calls := "", 0
	for {
		calls++
		require.Less(t, calls, 10)
		p, err := e.r.ListResources(e.ctx, boskos.ResourceFilter{Owner: "needle"}, boskos.PageRequest{Limit: 10, Cursor: cursor})
		require.NoError(t, err)
		for _, r := range p.Items {
			got = append(got, r.Name)
		}
		if p.Cursor == "" {
			break
		}
		cursor = p.Cursor
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 2, calls, "1500 items in pages of 500, two pages per call")
}

// TestDecodeCursor: only a cursor of the same list and filters is taken.
func TestDecodeCursor(t *testing.T) {
	good := encodeCursor("resources", []string{"t", "", ""}, "t", "free")
	c, err := decodeCursor(good, "resources", []string{"t", "", ""}, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"t", "free"}, c.After)
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	long := make([]byte, maxCursorPart+1)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		name, cursor, want string
	}{
		{"not base64", "!!!", "invalid cursor: not a cursor of this API (pass the cursor of the previous page unchanged)"},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte(`{"v":1}`)), "invalid cursor: not a cursor of this API (pass the cursor of the previous page unchanged)"},
		{"not JSON", raw("hello"), "invalid cursor: not a cursor of this list (pass the cursor of the previous page unchanged)"},
		{"unknown field", raw(`{"v":1,"k":"resources","f":["t","",""],"a":["t","x"],"x":1}`), "invalid cursor: not a cursor of this list (pass the cursor of the previous page unchanged)"},
		{"other version", raw(`{"v":2,"k":"resources","f":["t","",""],"a":["t","x"]}`), "invalid cursor: not a cursor of this list (pass the cursor of the previous page unchanged)"},
		{"other list", encodeCursor("queue", []string{"t", "", ""}, "t", "x"), "invalid cursor: not a cursor of this list (pass the cursor of the previous page unchanged)"},
		{"short position", encodeCursor("resources", []string{"t", "", ""}, "t"), "invalid cursor: not a cursor of this list (pass the cursor of the previous page unchanged)"},
		{"other filters", encodeCursor("resources", []string{"u", "", ""}, "t", "x"), "invalid cursor: it belongs to a request with other filters (keep the filters of the first page)"},
		{"huge position", encodeCursor("resources", []string{"t", "", ""}, "t", string(long)), "invalid cursor: not a cursor of this list (pass the cursor of the previous page unchanged)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeCursor(tc.cursor, "resources", []string{"t", "", ""}, 2)
			requireErr(t, err, boskos.EInvalid, tc.want)
			assert.Equal(t, "cursor", boskos.ParamOf(err))
		})
	}
}

// TestAfterSkipsExactlyOne: after(s) excludes s and keeps every later sort
// value, in memory and with DynamoDB's index keys (s + NUL + key).
func TestAfterSkipsExactlyOne(t *testing.T) {
	s := resourceSort("free", false, t0, "a")
	later := []string{resourceSort("free", false, t0, "a-1"), resourceSort("free", false, t0, "b"), resourceSort("free", false, t0.Add(time.Nanosecond), "a"), resourceSort("free", true, t0, "a")}
	assert.Less(t, s, after(s))
	assert.Less(t, s+"\x00"+resourcePrefix+"a", after(s))
	for _, l := range later {
		assert.Greater(t, l, after(s), "%q", l)
		assert.Greater(t, l+"\x00"+resourcePrefix+"x", after(s), "%q", l)
	}
	_ = store.IndexSort
}
