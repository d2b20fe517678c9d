package storetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
)

func testGetMissing(t *testing.T, s store.Store) {
	_, err := s.Get(t.Context(), "it/missing")
	requireSentinel(t, err, store.ErrNotFound, "it/missing")
}

func testCreateAndGet(t *testing.T, s store.Store) {
	in := store.Item{
		Key:     "it/a",
		Version: 7, // ignored
		Str:     map[string]string{"state": "free", "type": "t1"},
		Num:     map[string]int64{"count": 3},
		Map:     map[string]map[string]string{"ud": {"k": "v"}},
	}
	got := mustCreate(t, s, in)
	want := in.Clone()
	want.Version = 1
	requireItem(t, want, got, "Create result")
	requireStored(t, s, want)

	// The store keeps its own copy: changing the caller's maps changes nothing.
	in.Str["state"] = "busy"
	in.Map["ud"]["k"] = "changed"
	got.Str["state"] = "dirty"
	requireStored(t, s, want)

	// An item with no attributes at all.
	bare := mustCreate(t, s, store.Item{Key: "it/bare"})
	requireItem(t, store.Item{Key: "it/bare", Version: 1}, bare)
	requireStored(t, s, store.Item{Key: "it/bare", Version: 1})
}

func testCreateExists(t *testing.T, s store.Store) {
	first := mustCreate(t, s, store.Item{Key: "it/x", Str: map[string]string{"v": "first"}})
	_, err := s.Create(t.Context(), store.Item{Key: "it/x", Str: map[string]string{"v": "second"}})
	requireSentinel(t, err, store.ErrExists, "it/x")
	requireStored(t, s, first)
}

func testCreateDropsEmptyStrings(t *testing.T, s store.Store) {
	got := mustCreate(t, s, store.Item{Key: "it/e", Str: map[string]string{"a": "", "b": "x"}})
	want := store.Item{Key: "it/e", Version: 1, Str: map[string]string{"b": "x"}}
	requireItem(t, want, got)
	requireStored(t, s, want)
	// The empty attribute is absent, so Eq(a, "") holds and StrLE(a, ...) does not.
	_, err := s.Update(t.Context(), store.Update{Key: "it/e", Cond: []store.Cond{store.StrLE("a", "zzz")}})
	requireCondErr(t, err, want)
	mustUpdate(t, s, store.Update{Key: "it/e", Cond: []store.Cond{store.Eq("a", "")}})
}

func testInvalidKeys(t *testing.T, s store.Store) {
	for _, key := range []string{"", "noslash", "/rest", "ns/"} {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			_, err := s.Create(t.Context(), store.Item{Key: key})
			require.Error(t, err, "create %q", key)
			_, err = s.Update(t.Context(), store.Update{Key: key, Upsert: true})
			require.Error(t, err, "upsert %q", key)
			err = s.Transact(t.Context(), []store.Op{{Create: &store.Item{Key: key}}})
			require.Error(t, err, "transact create %q", key)
		})
	}
}

func testUpdateVersions(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Item{Key: "it/v"})
	for want := int64(2); want <= 5; want++ {
		got := mustUpdate(t, s, store.Update{Key: "it/v", Cond: []store.Cond{store.VersionIs(want - 1)},
			SetNum: map[string]int64{"n": want}})
		require.Equal(t, want, got.Version, "version after update")
		requireStored(t, s, got)
	}
	// A stale version is a conflict that reports the current item.
	cur, err := s.Get(t.Context(), "it/v")
	require.NoError(t, err)
	_, err = s.Update(t.Context(), store.Update{Key: "it/v", Cond: []store.Cond{store.VersionIs(2)},
		SetNum: map[string]int64{"n": 100}})
	requireSentinel(t, err, store.ErrConflict, "it/v")
	requireCondErr(t, err, cur)
	requireStored(t, s, cur)
}

func testUpdateMissing(t *testing.T, s store.Store) {
	_, err := s.Update(t.Context(), store.Update{Key: "it/none", Set: map[string]string{"a": "b"}})
	requireSentinel(t, err, store.ErrNotFound, "it/none")
	_, err = s.Update(t.Context(), store.Update{Key: "it/none", Cond: []store.Cond{store.VersionIs(1)}})
	requireSentinel(t, err, store.ErrNotFound, "it/none")
	requireMissing(t, s, "it/none")
}

func testUpdateNoChanges(t *testing.T, s store.Store) {
	c := mustCreate(t, s, store.Item{Key: "it/n", Str: map[string]string{"a": "b"}})
	got := mustUpdate(t, s, store.Update{Key: "it/n"})
	want := c.Clone()
	want.Version = 2
	requireItem(t, want, got)
	requireStored(t, s, want)
}

func testUpsert(t *testing.T, s store.Store) {
	ctx := t.Context()
	t.Run("missing creates version 1", func(t *testing.T) {
		got := mustUpdate(t, s, store.Update{Key: "up/a", Upsert: true,
			Set: map[string]string{"s": "x"}, AddNum: map[string]int64{"n": 2},
			MapSet: map[string]map[string]string{"m": {"k": "v"}}})
		want := store.Item{Key: "up/a", Version: 1, Str: map[string]string{"s": "x"},
			Num: map[string]int64{"n": 2}, Map: map[string]map[string]string{"m": {"k": "v"}}}
		requireItem(t, want, got)
		requireStored(t, s, want)
	})
	t.Run("existing adds one", func(t *testing.T) {
		mustCreate(t, s, store.Item{Key: "up/b", Str: map[string]string{"s": "x"}, Num: map[string]int64{"n": 1}})
		got := mustUpdate(t, s, store.Update{Key: "up/b", Upsert: true, AddNum: map[string]int64{"n": 2}})
		want := store.Item{Key: "up/b", Version: 2, Str: map[string]string{"s": "x"}, Num: map[string]int64{"n": 3}}
		requireItem(t, want, got)
		requireStored(t, s, want)
	})
	// Conditions are evaluated against an empty item when the key is missing.
	holding := []struct {
		name string
		cond store.Cond
	}{
		{"eq empty", store.Eq("s", "")},
		{"version 0", store.VersionIs(0)},
		{"numeq 0", store.NumEq("n", 0)},
		{"numlt 1", store.NumLt("n", 1)},
		{"numge 0", store.NumGE("n", 0)},
		{"notin", store.NotIn("s", "x")},
	}
	for i, tc := range holding {
		t.Run("missing with holding "+tc.name, func(t *testing.T) {
			key := fmt.Sprintf("up/h%d", i)
			got := mustUpdate(t, s, store.Update{Key: key, Upsert: true, Cond: []store.Cond{tc.cond},
				Set: map[string]string{"s": "set"}})
			require.Equal(t, int64(1), got.Version)
			requireStored(t, s, store.Item{Key: key, Version: 1, Str: map[string]string{"s": "set"}})
		})
	}
	failing := []struct {
		name string
		cond store.Cond
	}{
		{"eq value", store.Eq("s", "x")},
		{"version 1", store.VersionIs(1)},
		{"numeq 1", store.NumEq("n", 1)},
		{"numlt 0", store.NumLt("n", 0)},
		{"numge 1", store.NumGE("n", 1)},
		{"strle", store.StrLE("s", "zzz")},
	}
	for i, tc := range failing {
		t.Run("missing with failing "+tc.name, func(t *testing.T) {
			key := fmt.Sprintf("up/f%d", i)
			_, err := s.Update(ctx, store.Update{Key: key, Upsert: true, Cond: []store.Cond{tc.cond},
				Set: map[string]string{"s": "set"}})
			requireSentinel(t, err, store.ErrConflict, key)
			var ce *store.ConditionError
			require.ErrorAs(t, err, &ce)
			require.False(t, ce.HasCurrent, "HasCurrent for a missing item: got true, want false")
			requireMissing(t, s, key)
		})
	}
	t.Run("existing with failing condition", func(t *testing.T) {
		cur := mustCreate(t, s, store.Item{Key: "up/c", Str: map[string]string{"s": "x"}})
		_, err := s.Update(ctx, store.Update{Key: "up/c", Upsert: true, Cond: []store.Cond{store.Eq("s", "")},
			Set: map[string]string{"s": "y"}})
		requireCondErr(t, err, cur)
		requireStored(t, s, cur)
	})
}

// condBase is the item every condition case runs against.
func condBase(key string) store.Item {
	return store.Item{
		Key: key,
		Str: map[string]string{"state": "free", "name": "Node-1", "expires": "2024-05-01T10:00:00Z"},
		Num: map[string]int64{"count": 5, "neg": -3},
		Map: map[string]map[string]string{"ud": {"k": "v"}},
	}
}

var condCases = []struct {
	name  string
	conds []store.Cond
	holds bool
}{
	{"no conditions", nil, true},
	{"eq holds", []store.Cond{store.Eq("state", "free")}, true},
	{"eq differs", []store.Cond{store.Eq("state", "busy")}, false},
	{"eq is case sensitive", []store.Cond{store.Eq("state", "Free")}, false},
	{"eq empty holds on absent", []store.Cond{store.Eq("owner", "")}, true},
	{"eq empty fails on present", []store.Cond{store.Eq("state", "")}, false},
	{"eq value fails on absent", []store.Cond{store.Eq("owner", "alice")}, false},
	{"notin empty list holds on present", []store.Cond{store.NotIn("state")}, true},
	{"notin empty list holds on absent", []store.Cond{store.NotIn("owner")}, true},
	{"notin other values holds", []store.Cond{store.NotIn("state", "busy", "dirty")}, true},
	{"notin listed value fails", []store.Cond{store.NotIn("state", "busy", "free")}, false},
	{"notin single listed value fails", []store.Cond{store.NotIn("state", "free")}, false},
	{"notin holds on absent", []store.Cond{store.NotIn("owner", "alice", "")}, true},
	{"numeq holds", []store.Cond{store.NumEq("count", 5)}, true},
	{"numeq differs", []store.Cond{store.NumEq("count", 4)}, false},
	{"numeq negative", []store.Cond{store.NumEq("neg", -3)}, true},
	{"numeq absent is zero", []store.Cond{store.NumEq("zero", 0)}, true},
	{"numeq absent is not one", []store.Cond{store.NumEq("zero", 1)}, false},
	{"numlt holds", []store.Cond{store.NumLt("count", 6)}, true},
	{"numlt equal fails", []store.Cond{store.NumLt("count", 5)}, false},
	{"numlt below fails", []store.Cond{store.NumLt("count", -10)}, false},
	{"numlt negative holds", []store.Cond{store.NumLt("neg", -2)}, true},
	{"numlt negative equal fails", []store.Cond{store.NumLt("neg", -3)}, false},
	{"numlt absent is zero", []store.Cond{store.NumLt("zero", 1)}, true},
	{"numlt absent not below zero", []store.Cond{store.NumLt("zero", 0)}, false},
	{"numge equal holds", []store.Cond{store.NumGE("count", 5)}, true},
	{"numge below holds", []store.Cond{store.NumGE("count", -10)}, true},
	{"numge above fails", []store.Cond{store.NumGE("count", 6)}, false},
	{"numge negative holds", []store.Cond{store.NumGE("neg", -3)}, true},
	{"numge negative above fails", []store.Cond{store.NumGE("neg", -2)}, false},
	{"numge absent is zero", []store.Cond{store.NumGE("zero", 0)}, true},
	{"numge absent below one", []store.Cond{store.NumGE("zero", 1)}, false},
	{"strle equal holds", []store.Cond{store.StrLE("expires", "2024-05-01T10:00:00Z")}, true},
	{"strle greater bound holds", []store.Cond{store.StrLE("expires", "2024-05-01T10:00:01Z")}, true},
	{"strle longer bound holds", []store.Cond{store.StrLE("expires", "2024-05-01T10:00:00Z0")}, true},
	{"strle smaller bound fails", []store.Cond{store.StrLE("expires", "2024-05-01T09:59:59Z")}, false},
	{"strle prefix bound fails", []store.Cond{store.StrLE("expires", "2024-05-01")}, false},
	{"strle byte order", []store.Cond{store.StrLE("state", "Zzz")}, false},
	{"strle absent fails", []store.Cond{store.StrLE("owner", "zzzz")}, false},
	{"version holds", []store.Cond{store.VersionIs(1)}, true},
	{"version differs", []store.Cond{store.VersionIs(2)}, false},
	{"version zero fails", []store.Cond{store.VersionIs(0)}, false},
	{"all hold", []store.Cond{store.VersionIs(1), store.Eq("state", "free"), store.Eq("owner", ""),
		store.NotIn("state", "busy"), store.NumEq("count", 5), store.NumLt("neg", 0),
		store.StrLE("expires", "2025")}, true},
	{"one of several fails", []store.Cond{store.VersionIs(1), store.Eq("state", "free"),
		store.NumEq("count", 6), store.Eq("owner", "")}, false},
}

// testConditions runs every condition case through Update, Delete and a
// transaction's Check.
func testConditions(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, tc := range condCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("update", func(t *testing.T) {
				key := fmt.Sprintf("cond/%02d-update", i)
				cur := mustCreate(t, s, condBase(key))
				got, err := s.Update(ctx, store.Update{Key: key, Cond: tc.conds, Set: map[string]string{"touched": "yes"}})
				if !tc.holds {
					requireSentinel(t, err, store.ErrConflict, key)
					requireCondErr(t, err, cur)
					requireStored(t, s, cur)
					return
				}
				require.NoError(t, err)
				want := cur.Clone()
				want.Version = 2
				want.Str["touched"] = "yes"
				requireItem(t, want, got)
				requireStored(t, s, want)
			})
			t.Run("delete", func(t *testing.T) {
				key := fmt.Sprintf("cond/%02d-delete", i)
				cur := mustCreate(t, s, condBase(key))
				err := s.Delete(ctx, key, tc.conds...)
				if !tc.holds {
					requireSentinel(t, err, store.ErrConflict, key)
					requireCondErr(t, err, cur)
					requireStored(t, s, cur)
					return
				}
				require.NoError(t, err)
				requireMissing(t, s, key)
			})
			t.Run("check", func(t *testing.T) {
				key := fmt.Sprintf("cond/%02d-check", i)
				other := fmt.Sprintf("cond/%02d-other", i)
				cur := mustCreate(t, s, condBase(key))
				err := s.Transact(ctx, []store.Op{
					{Check: &store.Check{Key: key, Cond: tc.conds}},
					{Create: &store.Item{Key: other}},
				})
				requireStored(t, s, cur)
				if !tc.holds {
					var te *store.TxError
					require.ErrorAs(t, err, &te)
					require.Equal(t, 0, te.Index, "TxError.Index")
					requireCondErr(t, err, cur)
					requireMissing(t, s, other)
					return
				}
				require.NoError(t, err)
				requireStored(t, s, store.Item{Key: other, Version: 1})
			})
		})
	}
}

func testUpdateOperations(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Item{
		Key: "ops/a",
		Str: map[string]string{"a": "1", "b": "2", "rs": "x", "keep": "k"},
		Num: map[string]int64{"n": 10, "m": 1, "rn": 1},
		Map: map[string]map[string]string{
			"ud":    {"k1": "v1", "k2": "v2"},
			"other": {"x": "y"},
			"rm":    {"a": "b"},
		},
	})
	got := mustUpdate(t, s, store.Update{
		Key:       "ops/a",
		Cond:      []store.Cond{store.VersionIs(1)},
		Set:       map[string]string{"a": "one", "b": "", "c": "3"},
		SetNum:    map[string]int64{"m": 7, "fresh": -1},
		AddNum:    map[string]int64{"n": 5, "absentadd": -4},
		SetMap:    map[string]map[string]string{"other": {"z": "w"}},
		MapSet:    map[string]map[string]string{"ud": {"k2": "v2b", "k3": "v3"}},
		MapRemove: map[string][]string{"ud": {"k1", "not-there"}},
		Remove:    []string{"rs", "rn", "rm", "never-was"},
	})
	want := store.Item{
		Key:     "ops/a",
		Version: 2,
		Str:     map[string]string{"a": "one", "c": "3", "keep": "k"},
		Num:     map[string]int64{"n": 15, "m": 7, "fresh": -1, "absentadd": -4},
		Map: map[string]map[string]string{
			"ud":    {"k2": "v2b", "k3": "v3"},
			"other": {"z": "w"},
		},
	}
	requireItem(t, want, got, "Update result")
	requireStored(t, s, want)

	// Each operation on its own, one after the other.
	steps := []struct {
		name string
		u    store.Update
		edit func(it *store.Item)
	}{
		{"set", store.Update{Set: map[string]string{"keep": "k2"}}, func(it *store.Item) { it.Str["keep"] = "k2" }},
		{"setnum", store.Update{SetNum: map[string]int64{"n": -50}}, func(it *store.Item) { it.Num["n"] = -50 }},
		{"addnum", store.Update{AddNum: map[string]int64{"n": 8}}, func(it *store.Item) { it.Num["n"] = -42 }},
		{"addnum negative", store.Update{AddNum: map[string]int64{"m": -10}}, func(it *store.Item) { it.Num["m"] = -3 }},
		{"setmap new", store.Update{SetMap: map[string]map[string]string{"nm": {"p": "q"}}},
			func(it *store.Item) { it.Map["nm"] = map[string]string{"p": "q"} }},
		{"mapset", store.Update{MapSet: map[string]map[string]string{"nm": {"r": "s"}}},
			func(it *store.Item) { it.Map["nm"]["r"] = "s" }},
		{"mapremove", store.Update{MapRemove: map[string][]string{"nm": {"p"}}},
			func(it *store.Item) { delete(it.Map["nm"], "p") }},
		{"remove", store.Update{Remove: []string{"c", "fresh", "other"}}, func(it *store.Item) {
			delete(it.Str, "c")
			delete(it.Num, "fresh")
			delete(it.Map, "other")
		}},
		{"remove then set in later update", store.Update{Set: map[string]string{"c": "back"}},
			func(it *store.Item) { it.Str["c"] = "back" }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			u := st.u
			u.Key = "ops/a"
			u.Cond = []store.Cond{store.VersionIs(want.Version)}
			got := mustUpdate(t, s, u)
			st.edit(&want)
			want.Version++
			requireItem(t, want, got, "Update result")
			requireStored(t, s, want)
		})
	}
}

func testEmptyStringSetRemoves(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Item{Key: "es/a", Str: map[string]string{"owner": "alice", "state": "busy"}})
	got := mustUpdate(t, s, store.Update{Key: "es/a", Set: map[string]string{"owner": ""}})
	want := store.Item{Key: "es/a", Version: 2, Str: map[string]string{"state": "busy"}}
	requireItem(t, want, got)
	requireStored(t, s, want)
	// Now absent: Eq("owner", "") holds and NotIn holds.
	got = mustUpdate(t, s, store.Update{Key: "es/a", Cond: []store.Cond{store.Eq("owner", ""), store.NotIn("owner", "alice")}})
	require.Equal(t, int64(3), got.Version)
	// Setting "" on an absent attribute is fine too.
	got = mustUpdate(t, s, store.Update{Key: "es/a", Set: map[string]string{"never": ""}})
	want.Version = 4
	requireItem(t, want, got)
}

func testMapSetCreatesMissingMap(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Item{Key: "ms/a", Str: map[string]string{"x": "y"}})
	got := mustUpdate(t, s, store.Update{Key: "ms/a",
		MapSet: map[string]map[string]string{"ud": {"k": "v", "a.b": "c"}}})
	want := store.Item{Key: "ms/a", Version: 2, Str: map[string]string{"x": "y"},
		Map: map[string]map[string]string{"ud": {"k": "v", "a.b": "c"}}}
	requireItem(t, want, got)
	requireStored(t, s, want)
}

func testMapRemoveOnMissingMap(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Item{Key: "mr/a", Str: map[string]string{"x": "y"}})
	got := mustUpdate(t, s, store.Update{Key: "mr/a", MapRemove: map[string][]string{"ud": {"k"}}})
	want := store.Item{Key: "mr/a", Version: 2, Str: map[string]string{"x": "y"}}
	requireItem(t, want, got)
	requireStored(t, s, want)
}

// specialKeys are map keys that need escaping in expression languages.
var specialKeys = []string{
	"a.b", "a..b", ".lead", "with space", " pad ", "[0]", "x[1].y", "#hash", "#", "colon:key", ":v", ":",
	"ünïcødé", "日本語", "emoji 😀", "dollar$", `quote"s`, "single'q", `back\slash`, "a/b", "-dash",
	"equals=", "@at", "plus+", "percent%", "tab\tkey", "new\nline", "comma,key", "paren(x)", "{brace}",
	"UPPER", "upper", "123", "size", "name", "key", "value", "AND", "OR", "attribute_exists",
}

func testMapKeysSpecial(t *testing.T, s store.Store) {
	ud := map[string]string{}
	for _, k := range specialKeys {
		ud[k] = "v-" + k
	}
	created := mustCreate(t, s, store.Item{Key: "mk/a", Map: map[string]map[string]string{"ud": ud}})
	want := store.Item{Key: "mk/a", Version: 1, Map: map[string]map[string]string{"ud": ud}}
	requireItem(t, want, created)
	requireStored(t, s, want)

	// MapSet half of them, MapRemove the other half, in one update.
	set := map[string]string{}
	var remove []string
	next := map[string]string{}
	for i, k := range specialKeys {
		if i%2 == 0 {
			set[k] = "new " + k + " ✓"
			next[k] = set[k]
		} else {
			remove = append(remove, k)
		}
	}
	got := mustUpdate(t, s, store.Update{Key: "mk/a", Cond: []store.Cond{store.VersionIs(1)},
		MapSet: map[string]map[string]string{"ud": set}, MapRemove: map[string][]string{"ud": remove}})
	want = store.Item{Key: "mk/a", Version: 2, Map: map[string]map[string]string{"ud": next}}
	requireItem(t, want, got)
	requireStored(t, s, want)

	// SetMap with the same keys on another attribute, and Upsert of a new item.
	got = mustUpdate(t, s, store.Update{Key: "mk/a", SetMap: map[string]map[string]string{"ud2": ud}})
	want.Version = 3
	want.Map["ud2"] = ud
	requireItem(t, want, got)
	requireStored(t, s, want)

	got = mustUpdate(t, s, store.Update{Key: "mk/b", Upsert: true, MapSet: map[string]map[string]string{"ud": ud}})
	requireItem(t, store.Item{Key: "mk/b", Version: 1, Map: map[string]map[string]string{"ud": ud}}, got)
}

func testDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	err := s.Delete(ctx, "del/none")
	requireSentinel(t, err, store.ErrNotFound, "del/none")
	err = s.Delete(ctx, "del/none", store.VersionIs(1))
	requireSentinel(t, err, store.ErrNotFound, "del/none")

	cur := mustCreate(t, s, store.Item{Key: "del/a", Str: map[string]string{"state": "free"}})
	err = s.Delete(ctx, "del/a", store.Eq("state", "busy"))
	requireCondErr(t, err, cur)
	requireStored(t, s, cur)

	require.NoError(t, s.Delete(ctx, "del/a", store.Eq("state", "free"), store.VersionIs(1)))
	requireMissing(t, s, "del/a")
	requireSentinel(t, s.Delete(ctx, "del/a"), store.ErrNotFound, "del/a")

	// A deleted key can be created again, at version 1.
	again := mustCreate(t, s, store.Item{Key: "del/a", Str: map[string]string{"state": "dirty"}})
	requireItem(t, store.Item{Key: "del/a", Version: 1, Str: map[string]string{"state": "dirty"}}, again)

	// Delete without conditions.
	require.NoError(t, s.Delete(ctx, "del/a"))
	requireMissing(t, s, "del/a")
	require.Empty(t, listAll(t, s, "del/", 0))
}

func testBatchGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := map[string]store.Item{}
	for _, k := range []string{"bg/a", "bg/b", "bg/c"} {
		it := mustCreate(t, s, store.Item{Key: k, Str: map[string]string{"k": k}, Num: map[string]int64{"n": 1},
			Map: map[string]map[string]string{"m": {"x": k}}})
		want[k] = it
	}
	mustUpdate(t, s, store.Update{Key: "bg/b", SetNum: map[string]int64{"n": 2}})
	want["bg/b"], _ = s.Get(ctx, "bg/b")

	got, err := s.BatchGet(ctx, []string{"bg/a", "bg/missing", "bg/b", "other/x", "bg/c"})
	require.NoError(t, err)
	require.Len(t, got, 3, "BatchGet items: got %v", keysOf(got))
	for _, it := range got {
		w, ok := want[it.Key]
		require.True(t, ok, "unexpected key %q", it.Key)
		requireItem(t, w, it)
		delete(want, it.Key)
	}
	require.Empty(t, want, "keys missing from BatchGet")

	got, err = s.BatchGet(ctx, []string{"bg/none1", "bg/none2"})
	require.NoError(t, err)
	require.Empty(t, got)

	got, err = s.BatchGet(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)

	// MaxTransactItems keys, half of them present.
	var keys []string
	for i := range store.MaxTransactItems {
		k := fmt.Sprintf("bh/%03d", i)
		keys = append(keys, k)
		if i%2 == 0 {
			mustCreate(t, s, store.Item{Key: k})
		}
	}
	got, err = s.BatchGet(ctx, keys)
	require.NoError(t, err)
	require.Len(t, got, store.MaxTransactItems/2)
}

func testValuesRoundTrip(t *testing.T, s store.Store) {
	nums := map[string]int64{
		"zero": 0, "one": 1, "minus": -1, "max": math.MaxInt64, "min": math.MinInt64,
		"f53p": 1<<53 + 1, "f53n": -(1 << 53) - 1, "big": 1_000_000_000_000_007, "i32": math.MaxInt32 + 1,
	}
	strs := map[string]string{
		"unicode": "ünïcødé 日本語 😀", "newline": "a\nb\r\n", "tab": "\tx", "spaces": "  padded  ",
		"digit-zero": "0", "null": "null", "true": "true", "json": `{"a":[1,2]}`, "long": repeat("abcdefghij", 10000),
		"nul-free-binaryish": "\x01\x02\x7f", "slash": "a/b/c",
	}
	maps := map[string]map[string]string{
		"ud":  {"k": "v", "empty-value": "", "unicode": "ü"},
		"two": {"a": "1"},
	}
	in := store.Item{Key: "val/a", Str: strs, Num: nums, Map: maps}
	want := in.Clone()
	want.Version = 1
	requireItem(t, want, mustCreate(t, s, in))
	requireStored(t, s, want)

	// The same values written by Update.
	got := mustUpdate(t, s, store.Update{Key: "val/b", Upsert: true, Set: strs, SetNum: nums, SetMap: maps})
	wantB := in.Clone()
	wantB.Key = "val/b"
	wantB.Version = 1
	requireItem(t, wantB, got)
	requireStored(t, s, wantB)

	// Exact arithmetic near the int64 limits.
	got = mustUpdate(t, s, store.Update{Key: "val/b", AddNum: map[string]int64{"max": -5, "min": 5, "f53p": 1}})
	require.Equal(t, int64(math.MaxInt64-5), got.Num["max"])
	require.Equal(t, int64(math.MinInt64+5), got.Num["min"])
	require.Equal(t, int64(1<<53+2), got.Num["f53p"])
	stored, err := s.Get(t.Context(), "val/b")
	require.NoError(t, err)
	require.Equal(t, got.Num, stored.Num)

	// Other read paths return the same values.
	listed := listAll(t, s, "val/", 0)
	require.Len(t, listed, 2)
	requireItem(t, want, listed[0])
	batch, err := s.BatchGet(t.Context(), []string{"val/a"})
	require.NoError(t, err)
	require.Len(t, batch, 1)
	requireItem(t, want, batch[0])
}
