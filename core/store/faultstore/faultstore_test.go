package faultstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

func TestFirstWriteConflict(t *testing.T) {
	ctx := context.Background()
	s := faultstore.New(memstore.New(), faultstore.FirstWriteConflict())

	_, err := s.Create(ctx, store.Item{Key: "a/1"})
	require.ErrorIs(t, err, store.ErrConflict, "first write of a/1")
	_, err = s.Get(ctx, "a/1")
	require.ErrorIs(t, err, store.ErrNotFound, "an injected failure must not reach the store")

	_, err = s.Create(ctx, store.Item{Key: "a/1"})
	require.NoError(t, err, "second write of a/1")
	_, err = s.Update(ctx, store.Update{Key: "a/1", Set: map[string]string{"x": "y"}})
	require.NoError(t, err, "third write of a/1")

	// A transaction with one fresh key fails as a whole, with a TxError.
	err = s.Transact(ctx, []store.Op{
		{Update: &store.Update{Key: "a/1", Set: map[string]string{"x": "z"}}},
		{Create: &store.Item{Key: "a/2"}},
	})
	var txe *store.TxError
	require.ErrorAs(t, err, &txe)
	require.ErrorIs(t, err, store.ErrConflict)
	assert.Equal(t, 1, txe.Index, "the operation on the fresh key")
	it, err := s.Get(ctx, "a/1")
	require.NoError(t, err)
	assert.Equal(t, "y", it.S("x"), "failed transaction must change nothing")

	require.NoError(t, s.Transact(ctx, []store.Op{{Create: &store.Item{Key: "a/2"}}}))
	assert.Equal(t, 2, s.Injected(), "a/2 was seen by the failed transaction")
	assert.Equal(t, map[string]int{"Create": 2, "Update": 1, "Get": 2, "Transact": 2}, s.Counts())
}

func TestFail(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		rule    faultstore.Rule
		calls   int
		wantErr []error
	}{
		{"twice", faultstore.Fail(faultstore.Method(faultstore.Get), boom, 2), 3, []error{boom, boom, store.ErrNotFound}},
		{"always", faultstore.Fail(faultstore.Method(faultstore.Get), nil, 0), 3,
			[]error{faultstore.ErrInjected, faultstore.ErrInjected, faultstore.ErrInjected}},
		{"other method", faultstore.Fail(faultstore.Writes, boom, 0), 1, []error{store.ErrNotFound}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := faultstore.New(memstore.New(), tc.rule)
			for i := 0; i < tc.calls; i++ {
				_, err := s.Get(ctx, "a/missing")
				assert.ErrorIs(t, err, tc.wantErr[i], "call %d", i)
			}
			s.ResetCounts()
			assert.Empty(t, s.Counts())
		})
	}
}
