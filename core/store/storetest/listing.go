package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
)

func testListEmpty(t *testing.T, s store.Store) {
	page, err := s.List(t.Context(), "none/", "", 0)
	require.NoError(t, err)
	require.Empty(t, page.Items)
	require.Empty(t, page.Next)
	page, err = s.List(t.Context(), "none/", "", 5)
	require.NoError(t, err)
	require.Empty(t, page.Items)
	require.Empty(t, page.Next)

	_, err = s.List(t.Context(), "", "", 0)
	require.Error(t, err, "a prefix without a namespace is invalid")
}

func testListPrefixIsolation(t *testing.T, s store.Store) {
	for _, k := range []string{"a/1", "a/2", "a/x1", "a/xy", "ab/1", "ab/2", "b/1", "aa/1"} {
		mustCreate(t, s, store.Item{Key: k})
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"a/", []string{"a/1", "a/2", "a/x1", "a/xy"}},
		{"ab/", []string{"ab/1", "ab/2"}},
		{"aa/", []string{"aa/1"}},
		{"b/", []string{"b/1"}},
		{"a/x", []string{"a/x1", "a/xy"}},
		{"a/x1", []string{"a/x1"}},
		{"a/1", []string{"a/1"}},
		{"a/3", nil},
		{"c/", nil},
	}
	for _, tc := range cases {
		t.Run(tc.prefix, func(t *testing.T) {
			for _, limit := range []int{0, 1} {
				got := keysOf(listAll(t, s, tc.prefix, limit))
				if tc.want == nil {
					require.Empty(t, got, "limit %d", limit)
					continue
				}
				require.Equal(t, tc.want, got, "limit %d", limit)
			}
		})
	}
}

// orderKeys are keys whose byte order differs from naive expectations.
var orderKeys = []string{
	"o/-", "o/0", "o/09", "o/1", "o/10", "o/9", "o/A", "o/B", "o/Z", "o/_", "o/a", "o/a b", "o/a-b", "o/a.b",
	"o/a/b", "o/aa", "o/b", "o/z", "o/~", "o/é", "o/ü", "o/日本", "o/😀",
}

func testListOrder(t *testing.T, s store.Store) {
	want := slices.Clone(orderKeys)
	slices.Sort(want)
	shuffled := slices.Clone(want)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, k := range shuffled {
		mustCreate(t, s, store.Item{Key: k, Str: map[string]string{"k": k}})
	}
	got := listAll(t, s, "o/", 0)
	require.Equal(t, want, keysOf(got))
	for _, it := range got {
		requireItem(t, store.Item{Key: it.Key, Version: 1, Str: map[string]string{"k": it.Key}}, it)
	}
	require.Equal(t, want, keysOf(listAll(t, s, "o/", 3)), "with pages of 3")
}

func testListPagination(t *testing.T, s store.Store) {
	const n = 23
	var want []string
	for i := range n {
		k := fmt.Sprintf("pg/%03d", i)
		want = append(want, k)
		mustCreate(t, s, store.Item{Key: k, Num: map[string]int64{"i": int64(i)}})
		mustCreate(t, s, store.Item{Key: fmt.Sprintf("pgx/%03d", i)}) // a neighbour namespace
	}
	for _, limit := range []int{1, 5, 7, 22, 23, 24, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := listAll(t, s, "pg/", limit)
			require.Equal(t, want, keysOf(got))
			for i, it := range got {
				require.Equal(t, int64(i), it.N("i"))
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		page, err := s.List(t.Context(), "pg/", "", 5)
		require.NoError(t, err)
		require.Equal(t, want[:5], keysOf(page.Items))
		require.NotEmpty(t, page.Next)
		page, err = s.List(t.Context(), "pg/", page.Next, 5)
		require.NoError(t, err)
		require.Equal(t, want[5:10], keysOf(page.Items))
	})
	t.Run("items added behind the cursor are not seen again", func(t *testing.T) {
		page, err := s.List(t.Context(), "pg/", "", 10)
		require.NoError(t, err)
		mustCreate(t, s, store.Item{Key: "pg/000a"})
		var got []string
		got = append(got, keysOf(page.Items)...)
		cursor := page.Next
		for cursor != "" {
			page, err = s.List(t.Context(), "pg/", cursor, 10)
			require.NoError(t, err)
			got = append(got, keysOf(page.Items)...)
			cursor = page.Next
		}
		require.Equal(t, want, got)
	})
}

// bigValue is about 40 KB, so 40 items make more than one DynamoDB page
// (1 MB).
const bigSize = 40 << 10

func testListLarge(t *testing.T, s store.Store) {
	const n = 40
	for i := range n {
		mustCreate(t, s, store.Item{Key: fmt.Sprintf("big/%03d", i),
			Str: map[string]string{"blob": repeat(fmt.Sprintf("%03d", i), bigSize)}})
	}
	got := listAll(t, s, "big/", 0)
	require.Len(t, got, n, "every item exactly once")
	for i, it := range got {
		require.Equal(t, fmt.Sprintf("big/%03d", i), it.Key)
		require.Equal(t, repeat(fmt.Sprintf("%03d", i), bigSize), it.S("blob"), "blob of %s", it.Key)
	}
}

func testQueryMembership(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Item{Key: "qm/both", Str: indexed("p", "s1", nil)})
	mustCreate(t, s, store.Item{Key: "qm/onlyp", Str: map[string]string{store.IndexPartition: "p"}})
	mustCreate(t, s, store.Item{Key: "qm/onlys", Str: map[string]string{store.IndexSort: "s1"}})
	mustCreate(t, s, store.Item{Key: "qm/none", Str: map[string]string{"x": "y"}})
	mustCreate(t, s, store.Item{Key: "qm/emptys", Str: map[string]string{store.IndexPartition: "p", store.IndexSort: ""}})
	mustUpdate(t, s, store.Update{Key: "qm/upsert", Upsert: true, Set: indexed("p", "s2", nil)})
	items := waitQuery(t, s, store.Query{Partition: "p"}, []string{"qm/both", "qm/upsert"})
	requireStored(t, s, items[0])
	requireStored(t, s, items[1])

	// Adding the missing attribute puts an item in; removing one takes it out.
	mustUpdate(t, s, store.Update{Key: "qm/onlyp", Set: map[string]string{store.IndexSort: "s0"}})
	mustUpdate(t, s, store.Update{Key: "qm/onlys", Set: map[string]string{store.IndexPartition: "p"}})
	mustUpdate(t, s, store.Update{Key: "qm/both", Set: map[string]string{store.IndexPartition: ""}})
	waitQuery(t, s, store.Query{Partition: "p"}, []string{"qm/onlyp", "qm/onlys", "qm/upsert"})
	mustUpdate(t, s, store.Update{Key: "qm/onlyp", Remove: []string{store.IndexPartition}})
	require.NoError(t, s.Delete(t.Context(), "qm/upsert"))
	waitQuery(t, s, store.Query{Partition: "p"}, []string{"qm/onlys"})
}

func testQueryFollowsItem(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, k := range []string{"a", "b", "c", "d"} {
		mustCreate(t, s, store.Item{Key: "qf/" + k, Str: indexed("p", "2000-"+k, map[string]string{"state": "free"})})
	}
	q := store.Query{Partition: "p"}
	waitQuery(t, s, q, []string{"qf/a", "qf/b", "qf/c", "qf/d"})

	// Changing the sort value moves the entry.
	mustUpdate(t, s, store.Update{Key: "qf/a", Set: map[string]string{store.IndexSort: "2001"}})
	waitQuery(t, s, q, []string{"qf/b", "qf/c", "qf/d", "qf/a"})
	mustUpdate(t, s, store.Update{Key: "qf/d", Set: map[string]string{store.IndexSort: "1999"}})
	waitQuery(t, s, q, []string{"qf/d", "qf/b", "qf/c", "qf/a"})

	// Removing the sort value takes it out; setting it again puts it back.
	mustUpdate(t, s, store.Update{Key: "qf/b", Remove: []string{store.IndexSort}})
	waitQuery(t, s, q, []string{"qf/d", "qf/c", "qf/a"})
	mustUpdate(t, s, store.Update{Key: "qf/b", Set: map[string]string{store.IndexSort: "2000-z"}})
	waitQuery(t, s, q, []string{"qf/d", "qf/c", "qf/b", "qf/a"})

	// Changing the partition moves it between partitions.
	mustUpdate(t, s, store.Update{Key: "qf/c", Set: map[string]string{store.IndexPartition: "p2"}})
	waitQuery(t, s, q, []string{"qf/d", "qf/b", "qf/a"})
	waitQuery(t, s, store.Query{Partition: "p2"}, []string{"qf/c"})

	// Other attribute changes are visible through the index.
	mustUpdate(t, s, store.Update{Key: "qf/b", Set: map[string]string{"state": "busy"}})
	var want []store.Item
	for _, k := range []string{"qf/d", "qf/b", "qf/a"} {
		it, err := s.Get(ctx, k)
		require.NoError(t, err)
		want = append(want, it)
	}
	waitQueryItems(t, s, q, want)

	// A failed conditional write changes nothing.
	_, err := s.Update(ctx, store.Update{Key: "qf/a", Cond: []store.Cond{store.Eq("state", "busy")},
		Set: map[string]string{store.IndexSort: "0000"}})
	require.ErrorIs(t, err, store.ErrConflict)
	err = s.Delete(ctx, "qf/d", store.VersionIs(7))
	require.ErrorIs(t, err, store.ErrConflict)
	waitQueryItems(t, s, q, want)

	// Deleting removes the entry.
	require.NoError(t, s.Delete(ctx, "qf/b"))
	waitQuery(t, s, q, []string{"qf/d", "qf/a"})
	require.NoError(t, s.Delete(ctx, "qf/c"))
	waitQuery(t, s, store.Query{Partition: "p2"}, nil)
}

func testQueryFollowsTransact(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Item{Key: "qt/a", Str: indexed("free", "1", nil)})
	mustCreate(t, s, store.Item{Key: "qt/b", Str: indexed("free", "2", nil)})
	mustCreate(t, s, store.Item{Key: "qt/c", Str: indexed("busy", "1", nil)})
	require.NoError(t, s.Transact(t.Context(), []store.Op{
		{Update: &store.Update{Key: "qt/a", Cond: []store.Cond{store.Eq(store.IndexPartition, "free")},
			Set: map[string]string{store.IndexPartition: "busy", store.IndexSort: "3"}}},
		{Delete: &store.Delete{Key: "qt/c"}},
		{Create: &store.Item{Key: "qt/d", Str: indexed("free", "0", nil)}},
		{Update: &store.Update{Key: "qt/b", Remove: []string{store.IndexSort}}},
	}))
	waitQuery(t, s, store.Query{Partition: "free"}, []string{"qt/d"})
	waitQuery(t, s, store.Query{Partition: "busy"}, []string{"qt/a"})
}

func testQueryPartitionIsolation(t *testing.T, s store.Store) {
	parts := []string{"p", "p2", "pp", "P", "q", "p\x1ftype", "p type"}
	for i, p := range parts {
		for j := range 3 {
			mustCreate(t, s, store.Item{Key: fmt.Sprintf("qp/%d-%d", i, j), Str: indexed(p, fmt.Sprintf("s%d", j), nil)})
		}
	}
	for i, p := range parts {
		t.Run(fmt.Sprintf("%q", p), func(t *testing.T) {
			want := []string{fmt.Sprintf("qp/%d-0", i), fmt.Sprintf("qp/%d-1", i), fmt.Sprintf("qp/%d-2", i)}
			waitQuery(t, s, store.Query{Partition: p}, want)
			waitQuery(t, s, store.Query{Partition: p, Limit: 2}, want)
		})
	}
	waitQuery(t, s, store.Query{Partition: "nothing"}, nil)
}

func testQueryBounds(t *testing.T, s store.Store) {
	sorts := []string{"s1", "s2", "s3", "s3x", "s4", "s5", "s6", "s7", "s8", "s9"}
	for _, v := range sorts {
		mustCreate(t, s, store.Item{Key: "qb/" + v, Str: indexed("p", v, nil)})
	}
	keys := func(vs ...string) []string {
		out := []string{}
		for _, v := range vs {
			out = append(out, "qb/"+v)
		}
		return out
	}
	cases := []struct {
		name     string
		from, to string
		want     []string
	}{
		{"unbounded", "", "", keys(sorts...)},
		{"inclusive both ends", "s3", "s6", keys("s3", "s3x", "s4", "s5", "s6")},
		{"upper bound excludes longer values", "s2", "s3", keys("s2", "s3")},
		{"from only", "s8", "", keys("s8", "s9")},
		{"to only", "", "s2", keys("s1", "s2")},
		{"single value", "s5", "s5", keys("s5")},
		{"between values", "s3a", "s3z", keys("s3x")},
		{"below everything", "a", "b", nil},
		{"above everything", "t", "", nil},
		{"from above to", "s6", "s3", nil},
		{"from before first", "0", "s1", keys("s1")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			waitQuery(t, s, store.Query{Partition: "p", From: tc.from, To: tc.to}, tc.want)
			waitQuery(t, s, store.Query{Partition: "p", From: tc.from, To: tc.to, Limit: 2}, tc.want)
		})
	}
}

func testQueryOrder(t *testing.T, s store.Store) {
	// Sort values in byte order, including ties broken by key.
	type entry struct{ key, sort string }
	entries := []entry{
		{"qo/k5", "2024-01-01T00:00:00Z"},
		{"qo/k1", "2024-01-01T00:00:00Z"},
		{"qo/k3", "2024-01-01T00:00:00Z"},
		{"qo/k0", "2023-12-31T23:59:59Z"},
		{"qo/k9", "2024-01-01T00:00:01Z"},
		{"qo/k2", "2024-01-01T00:00:00Z\x1fa"},
		{"qo/B", "A"},
		{"qo/a", "B"},
		{"qo/u", "é"},
		{"qo/z", "~"},
	}
	want := []string{"qo/k0", "qo/k1", "qo/k3", "qo/k5", "qo/k2", "qo/k9", "qo/B", "qo/a", "qo/z", "qo/u"}
	for _, e := range entries {
		mustCreate(t, s, store.Item{Key: e.key, Str: indexed("p", e.sort, nil)})
	}
	waitQuery(t, s, store.Query{Partition: "p"}, want)
	waitQuery(t, s, store.Query{Partition: "p", Limit: 1}, want)
	waitQuery(t, s, store.Query{Partition: "p", Limit: 3}, want)
	// Ties across a page boundary.
	waitQuery(t, s, store.Query{Partition: "p", From: "2024-01-01T00:00:00Z", To: "2024-01-01T00:00:00Z", Limit: 2},
		[]string{"qo/k1", "qo/k3", "qo/k5"})
}

func testQueryPagination(t *testing.T, s store.Store) {
	const n = 25
	var want []string
	for i := range n {
		k := fmt.Sprintf("qg/%03d", i)
		want = append(want, k)
		// Sort values in the reverse order of keys, so the order must come
		// from the index and not from the keys.
		mustCreate(t, s, store.Item{Key: k, Str: indexed("p", fmt.Sprintf("t%04d", 1000-i), nil)})
	}
	slices.Reverse(want)
	for _, limit := range []int{0, 1, 4, 24, 25, 26} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			waitQuery(t, s, store.Query{Partition: "p", Limit: limit}, want)
		})
	}
	t.Run("bounded with pages", func(t *testing.T) {
		// t0980..t0990 are keys qg/020..qg/010.
		waitQuery(t, s, store.Query{Partition: "p", From: "t0980", To: "t0990", Limit: 3}, want[4:15])
	})
	t.Run("pages", func(t *testing.T) {
		eventually(t, "first page", func() error {
			page, err := s.Query(t.Context(), store.Query{Partition: "p", Limit: 10})
			if err != nil {
				return err
			}
			if got := keysOf(page.Items); !slices.Equal(got, want[:10]) || page.Next == "" {
				return fmt.Errorf("got %q next %q, want %q and a cursor", got, page.Next, want[:10])
			}
			page, err = s.Query(t.Context(), store.Query{Partition: "p", Limit: 10, Cursor: page.Next})
			if err != nil {
				return err
			}
			if got := keysOf(page.Items); !slices.Equal(got, want[10:20]) {
				return fmt.Errorf("second page: got %q, want %q", got, want[10:20])
			}
			return nil
		})
	})
}

func testQueryLarge(t *testing.T, s store.Store) {
	const n = 40
	var want []string
	for i := range n {
		k := fmt.Sprintf("qbig/%03d", i)
		want = append(want, k)
		mustCreate(t, s, store.Item{Key: k, Str: indexed("p", fmt.Sprintf("%03d", i),
			map[string]string{"blob": repeat(k, bigSize)})})
	}
	items := waitQuery(t, s, store.Query{Partition: "p"}, want)
	for _, it := range items {
		require.Equal(t, repeat(it.Key, bigSize), it.S("blob"), "blob of %s", it.Key)
	}
}
