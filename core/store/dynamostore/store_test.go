package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/storetest"
)

var canon = storetest.Canon

// TestConditionsMatchHolds checks, for every pair of item and condition,
// that DynamoDB lets an update, a delete and a transaction check through
// exactly when store.Cond.Holds says the condition holds, and that a failure
// carries the current item.
func TestConditionsMatchHolds(t *testing.T) {
	s := dynamotest.NewStore(t, dynamostore.Options{})
	ctx := t.Context()
	items := []store.Item{
		{},
		{Str: map[string]string{"a": "x"}},
		{Str: map[string]string{"a": "b.c[0] #:x"}, Num: map[string]int64{"n": 3}},
		{Num: map[string]int64{"n": 0}},
		{Num: map[string]int64{"n": -2}, Str: map[string]string{"a": "é"}},
		{Str: map[string]string{"a": "A", "v": "shadow"}, Num: map[string]int64{"pk": 7}},
	}
	var many []string
	for i := range 150 {
		many = append(many, fmt.Sprintf("m%03d", i))
	}
	conds := []store.Cond{
		store.Eq("a", ""), store.Eq("a", "x"), store.Eq("a", "X"), store.Eq("a", "b.c[0] #:x"),
		store.NotIn("a"), store.NotIn("a", ""), store.NotIn("a", "x"), store.NotIn("a", "y", "x"), store.NotIn("a", "y"),
		store.NotIn("a", append(many, "x")...), store.NotIn("a", many...),
		store.NumEq("n", 0), store.NumEq("n", 3), store.NumEq("n", -2), store.NumEq("missing", 0),
		store.NumLt("n", 0), store.NumLt("n", 1), store.NumLt("n", 3), store.NumLt("n", 4), store.NumLt("n", -2), store.NumLt("n", -1),
		store.StrLE("a", ""), store.StrLE("a", "x"), store.StrLE("a", "w"), store.StrLE("a", "zzz"), store.StrLE("a", "é"), store.StrLE("a", "A"),
		store.VersionIs(0), store.VersionIs(1), store.VersionIs(2),
		store.Eq("v", "shadow"), store.NumEq("pk", 7), store.NumLt("pk", 7),
	}
	n := 0
	for i, base := range items {
		for _, c := range conds {
			n++
			it := base.Clone()
			it.Key = fmt.Sprintf("c/%d-%d", i, n)
			cur, err := s.Create(ctx, it)
			require.NoError(t, err)
			want := c.Holds(cur)
			name := fmt.Sprintf("item %d %+v", i, c)

			err = s.Transact(ctx, []store.Op{{Check: &store.Check{Key: it.Key, Cond: []store.Cond{c}}}})
			checkOutcome(t, name+" check", err, want, cur)

			_, err = s.Update(ctx, store.Update{Key: it.Key, Cond: []store.Cond{c}, SetNum: map[string]int64{"touched": 1}})
			checkOutcome(t, name+" update", err, want, cur)
			if want {
				cur, err = s.Get(ctx, it.Key)
				require.NoError(t, err)
				require.Equal(t, int64(2), cur.Version, name)
			}

			// Upsert on a missing key: conditions see an empty item.
			missing := it.Key + "-missing"
			_, err = s.Update(ctx, store.Update{Key: missing, Upsert: true, Cond: []store.Cond{c}, SetNum: map[string]int64{"x": 1}})
			if holds := c.Holds(store.Item{Key: missing}); holds {
				require.NoError(t, err, name+" upsert")
			} else {
				var ce *store.ConditionError
				require.ErrorAs(t, err, &ce, name+" upsert")
				require.False(t, ce.HasCurrent, name+" upsert")
			}

			err = s.Delete(ctx, it.Key, c)
			checkOutcome(t, name+" delete", err, c.Holds(cur), cur)
		}
	}
}

func checkOutcome(t *testing.T, name string, err error, want bool, cur store.Item) {
	t.Helper()
	if want {
		require.NoError(t, err, name)
		return
	}
	require.ErrorIs(t, err, store.ErrConflict, name)
	var ce *store.ConditionError
	require.ErrorAs(t, err, &ce, name)
	require.True(t, ce.HasCurrent, name)
	require.Equal(t, canon(cur), canon(ce.Current), name)
}

// TestUpdateMatchesApply applies updates to DynamoDB and compares each
// result with store.Update.Apply on the previous item, including the
// overlaps DynamoDB refuses in one expression (SetMap or Remove with
// MapSet, MapSet and MapRemove of one key) and map attributes that are
// absent.
func TestUpdateMatchesApply(t *testing.T) {
	s := dynamotest.NewStore(t, dynamostore.Options{})
	ctx := t.Context()
	weird := []string{"a.b", "a[0]", "[x]", "#k", ":v", "sp ace", "ünï", "😀", "a.b[1].c", "~", "pk", "v"}
	wm := map[string]string{}
	for _, k := range weird {
		wm[k] = "val " + k
	}
	tests := []struct {
		name  string
		start store.Item
		u     store.Update
	}{
		{"mapset in existing map", store.Item{Map: map[string]map[string]string{"ud": {"k": "1"}}},
			store.Update{MapSet: map[string]map[string]string{"ud": wm}}},
		{"mapset creates missing map", store.Item{},
			store.Update{MapSet: map[string]map[string]string{"ud": wm}}},
		{"empty mapset creates empty map", store.Item{},
			store.Update{MapSet: map[string]map[string]string{"ud": {}}}},
		{"mapremove on missing map", store.Item{Str: map[string]string{"s": "1"}},
			store.Update{MapRemove: map[string][]string{"ud": {"a.b", "x"}}}},
		{"mapremove weird keys", store.Item{Map: map[string]map[string]string{"ud": wm}},
			store.Update{MapRemove: map[string][]string{"ud": weird[:6]}}},
		{"mapremove twice the same key", store.Item{Map: map[string]map[string]string{"ud": wm}},
			store.Update{MapRemove: map[string][]string{"ud": {"#k", "#k"}}}},
		{"mapset and mapremove of one key", store.Item{Map: map[string]map[string]string{"ud": {"k": "1", "j": "2"}}},
			store.Update{MapSet: map[string]map[string]string{"ud": {"k": "3", "l": "4"}}, MapRemove: map[string][]string{"ud": {"k"}}}},
		{"setmap with mapset", store.Item{Map: map[string]map[string]string{"ud": {"old": "1"}}},
			store.Update{SetMap: map[string]map[string]string{"ud": {"a": "1", "b": "2"}},
				MapSet: map[string]map[string]string{"ud": {"c": "3"}}, MapRemove: map[string][]string{"ud": {"a"}}}},
		{"remove with mapset", store.Item{Map: map[string]map[string]string{"ud": {"old": "1"}}},
			store.Update{Remove: []string{"ud"}, MapSet: map[string]map[string]string{"ud": {"new": "1"}}}},
		{"remove with mapremove", store.Item{Map: map[string]map[string]string{"ud": {"old": "1"}}},
			store.Update{Remove: []string{"ud"}, MapRemove: map[string][]string{"ud": {"old"}}}},
		{"two maps, one missing", store.Item{Map: map[string]map[string]string{"a": {"x": "1"}}},
			store.Update{MapSet: map[string]map[string]string{"a": {"y": "2"}, "b": {"z": "3"}}}},
		{"everything", store.Item{Str: map[string]string{"s": "1", "gone": "x"}, Num: map[string]int64{"n": 5}},
			store.Update{Set: map[string]string{"s": "2", "t": "new", "gone": ""}, SetNum: map[string]int64{"m": -1},
				AddNum: map[string]int64{"n": 10, "fresh": 3}, SetMap: map[string]map[string]string{"e": {}},
				MapSet: map[string]map[string]string{"ud": {"k": "v"}}, Remove: []string{"nothing"}}},
		{"reserved names", store.Item{Str: map[string]string{"v": "a", "sk": "b", "~": "c", "~~x": "d"}},
			store.Update{Set: map[string]string{"v": "a2", "ixsk": "e"}, SetNum: map[string]int64{"pk": 1}, Remove: []string{"~"},
				MapSet: map[string]map[string]string{"~m": {"k": "v"}}}},
		{"index attributes", store.Item{Str: map[string]string{"ixp": "p", "ixs": "1"}},
			store.Update{Set: map[string]string{"ixs": "2"}}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := tc.start.Clone()
			start.Key = fmt.Sprintf("ua/%d", i)
			prev, err := s.Create(ctx, start)
			require.NoError(t, err)
			u := tc.u
			u.Key = start.Key
			want := u.Apply(prev)
			got, err := s.Update(ctx, u)
			require.NoError(t, err)
			assert.Equal(t, canon(want), canon(got), "returned item")
			stored, err := s.Get(ctx, start.Key)
			require.NoError(t, err)
			assert.Equal(t, canon(want), canon(stored), "stored item")

			// The same update in a transaction, on a copy of the start item.
			start.Key += "-tx"
			prev, err = s.Create(ctx, start)
			require.NoError(t, err)
			u.Key = start.Key
			want = u.Apply(prev)
			require.NoError(t, s.Transact(ctx, []store.Op{{Update: &u}}))
			stored, err = s.Get(ctx, start.Key)
			require.NoError(t, err)
			assert.Equal(t, canon(want), canon(stored), "stored item after transaction")
		})
	}
}

// TestMapSetRacesMapCreation: two updaters add keys to a map that does not
// exist yet; both keys end up in it.
func TestMapSetRacesMapCreation(t *testing.T) {
	s := dynamotest.NewStore(t, dynamostore.Options{})
	ctx := t.Context()
	for round := range 10 {
		key := fmt.Sprintf("race/%d", round)
		_, err := s.Create(ctx, store.Item{Key: key})
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[g] = s.Update(ctx, store.Update{Key: key, MapSet: map[string]map[string]string{"ud": {fmt.Sprint(g): "x"}}})
			}()
		}
		wg.Wait()
		got, err := s.Get(ctx, key)
		require.NoError(t, err)
		for g, err := range errs {
			if err == nil {
				assert.Contains(t, got.Map["ud"], fmt.Sprint(g), "round %d", round)
			} else {
				// Only a concurrent change may explain a failure.
				assert.ErrorIs(t, err, store.ErrConflict)
			}
		}
	}
}

// TestInvalidInput: bad input gives clear errors, never a panic, and no
// SDK error text about expressions.
func TestInvalidInput(t *testing.T) {
	s := dynamotest.NewStore(t, dynamostore.Options{})
	ctx := t.Context()
	_, err := s.Create(ctx, store.Item{Key: "x/a"})
	require.NoError(t, err)
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"bracket in attribute name", func() error {
			_, err := s.Create(ctx, store.Item{Key: "x/b", Str: map[string]string{"a[0]": "x"}})
			return err
		}, `must not contain '['`},
		{"same name in two kinds", func() error {
			_, err := s.Create(ctx, store.Item{Key: "x/b", Str: map[string]string{"a": "x"}, Num: map[string]int64{"a": 1}})
			return err
		}, "more than one of"},
		{"number index attribute", func() error {
			_, err := s.Create(ctx, store.Item{Key: "x/b", Num: map[string]int64{store.IndexSort: 1}})
			return err
		}, "must be a string"},
		{"empty map key", func() error {
			_, err := s.Update(ctx, store.Update{Key: "x/a", MapSet: map[string]map[string]string{"m": {"": "x"}}})
			return err
		}, "empty key"},
		{"name in Set and Remove", func() error {
			_, err := s.Update(ctx, store.Update{Key: "x/a", Set: map[string]string{"a": "x"}, Remove: []string{"a"}})
			return err
		}, "appears in both"},
		{"mapset on a string attribute", func() error {
			_, err := s.Update(ctx, store.Update{Key: "x/a", Set: map[string]string{"a": "x"}, MapSet: map[string]map[string]string{"a": {"k": "v"}}})
			return err
		}, "appears in both"},
		{"unknown condition", func() error {
			_, err := s.Update(ctx, store.Update{Key: "x/a", Cond: []store.Cond{{Op: 99, Attr: "a"}}})
			return err
		}, "unknown operator"},
		{"empty condition attribute", func() error { return s.Delete(ctx, "x/a", store.Eq("", "x")) }, "empty attribute name"},
		{"invalid key", func() error { _, err := s.Get(ctx, "nokey"); return err }, "invalid key"},
		{"list without namespace", func() error { _, err := s.List(ctx, "x", "", 0); return err }, "must start with"},
		{"garbage cursor", func() error { _, err := s.List(ctx, "x/", "!!!", 0); return err }, "invalid cursor"},
		{"cursor of another namespace", func() error {
			page, err := s.List(ctx, "x/", "", 0)
			require.NoError(t, err)
			require.Empty(t, page.Next)
			_, err = s.List(ctx, "y/", cursorOf(t, s, "x/"), 0)
			return err
		}, "another listing"},
		{"query cursor of another partition", func() error {
			_, err := s.Query(ctx, store.Query{Partition: "p", Cursor: queryCursorOf(t, s)})
			return err
		}, "another listing"},
		{"batch get too many", func() error {
			_, err := s.BatchGet(ctx, make([]string, store.MaxTransactItems+1))
			return err
		}, "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "dynamostore: ") || strings.HasPrefix(err.Error(), "store: "), "error %q", err)
			requireNoSDKError(t, err)
		})
	}
}

// cursorOf returns a List cursor of prefix (two items, page size one).
func cursorOf(t *testing.T, s *dynamostore.Store, prefix string) string {
	t.Helper()
	for _, k := range []string{"c1", "c2"} {
		_, err := s.Create(t.Context(), store.Item{Key: prefix + k})
		if err != nil {
			require.ErrorIs(t, err, store.ErrExists)
		}
	}
	page, err := s.List(t.Context(), prefix, "", 1)
	require.NoError(t, err)
	require.NotEmpty(t, page.Next)
	return page.Next
}

// queryCursorOf returns a Query cursor of partition "other".
func queryCursorOf(t *testing.T, s *dynamostore.Store) string {
	t.Helper()
	for _, k := range []string{"q/1", "q/2"} {
		_, err := s.Create(t.Context(), store.Item{Key: k, Str: map[string]string{store.IndexPartition: "other", store.IndexSort: k}})
		require.NoError(t, err)
	}
	for range 100 {
		page, err := s.Query(t.Context(), store.Query{Partition: "other", Limit: 1})
		require.NoError(t, err)
		if page.Next != "" {
			return page.Next
		}
	}
	t.Fatal("no query cursor")
	return ""
}

// requireNoSDKError fails if err wraps a type of the AWS SDK.
func requireNoSDKError(t *testing.T, err error) {
	t.Helper()
	var api smithy.APIError
	require.False(t, errors.As(err, &api), "error %v wraps an SDK API error", err)
	var op *smithy.OperationError
	require.False(t, errors.As(err, &op), "error %v wraps an SDK operation error", err)
}

// TestMissingTable: every operation on a missing table fails with an error
// that matches ErrNoTable (never store.ErrNotFound), is wrapped with the
// operation and key, carries DynamoDB's code and no SDK type.
func TestMissingTable(t *testing.T) {
	s := dynamostore.New(dynamotest.Client(t), "no-such-table", dynamostore.Options{})
	ops := []struct {
		name   string
		call   func(ctx context.Context) error
		prefix string // in the error's text
		tx     bool   // the error is a *store.TxError
	}{
		{name: "get", call: func(ctx context.Context) error { _, err := s.Get(ctx, "a/b"); return err }, prefix: "dynamostore: get a/b: "},
		{name: "batch get", call: func(ctx context.Context) error { _, err := s.BatchGet(ctx, []string{"a/b", "a/c"}); return err },
			prefix: "dynamostore: batch get"},
		{name: "create", call: func(ctx context.Context) error { _, err := s.Create(ctx, store.Item{Key: "a/b"}); return err },
			prefix: "dynamostore: create a/b: "},
		{name: "update", call: func(ctx context.Context) error {
			_, err := s.Update(ctx, store.Update{Key: "a/b", Upsert: true, Set: map[string]string{"x": "1"}})
			return err
		}, prefix: "dynamostore: update a/b: "},
		{name: "delete", call: func(ctx context.Context) error { return s.Delete(ctx, "a/b") }, prefix: "dynamostore: delete a/b: "},
		{name: "transact", call: func(ctx context.Context) error {
			return s.Transact(ctx, []store.Op{{Create: &store.Item{Key: "a/b"}}, {Update: &store.Update{Key: "a/c", Upsert: true, Set: map[string]string{"x": "1"}}}})
		}, prefix: "dynamostore: transact: ", tx: true},
		{name: "list", call: func(ctx context.Context) error { _, err := s.List(ctx, "a/", "", 0); return err }, prefix: "dynamostore: list"},
		{name: "query", call: func(ctx context.Context) error { _, err := s.Query(ctx, store.Query{Partition: "p"}); return err },
			prefix: "dynamostore: query"},
	}
	for _, tc := range ops {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context())
			require.Error(t, err)
			require.ErrorIs(t, err, dynamostore.ErrNoTable, "got %v", err)
			assert.NotErrorIs(t, err, store.ErrNotFound)
			assert.NotErrorIs(t, err, store.ErrConflict)
			requireNoSDKError(t, err)
			var de *dynamostore.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, "ResourceNotFoundException", de.Code)
			assert.Contains(t, err.Error(), tc.prefix, "the operation and key")
			if tc.tx {
				var tx *store.TxError
				require.ErrorAs(t, err, &tx)
			}
		})
	}
	t.Run("other errors are not ErrNoTable", func(t *testing.T) {
		client, table := dynamotest.NewTable(t)
		s := dynamostore.New(client, table, dynamostore.Options{})
		_, err := s.Get(t.Context(), "a/b")
		require.ErrorIs(t, err, store.ErrNotFound)
		assert.NotErrorIs(t, err, dynamostore.ErrNoTable)
		assert.NotErrorIs(t, &dynamostore.Error{Code: "ValidationException"}, dynamostore.ErrNoTable)
	})
}

// TestEscapedNames: item attributes named like the table's own attributes
// round-trip and do not disturb the key, version or index.
func TestEscapedNames(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	s := dynamostore.New(client, table, dynamostore.Options{})
	ctx := t.Context()
	in := store.Item{Key: "esc/a",
		Str: map[string]string{"v": "s-v", "sk": "s-sk", "~": "tilde", "~~a": "two", "ixsk": "user", store.IndexPartition: "p", store.IndexSort: "1"},
		Num: map[string]int64{"pk": 9},
		Map: map[string]map[string]string{"~m": {"v": "x"}},
	}
	got, err := s.Create(ctx, in)
	require.NoError(t, err)
	want := in.Clone()
	want.Version = 1
	assert.Equal(t, canon(want), canon(got))
	got, err = s.Update(ctx, store.Update{Key: "esc/a", Cond: []store.Cond{store.Eq("v", "s-v"), store.NumEq("pk", 9), store.VersionIs(1)},
		AddNum: map[string]int64{"pk": 1}, Set: map[string]string{"sk": "s-sk2"}})
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Version)
	assert.Equal(t, int64(10), got.Num["pk"])
	assert.Equal(t, "s-v", got.Str["v"])

	raw, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{dynamostore.AttrPK: &types.AttributeValueMemberS{Value: "esc"}, dynamostore.AttrSK: &types.AttributeValueMemberS{Value: "a"}}})
	require.NoError(t, err)
	assert.Equal(t, &types.AttributeValueMemberN{Value: "2"}, raw.Item[dynamostore.AttrVersion])
	assert.Equal(t, &types.AttributeValueMemberS{Value: "s-v"}, raw.Item["~v"])
	assert.Equal(t, &types.AttributeValueMemberS{Value: "1\x00esc/a"}, raw.Item[dynamostore.AttrIndexSortKey])
	assert.Equal(t, &types.AttributeValueMemberS{Value: "user"}, raw.Item["~ixsk"])
	assert.Equal(t, &types.AttributeValueMemberS{Value: "two"}, raw.Item["~~~a"])

	// Removing ixs takes the item out of the index.
	_, err = s.Update(ctx, store.Update{Key: "esc/a", Remove: []string{store.IndexSort}})
	require.NoError(t, err)
	raw, err = client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{dynamostore.AttrPK: &types.AttributeValueMemberS{Value: "esc"}, dynamostore.AttrSK: &types.AttributeValueMemberS{Value: "a"}}})
	require.NoError(t, err)
	assert.NotContains(t, raw.Item, dynamostore.AttrIndexSortKey)
	assert.NotContains(t, raw.Item, store.IndexSort)
}

// bigPages wraps the client and counts Query calls.
type queryCounter struct {
	dynamostore.API
	mu sync.Mutex
	n  int
}

func (q *queryCounter) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	q.mu.Lock()
	q.n++
	q.mu.Unlock()
	return q.API.Query(ctx, in, optFns...)
}

// TestPagesPastOneMegabyte: DynamoDB stops a Query at 1 MB; a page is still
// full unless it is the last.
func TestPagesPastOneMegabyte(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	qc := &queryCounter{API: client}
	s := dynamostore.New(qc, table, dynamostore.Options{})
	ctx := t.Context()
	blob := strings.Repeat("x", 300_000)
	for i := range 9 {
		_, err := s.Create(ctx, store.Item{Key: fmt.Sprintf("big/%d", i), Str: map[string]string{"blob": blob}})
		require.NoError(t, err)
	}
	page, err := s.List(ctx, "big/", "", 5)
	require.NoError(t, err)
	require.Len(t, page.Items, 5)
	require.NotEmpty(t, page.Next)
	assert.Greater(t, qc.n, 1, "got %d Query calls, want several (1 MB pages)", qc.n)
	page, err = s.List(ctx, "big/", page.Next, 5)
	require.NoError(t, err)
	require.Len(t, page.Items, 4)
	assert.Empty(t, page.Next)
	assert.Equal(t, "big/8", page.Items[3].Key)
}

// unprocessed wraps the client and leaves keys unprocessed in the first
// BatchGetItem responses.
type unprocessed struct {
	dynamostore.API
	left  int // calls that still leave keys unprocessed
	calls int
}

func (u *unprocessed) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	u.calls++
	if u.left == 0 {
		return u.API.BatchGetItem(ctx, in, optFns...)
	}
	u.left--
	var table string
	var ka types.KeysAndAttributes
	for table, ka = range in.RequestItems {
	}
	if len(ka.Keys) < 2 {
		return &dynamodb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems}, nil
	}
	half := len(ka.Keys) / 2
	first := ka
	first.Keys = ka.Keys[:half]
	out, err := u.API.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: first}}, optFns...)
	if err != nil {
		return nil, err
	}
	rest := ka
	rest.Keys = ka.Keys[half:]
	out.UnprocessedKeys = map[string]types.KeysAndAttributes{table: rest}
	return out, nil
}

func TestBatchGetUnprocessedKeys(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	ctx := t.Context()
	var keys []string
	for i := range 10 {
		k := fmt.Sprintf("bg/%d", i)
		keys = append(keys, k)
		_, err := dynamostore.New(client, table, dynamostore.Options{}).Create(ctx, store.Item{Key: k})
		require.NoError(t, err)
	}
	keys = append(keys, "bg/missing", "bg/3") // a missing and a duplicate key

	t.Run("retried until done", func(t *testing.T) {
		api := &unprocessed{API: client, left: 3}
		s := dynamostore.New(api, table, dynamostore.Options{})
		got, err := s.BatchGet(ctx, keys)
		require.NoError(t, err)
		assert.Len(t, got, 10)
		assert.Equal(t, 4, api.calls)
	})
	t.Run("bounded", func(t *testing.T) {
		api := &unprocessed{API: client, left: 100}
		s := dynamostore.New(api, table, dynamostore.Options{BatchGetAttempts: 3})
		_, err := s.BatchGet(ctx, keys)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "unprocessed after 3 attempts")
		assert.Equal(t, 3, api.calls)
	})
}

// TestRequestCosts pins how many requests each operation costs, with the
// request counter that other packages use.
func TestRequestCosts(t *testing.T) {
	var n dynamotest.Counter
	s := dynamotest.NewStore(t, dynamostore.Options{}, n.Option)
	ctx := t.Context()
	cost := func(t *testing.T, want map[string]int, f func() error) {
		t.Helper()
		n.Reset()
		require.NoError(t, f())
		assert.Equal(t, want, n.Counts())
	}
	idx := map[string]string{store.IndexPartition: "p", store.IndexSort: "1"}
	cost(t, map[string]int{"PutItem": 1}, func() error { _, err := s.Create(ctx, store.Item{Key: "r/a", Str: idx}); return err })
	// MapSet on a map attribute that does not exist yet costs a second
	// request (the first one tells that the map is missing)...
	cost(t, map[string]int{"UpdateItem": 2}, func() error {
		_, err := s.Update(ctx, store.Update{Key: "r/a", MapSet: map[string]map[string]string{"ud": {"k": "v"}}})
		return err
	})
	// ... and one once it exists.
	cost(t, map[string]int{"UpdateItem": 1}, func() error {
		_, err := s.Update(ctx, store.Update{Key: "r/a", Cond: []store.Cond{store.VersionIs(2)}, MapSet: map[string]map[string]string{"ud": {"j": "w"}}})
		return err
	})
	cost(t, map[string]int{"GetItem": 1}, func() error { _, err := s.Get(ctx, "r/a"); return err })
	cost(t, map[string]int{"Query": 1}, func() error { _, err := s.Query(ctx, store.Query{Partition: "p", Limit: 1}); return err })
	cost(t, map[string]int{"Query": 1}, func() error { _, err := s.List(ctx, "r/", "", 0); return err })
	cost(t, map[string]int{"TransactWriteItems": 1}, func() error {
		return s.Transact(ctx, []store.Op{{Update: &store.Update{Key: "r/a", Set: map[string]string{"s": "x"}}}, {Create: &store.Item{Key: "r/b"}}})
	})
	cost(t, map[string]int{"DeleteItem": 1}, func() error { return s.Delete(ctx, "r/b") })
	cost(t, map[string]int{"BatchGetItem": 1}, func() error { _, err := s.BatchGet(ctx, []string{"r/a", "r/b"}); return err })
	assert.Equal(t, 1, n.Total())
}

// TestCreateTable: CreateTable is idempotent, enables TTL, and refuses an
// existing table of another shape.
func TestCreateTable(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	ctx := t.Context()
	require.NoError(t, dynamostore.CreateTable(ctx, client, table), "second CreateTable")
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	require.NoError(t, err)
	assert.Equal(t, types.TimeToLiveStatusEnabled, ttl.TimeToLiveDescription.TimeToLiveStatus)
	assert.Equal(t, dynamostore.AttrTTL, aws.ToString(ttl.TimeToLiveDescription.AttributeName))
	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	require.NoError(t, err)
	require.Len(t, desc.Table.GlobalSecondaryIndexes, 1)
	assert.Equal(t, dynamostore.IndexPool, aws.ToString(desc.Table.GlobalSecondaryIndexes[0].IndexName))

	other := dynamotest.TableName(t) + "-other"
	in := dynamostore.CreateTableInput(other)
	in.GlobalSecondaryIndexes = nil
	in.AttributeDefinitions = in.AttributeDefinitions[:2]
	_, err = client.CreateTable(ctx, in)
	require.NoError(t, err)
	t.Cleanup(func() { _ = dynamostore.DeleteTable(context.Background(), client, other) })
	err = dynamostore.CreateTable(ctx, client, other)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "index pool is missing")

	require.NoError(t, dynamostore.DeleteTable(ctx, client, other))
	require.NoError(t, dynamostore.DeleteTable(ctx, client, other), "deleting a missing table")
}

// TestValuesRoundTrip: extreme numbers and unusual strings (NUL and control
// bytes included) survive every read and write path.
func TestValuesRoundTrip(t *testing.T) {
	s := dynamotest.NewStore(t, dynamostore.Options{})
	ctx := t.Context()
	nums := map[string]int64{
		"zero": 0, "one": 1, "minus": -1, "max": math.MaxInt64, "min": math.MinInt64,
		"f53p": 1<<53 + 1, "f53n": -(1 << 53) - 1, "i32": math.MaxInt32 + 1,
	}
	strs := map[string]string{
		"s-unicode": "ünïcødé 日本語 😀", "s-newline": "a\nb\r\n", "s-tab": "\tx", "s-spaces": "  padded  ",
		"s-zero": "0", "s-json": `{"a":[1,2]}`, "s-long": strings.Repeat("abcdefghij", 10000), "s-ctl": "\x01\x02\x7f", "s-nul": "a\x00b",
	}
	maps := map[string]map[string]string{"ud": {"k": "v", "empty-value": "", "ü": "ü"}}
	in := store.Item{Key: "val/a", Str: strs, Num: nums, Map: maps}
	want := in.Clone()
	want.Version = 1
	got, err := s.Create(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, canon(want), canon(got))
	got, err = s.Get(ctx, "val/a")
	require.NoError(t, err)
	assert.Equal(t, canon(want), canon(got))

	got, err = s.Update(ctx, store.Update{Key: "val/b", Upsert: true, Set: strs, SetNum: nums, SetMap: maps})
	require.NoError(t, err)
	wantB := want.Clone()
	wantB.Key = "val/b"
	assert.Equal(t, canon(wantB), canon(got))

	got, err = s.Update(ctx, store.Update{Key: "val/b", AddNum: map[string]int64{"max": -5, "min": 5, "f53p": 1}})
	require.NoError(t, err)
	assert.Equal(t, int64(math.MaxInt64-5), got.Num["max"])
	assert.Equal(t, int64(math.MinInt64+5), got.Num["min"])
	assert.Equal(t, int64(1<<53+2), got.Num["f53p"])

	page, err := s.List(ctx, "val/", "", 0)
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	assert.Equal(t, canon(want), canon(page.Items[0]))
	batch, err := s.BatchGet(ctx, []string{"val/a"})
	require.NoError(t, err)
	require.Len(t, batch, 1)
	assert.Equal(t, canon(want), canon(batch[0]))
}

// TestContextEnds: every operation called with a canceled (or expired)
// context returns the context's error, wrapped with the operation, and no
// SDK type, without waiting for retries.
func TestContextEnds(t *testing.T) {
	s := dynamotest.NewStore(t, dynamostore.Options{})
	_, err := s.Create(t.Context(), store.Item{Key: "ctx/a", Str: map[string]string{"x": "1"}})
	require.NoError(t, err)
	ops := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{name: "get", call: func(ctx context.Context) error { _, err := s.Get(ctx, "ctx/a"); return err }},
		{name: "batch get", call: func(ctx context.Context) error { _, err := s.BatchGet(ctx, []string{"ctx/a", "ctx/b"}); return err }},
		{name: "create", call: func(ctx context.Context) error { _, err := s.Create(ctx, store.Item{Key: "ctx/b"}); return err }},
		{name: "update", call: func(ctx context.Context) error {
			_, err := s.Update(ctx, store.Update{Key: "ctx/a", Set: map[string]string{"x": "2"}})
			return err
		}},
		{name: "delete", call: func(ctx context.Context) error { return s.Delete(ctx, "ctx/a") }},
		{name: "transact", call: func(ctx context.Context) error {
			return s.Transact(ctx, []store.Op{{Create: &store.Item{Key: "ctx/c"}}, {Update: &store.Update{Key: "ctx/a", Set: map[string]string{"x": "3"}}}})
		}},
		{name: "list", call: func(ctx context.Context) error { _, err := s.List(ctx, "ctx/", "", 0); return err }},
		{name: "query", call: func(ctx context.Context) error { _, err := s.Query(ctx, store.Query{Partition: "p"}); return err }},
	}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Unix(1, 0))
	defer cancel2()
	for _, tc := range ops {
		for _, c := range []struct {
			name string
			ctx  context.Context
			want error
		}{{"canceled", canceled, context.Canceled}, {"deadline", expired, context.DeadlineExceeded}} {
			t.Run(tc.name+"/"+c.name, func(t *testing.T) {
				err := tc.call(c.ctx)
				require.Error(t, err)
				assert.ErrorIs(t, err, c.want)
				requireNoSDKError(t, err)
				assert.Contains(t, err.Error(), "dynamostore: "+tc.name)
			})
		}
	}
	// Nothing was written.
	it, err := s.Get(t.Context(), "ctx/a")
	require.NoError(t, err)
	assert.Equal(t, "1", it.S("x"))
	_, err = s.Get(t.Context(), "ctx/b")
	assert.ErrorIs(t, err, store.ErrNotFound)
}
