package storetest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
)

// testItemSizeLimit: items up to a little under store.MaxItemBytes are
// stored on every backend; a write that would make an item bigger than
// store.MaxItemBytes fails with ErrTooLarge and changes nothing, whether it
// creates, upserts, grows an item key by key, or is part of a transaction.
func testItemSizeLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	// 4 KiB under the bound leaves room for DynamoDB's own attributes.
	fits := store.Item{Key: "sz/fits", Str: map[string]string{"s": strings.Repeat("a", store.MaxItemBytes-4096)}}
	require.LessOrEqual(t, fits.Size(), store.MaxItemBytes)
	want := fits.Clone()
	want.Version = 1
	requireItem(t, want, mustCreate(t, s, fits))

	over := store.Item{Key: "sz/over", Str: map[string]string{"s": strings.Repeat("b", store.MaxItemBytes)}}
	require.Greater(t, over.Size(), store.MaxItemBytes)
	_, err := s.Create(ctx, over)
	requireSentinel(t, err, store.ErrTooLarge, "sz/over")
	requireMissing(t, s, "sz/over")

	_, err = s.Update(ctx, store.Update{Key: "sz/over", Upsert: true, Set: over.Str})
	requireSentinel(t, err, store.ErrTooLarge, "sz/over")
	requireMissing(t, s, "sz/over")

	// Growing the item that fits past the bound, one map key at a time.
	grow := store.Update{Key: "sz/fits", MapSet: map[string]map[string]string{"ud": {"k": strings.Repeat("c", 8192)}}}
	_, err = s.Update(ctx, grow)
	requireSentinel(t, err, store.ErrTooLarge, "sz/fits")
	requireStored(t, s, want)
	grow.Set, grow.MapSet = map[string]string{"s2": strings.Repeat("c", 8192)}, nil
	_, err = s.Update(ctx, grow)
	requireSentinel(t, err, store.ErrTooLarge, "sz/fits")
	requireStored(t, s, want)

	// In a transaction: the other operations do not happen either.
	err = s.Transact(ctx, []store.Op{
		{Create: &store.Item{Key: "sz/small", Str: map[string]string{"a": "b"}}},
		{Update: &grow},
	})
	requireTxErr(t, err, 1, store.ErrTooLarge)
	requireMissing(t, s, "sz/small")
	requireStored(t, s, want)
	err = s.Transact(ctx, []store.Op{{Create: &over}, {Update: &store.Update{Key: "sz/fits", Set: map[string]string{"x": "y"}}}})
	requireTxErr(t, err, 0, store.ErrTooLarge)
	requireStored(t, s, want)
}
