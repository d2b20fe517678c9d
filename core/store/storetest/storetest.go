package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
)

// Polling bounds for index assertions: about two seconds in all.
const (
	pollTries = 100
	pollEvery = 20 * time.Millisecond
	// maxPages bounds every pagination loop, so a backend whose cursor
	// does not advance fails instead of hanging.
	maxPages = 10000
)

type testCase struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// suite lists every conformance test, in the order Run runs them.
var suite = []testCase{
	// Items.
	{"GetMissing", testGetMissing},
	{"CreateAndGet", testCreateAndGet},
	{"CreateExists", testCreateExists},
	{"CreateDropsEmptyStrings", testCreateDropsEmptyStrings},
	{"InvalidKeys", testInvalidKeys},
	{"UpdateVersions", testUpdateVersions},
	{"UpdateMissing", testUpdateMissing},
	{"UpdateNoChanges", testUpdateNoChanges},
	{"Upsert", testUpsert},
	{"Conditions", testConditions},
	{"UpdateOperations", testUpdateOperations},
	{"EmptyStringSetRemoves", testEmptyStringSetRemoves},
	{"MapSetCreatesMissingMap", testMapSetCreatesMissingMap},
	{"MapRemoveOnMissingMap", testMapRemoveOnMissingMap},
	{"MapKeysSpecialCharacters", testMapKeysSpecial},
	{"Delete", testDelete},
	{"BatchGet", testBatchGet},
	{"ValuesRoundTrip", testValuesRoundTrip},
	{"ItemSizeLimit", testItemSizeLimit},
	// Transactions.
	{"TransactAllOrNothing", testTransactAllOrNothing},
	{"TransactErrors", testTransactErrors},
	{"TransactMix", testTransactMix},
	{"TransactUpsert", testTransactUpsert},
	{"TransactInvalid", testTransactInvalid},
	{"TransactMaxItems", testTransactMaxItems},
	// Listing.
	{"ListEmpty", testListEmpty},
	{"ListPrefixIsolation", testListPrefixIsolation},
	{"ListOrder", testListOrder},
	{"ListPagination", testListPagination},
	{"ListLargeDefaultLimit", testListLarge},
	// Index.
	{"QueryMembership", testQueryMembership},
	{"QueryFollowsItem", testQueryFollowsItem},
	{"QueryFollowsTransact", testQueryFollowsTransact},
	{"QueryPartitionIsolation", testQueryPartitionIsolation},
	{"QueryBounds", testQueryBounds},
	{"QueryOrder", testQueryOrder},
	{"QueryPagination", testQueryPagination},
	{"QueryLargeDefaultLimit", testQueryLarge},
	// Contention.
	{"ContentionCompareAndSwap", testContentionCAS},
	{"ContentionAddNum", testContentionAddNum},
	{"ContentionCreate", testContentionCreate},
	{"ContentionTransfer", testContentionTransfer},
}

// Run runs the conformance suite as subtests of t. newStore must return a
// fresh, empty store for the subtest it is given, and register its own
// cleanup (for example with t.Cleanup).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, guard{Store: newStore(t), t: t})
		})
	}
}

// Canon returns it with empty attribute maps as nil and empty map
// attributes dropped, so that items compare equal whatever a backend does
// with empty maps (which the contract leaves open).
func Canon(it store.Item) store.Item {
	out := it.Clone()
	if len(out.Str) == 0 {
		out.Str = nil
	}
	if len(out.Num) == 0 {
		out.Num = nil
	}
	for k, m := range out.Map {
		if len(m) == 0 {
			delete(out.Map, k)
		}
	}
	if len(out.Map) == 0 {
		out.Map = nil
	}
	return out
}

// requireItem fails unless got equals want (see canon).
func requireItem(t *testing.T, want, got store.Item, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, Canon(want), Canon(got), msgAndArgs...)
}

// requireStored fails unless the stored item at want.Key equals want.
func requireStored(t *testing.T, s store.Store, want store.Item) {
	t.Helper()
	got, err := s.Get(t.Context(), want.Key)
	require.NoError(t, err, "get %s", want.Key)
	requireItem(t, want, got, "stored item %s", want.Key)
}

// requireMissing fails unless key is absent, with ErrNotFound.
func requireMissing(t *testing.T, s store.Store, key string) {
	t.Helper()
	_, err := s.Get(t.Context(), key)
	require.ErrorIs(t, err, store.ErrNotFound, "get %s: want ErrNotFound", key)
}

// requireSentinel fails unless err wraps want and names key.
func requireSentinel(t *testing.T, err, want error, key string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, want, "got %v, want %v", err, want)
	for _, other := range []error{store.ErrNotFound, store.ErrExists, store.ErrConflict, store.ErrTooLarge} {
		if other != want {
			require.NotErrorIs(t, err, other, "error %v also matches %v", err, other)
		}
	}
	if key != "" {
		require.Contains(t, err.Error(), key, "error %q does not name the key", err)
	}
}

// requireCondErr fails unless err is a *ConditionError (wrapped) whose
// Current is cur.
func requireCondErr(t *testing.T, err error, cur store.Item) {
	t.Helper()
	require.Error(t, err, "want a condition failure")
	require.ErrorIs(t, err, store.ErrConflict)
	require.NotErrorIs(t, err, store.ErrNotFound)
	require.NotErrorIs(t, err, store.ErrExists)
	var ce *store.ConditionError
	require.ErrorAs(t, err, &ce, "got %T %v, want a wrapped *store.ConditionError", err, err)
	require.True(t, ce.HasCurrent, "ConditionError.HasCurrent: got false, want true")
	requireItem(t, cur, ce.Current, "ConditionError.Current")
}

// mustCreate creates it and returns the stored item.
func mustCreate(t *testing.T, s store.Store, it store.Item) store.Item {
	t.Helper()
	got, err := s.Create(t.Context(), it)
	require.NoError(t, err, "create %s", it.Key)
	require.Equal(t, int64(1), got.Version, "create %s: version", it.Key)
	return got
}

// mustUpdate applies u and returns the new item.
func mustUpdate(t *testing.T, s store.Store, u store.Update) store.Item {
	t.Helper()
	got, err := s.Update(t.Context(), u)
	require.NoError(t, err, "update %s", u.Key)
	return got
}

// listAll collects every page of a listing.
func listAll(t *testing.T, s store.Store, prefix string, limit int) []store.Item {
	t.Helper()
	var out []store.Item
	cursor := ""
	for range maxPages {
		page, err := s.List(t.Context(), prefix, cursor, limit)
		require.NoError(t, err, "list %q cursor %q", prefix, cursor)
		if limit > 0 {
			require.LessOrEqual(t, len(page.Items), limit, "list page size")
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		require.NotEqual(t, cursor, page.Next, "list cursor does not advance")
		cursor = page.Next
	}
	t.Fatalf("list %q: more than %d pages", prefix, maxPages)
	return nil
}

// queryAll collects every page of a query.
func queryAll(t *testing.T, s store.Store, q store.Query) []store.Item {
	t.Helper()
	items, err := queryAllErr(t, s, q)
	require.NoError(t, err)
	return items
}

func queryAllErr(t *testing.T, s store.Store, q store.Query) ([]store.Item, error) {
	t.Helper()
	var out []store.Item
	for range maxPages {
		page, err := s.Query(t.Context(), q)
		if err != nil {
			return nil, fmt.Errorf("query %+v: %w", q, err)
		}
		if q.Limit > 0 && len(page.Items) > q.Limit {
			return nil, fmt.Errorf("query page of %d items, limit %d", len(page.Items), q.Limit)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out, nil
		}
		if page.Next == q.Cursor {
			return nil, fmt.Errorf("query cursor %q does not advance", page.Next)
		}
		q.Cursor = page.Next
	}
	return nil, fmt.Errorf("query %+v: more than %d pages", q, maxPages)
}

// keysOf returns the keys of items, in order.
func keysOf(items []store.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Key
	}
	return out
}

// eventually polls check until it returns nil, at most pollTries times.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	var err error
	for i := range pollTries {
		if err = check(); err == nil {
			return
		}
		if i < pollTries-1 {
			time.Sleep(pollEvery)
		}
	}
	t.Fatalf("%s: still failing after %d polls: %v", what, pollTries, err)
}

// waitQuery polls q until it returns exactly the keys want, in order, and
// returns the items of the last answer.
func waitQuery(t *testing.T, s store.Store, q store.Query, want []string) []store.Item {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	var items []store.Item
	eventually(t, fmt.Sprintf("query %+v", q), func() error {
		got, err := queryAllErr(t, s, q)
		if err != nil {
			return err
		}
		keys := keysOf(got)
		if !slices.Equal(keys, want) {
			return fmt.Errorf("got keys %q, want %q", keys, want)
		}
		items = got
		return nil
	})
	return items
}

// waitQueryItems polls q until it returns exactly want (keys, order and
// content), which lets a lagging index catch up with attribute changes.
func waitQueryItems(t *testing.T, s store.Store, q store.Query, want []store.Item) {
	t.Helper()
	wantC := make([]store.Item, len(want))
	for i, it := range want {
		wantC[i] = Canon(it)
	}
	eventually(t, fmt.Sprintf("query items %+v", q), func() error {
		got, err := queryAllErr(t, s, q)
		if err != nil {
			return err
		}
		gotC := make([]store.Item, len(got))
		for i, it := range got {
			gotC[i] = Canon(it)
		}
		if !equalItems(gotC, wantC) {
			return fmt.Errorf("got %+v, want %+v", gotC, wantC)
		}
		return nil
	})
}

func equalItems(a, b []store.Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Version != b[i].Version ||
			!maps.Equal(a[i].Str, b[i].Str) || !maps.Equal(a[i].Num, b[i].Num) ||
			!maps.EqualFunc(a[i].Map, b[i].Map, func(x, y map[string]string) bool { return maps.Equal(x, y) }) {
			return false
		}
	}
	return true
}

// indexed returns string attributes that put an item in partition part at
// sort value sort, merged with extra.
func indexed(part, sort string, extra map[string]string) map[string]string {
	out := map[string]string{store.IndexPartition: part, store.IndexSort: sort}
	maps.Copy(out, extra)
	return out
}

// isConflict reports whether err is a retryable conflict.
func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

// repeat returns s repeated to n bytes.
func repeat(s string, n int) string {
	return strings.Repeat(s, n/len(s)+1)[:n]
}
