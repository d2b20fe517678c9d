package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
)

// requireTxErr fails unless err is a *TxError for operation index that
// wraps want.
func requireTxErr(t *testing.T, err error, index int, want error) *store.TxError {
	t.Helper()
	require.Error(t, err, "want a transaction failure")
	var te *store.TxError
	require.ErrorAs(t, err, &te, "got %T %v, want a *store.TxError", err, err)
	require.Equal(t, index, te.Index, "TxError.Index (error %v)", err)
	requireSentinel(t, err, want, "")
	return te
}

func testTransactAllOrNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustCreate(t, s, store.Item{Key: "tx/a", Str: indexed("p", "a", map[string]string{"state": "free"})})
	b := mustCreate(t, s, store.Item{Key: "tx/b", Num: map[string]int64{"n": 1}})
	d := mustCreate(t, s, store.Item{Key: "tx/d"})
	err := s.Transact(ctx, []store.Op{
		{Update: &store.Update{Key: "tx/a", Set: map[string]string{"state": "busy", store.IndexSort: "z"}}},
		{Create: &store.Item{Key: "tx/c", Str: indexed("p", "c", nil)}},
		{Delete: &store.Delete{Key: "tx/d"}},
		{Update: &store.Update{Key: "tx/b", Cond: []store.Cond{store.VersionIs(5)}, AddNum: map[string]int64{"n": 1}}},
		{Update: &store.Update{Key: "tx/e", Upsert: true, Set: map[string]string{"x": "y"}}},
	})
	requireTxErr(t, err, 3, store.ErrConflict)
	requireCondErr(t, err, b)
	requireStored(t, s, a)
	requireStored(t, s, b)
	requireStored(t, s, d)
	requireMissing(t, s, "tx/c")
	requireMissing(t, s, "tx/e")
	// The index did not move either (poll, then check it stays).
	waitQuery(t, s, store.Query{Partition: "p"}, []string{"tx/a"})
	waitQueryItems(t, s, store.Query{Partition: "p"}, []store.Item{a})
}

func testTransactErrors(t *testing.T, s store.Store) {
	cases := []struct {
		name   string
		op     func(key string) store.Op
		exists bool // whether key exists (with state=free) before
		want   error
		cond   bool // whether the error must be a *ConditionError with Current
	}{
		{"create existing", func(k string) store.Op { return store.Op{Create: &store.Item{Key: k}} }, true, store.ErrExists, false},
		{"update missing", func(k string) store.Op {
			return store.Op{Update: &store.Update{Key: k, Set: map[string]string{"a": "b"}}}
		}, false, store.ErrNotFound, false},
		{"update missing with condition", func(k string) store.Op {
			return store.Op{Update: &store.Update{Key: k, Cond: []store.Cond{store.Eq("state", "")}}}
		}, false, store.ErrNotFound, false},
		{"update failing condition", func(k string) store.Op {
			return store.Op{Update: &store.Update{Key: k, Cond: []store.Cond{store.Eq("state", "busy")}}}
		}, true, store.ErrConflict, true},
		{"update stale version", func(k string) store.Op {
			return store.Op{Update: &store.Update{Key: k, Cond: []store.Cond{store.VersionIs(2)}}}
		}, true, store.ErrConflict, true},
		{"delete missing", func(k string) store.Op { return store.Op{Delete: &store.Delete{Key: k}} }, false, store.ErrNotFound, false},
		{"delete failing condition", func(k string) store.Op {
			return store.Op{Delete: &store.Delete{Key: k, Cond: []store.Cond{store.NotIn("state", "free")}}}
		}, true, store.ErrConflict, true},
		{"check missing", func(k string) store.Op { return store.Op{Check: &store.Check{Key: k}} }, false, store.ErrNotFound, false},
		{"check missing with holding condition", func(k string) store.Op {
			return store.Op{Check: &store.Check{Key: k, Cond: []store.Cond{store.Eq("state", "")}}}
		}, false, store.ErrNotFound, false},
		{"check failing condition", func(k string) store.Op {
			return store.Op{Check: &store.Check{Key: k, Cond: []store.Cond{store.NumLt("n", 0)}}}
		}, true, store.ErrConflict, true},
		// AllowMissing: a missing item is checked as an empty one.
		{"check missing allowed, failing condition", func(k string) store.Op {
			return store.Op{Check: &store.Check{Key: k, AllowMissing: true, Cond: []store.Cond{store.Eq("state", "free")}}}
		}, false, store.ErrConflict, false},
		{"check missing allowed, failing version", func(k string) store.Op {
			return store.Op{Check: &store.Check{Key: k, AllowMissing: true, Cond: []store.Cond{store.VersionIs(1)}}}
		}, false, store.ErrConflict, false},
		{"check existing allowed, failing condition", func(k string) store.Op {
			return store.Op{Check: &store.Check{Key: k, AllowMissing: true, Cond: []store.Cond{store.Eq("state", "")}}}
		}, true, store.ErrConflict, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := mustCreate(t, s, store.Item{Key: fmt.Sprintf("txe/%02d-first", i)})
			key := fmt.Sprintf("txe/%02d-key", i)
			var cur store.Item
			if tc.exists {
				cur = mustCreate(t, s, store.Item{Key: key, Str: map[string]string{"state": "free"}})
			}
			last := fmt.Sprintf("txe/%02d-last", i)
			err := s.Transact(t.Context(), []store.Op{
				{Update: &store.Update{Key: first.Key, Set: map[string]string{"touched": "yes"}}},
				tc.op(key),
				{Create: &store.Item{Key: last}},
			})
			requireTxErr(t, err, 1, tc.want)
			if tc.cond {
				requireCondErr(t, err, cur)
			}
			requireStored(t, s, first)
			requireMissing(t, s, last)
			if tc.exists {
				requireStored(t, s, cur)
			} else {
				requireMissing(t, s, key)
			}
		})
	}
}

func testTransactMix(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustCreate(t, s, store.Item{Key: "mix/a", Str: map[string]string{"state": "free"}, Num: map[string]int64{"n": 1}})
	mustCreate(t, s, store.Item{Key: "mix/b", Str: map[string]string{"state": "dirty"}})
	d := mustCreate(t, s, store.Item{Key: "mix/d", Str: map[string]string{"state": "free"}, Num: map[string]int64{"count": 2}})
	require.NoError(t, s.Transact(ctx, []store.Op{
		{Create: &store.Item{Key: "mix/c", Version: 9, Str: map[string]string{"state": "free", "empty": ""},
			Map: map[string]map[string]string{"ud": {"k": "v"}}}},
		{Update: &store.Update{Key: "mix/a", Cond: []store.Cond{store.VersionIs(1), store.Eq("state", "free")},
			Set: map[string]string{"state": "busy", "owner": "me"}, AddNum: map[string]int64{"n": 2},
			MapSet: map[string]map[string]string{"ud": {"x.y": "z"}}}},
		{Delete: &store.Delete{Key: "mix/b", Cond: []store.Cond{store.Eq("state", "dirty")}}},
		{Check: &store.Check{Key: "mix/d", Cond: []store.Cond{store.NumLt("count", 3), store.VersionIs(1)}}},
		// Missing, checked as an empty item: absent strings are "", absent
		// numbers 0, the version 0.
		{Check: &store.Check{Key: "mix/missing", AllowMissing: true,
			Cond: []store.Cond{store.Eq("gen", ""), store.NumLt("until", 5), store.NumEq("n", 0), store.VersionIs(0)}}},
		{Check: &store.Check{Key: "mix/missing-nocond", AllowMissing: true}},
	}))
	requireMissing(t, s, "mix/missing")
	requireMissing(t, s, "mix/missing-nocond")
	requireStored(t, s, store.Item{Key: "mix/c", Version: 1, Str: map[string]string{"state": "free"},
		Map: map[string]map[string]string{"ud": {"k": "v"}}})
	wantA := a.Clone()
	wantA.Version = 2
	wantA.Str["state"] = "busy"
	wantA.Str["owner"] = "me"
	wantA.Num["n"] = 3
	wantA.Map = map[string]map[string]string{"ud": {"x.y": "z"}}
	requireStored(t, s, wantA)
	requireMissing(t, s, "mix/b")
	requireStored(t, s, d)

	// A single-operation transaction of each kind.
	require.NoError(t, s.Transact(ctx, []store.Op{{Create: &store.Item{Key: "mix/e"}}}))
	require.NoError(t, s.Transact(ctx, []store.Op{{Update: &store.Update{Key: "mix/e", Set: map[string]string{"a": "b"}}}}))
	require.NoError(t, s.Transact(ctx, []store.Op{{Check: &store.Check{Key: "mix/e", Cond: []store.Cond{store.VersionIs(2)}}}}))
	requireStored(t, s, store.Item{Key: "mix/e", Version: 2, Str: map[string]string{"a": "b"}})
	require.NoError(t, s.Transact(ctx, []store.Op{{Delete: &store.Delete{Key: "mix/e", Cond: []store.Cond{store.VersionIs(2)}}}}))
	requireMissing(t, s, "mix/e")
	require.Equal(t, []string{"mix/a", "mix/c", "mix/d"}, keysOf(listAll(t, s, "mix/", 0)))
}

func testTransactUpsert(t *testing.T, s store.Store) {
	ctx := t.Context()
	require.NoError(t, s.Transact(ctx, []store.Op{
		{Update: &store.Update{Key: "tu/a", Upsert: true, Cond: []store.Cond{store.VersionIs(0)}, AddNum: map[string]int64{"n": 1}}},
		{Create: &store.Item{Key: "tu/b"}},
	}))
	requireStored(t, s, store.Item{Key: "tu/a", Version: 1, Num: map[string]int64{"n": 1}})
	require.NoError(t, s.Transact(ctx, []store.Op{
		{Update: &store.Update{Key: "tu/a", Upsert: true, Cond: []store.Cond{store.VersionIs(1)}, AddNum: map[string]int64{"n": 1}}},
	}))
	requireStored(t, s, store.Item{Key: "tu/a", Version: 2, Num: map[string]int64{"n": 2}})
	err := s.Transact(ctx, []store.Op{
		{Create: &store.Item{Key: "tu/c"}},
		{Update: &store.Update{Key: "tu/d", Upsert: true, Cond: []store.Cond{store.Eq("s", "x")}}},
	})
	requireTxErr(t, err, 1, store.ErrConflict)
	requireMissing(t, s, "tu/c")
	requireMissing(t, s, "tu/d")
}

func testTransactInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustCreate(t, s, store.Item{Key: "ti/a"})
	cases := []struct {
		name string
		ops  []store.Op
	}{
		{"empty", nil},
		{"same key twice", []store.Op{
			{Create: &store.Item{Key: "ti/new"}},
			{Update: &store.Update{Key: "ti/a", Set: map[string]string{"x": "y"}}},
			{Check: &store.Check{Key: "ti/a"}},
		}},
		{"same key created twice", []store.Op{
			{Create: &store.Item{Key: "ti/new"}},
			{Create: &store.Item{Key: "ti/new"}},
		}},
		{"op with no kind", []store.Op{
			{Create: &store.Item{Key: "ti/new"}},
			{},
		}},
		{"op with two kinds", []store.Op{
			{Create: &store.Item{Key: "ti/new"}, Check: &store.Check{Key: "ti/new"}},
		}},
		{"invalid key", []store.Op{
			{Create: &store.Item{Key: "ti/new"}},
			{Create: &store.Item{Key: "nonamespace"}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Transact(ctx, tc.ops)
			require.Error(t, err)
			require.NotErrorIs(t, err, store.ErrConflict, "an invalid transaction is not a conflict")
			requireMissing(t, s, "ti/new")
			requireStored(t, s, a)
		})
	}
	t.Run("too many operations", func(t *testing.T) {
		ops := make([]store.Op, store.MaxTransactItems+1)
		for i := range ops {
			ops[i] = store.Op{Create: &store.Item{Key: fmt.Sprintf("ti/many-%03d", i)}}
		}
		err := s.Transact(ctx, ops)
		require.Error(t, err)
		require.Empty(t, listAll(t, s, "ti/many-", 0), "nothing written")
	})
}

func testTransactMaxItems(t *testing.T, s store.Store) {
	ctx := t.Context()
	ops := make([]store.Op, store.MaxTransactItems)
	var want []string
	for i := range ops {
		k := fmt.Sprintf("tm/%03d", i)
		want = append(want, k)
		ops[i] = store.Op{Create: &store.Item{Key: k, Str: indexed("tm", k, map[string]string{"state": "free"}),
			Num: map[string]int64{"i": int64(i)}}}
	}
	require.NoError(t, s.Transact(ctx, ops))
	items := listAll(t, s, "tm/", 0)
	require.Equal(t, want, keysOf(items))
	waitQuery(t, s, store.Query{Partition: "tm"}, want)

	// The same number of conditional updates, all applied.
	for i := range ops {
		ops[i] = store.Op{Update: &store.Update{Key: want[i], Cond: []store.Cond{store.VersionIs(1), store.Eq("state", "free")},
			Set: map[string]string{"state": "busy"}}}
	}
	require.NoError(t, s.Transact(ctx, ops))
	for _, it := range listAll(t, s, "tm/", 0) {
		require.Equal(t, int64(2), it.Version, "%s version", it.Key)
		require.Equal(t, "busy", it.S("state"), "%s state", it.Key)
	}

	// One failing condition among the maximum: nothing applied.
	for i := range ops {
		ops[i] = store.Op{Update: &store.Update{Key: want[i], Cond: []store.Cond{store.VersionIs(2)},
			Set: map[string]string{"state": "dirty"}}}
	}
	ops[77].Update.Cond = []store.Cond{store.VersionIs(1)}
	err := s.Transact(ctx, ops)
	requireTxErr(t, err, 77, store.ErrConflict)
	for _, it := range listAll(t, s, "tm/", 0) {
		require.Equal(t, "busy", it.S("state"), "%s state", it.Key)
	}
}
