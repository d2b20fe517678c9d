package backend

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
)

// roundTrip writes an item and reads it back.
func roundTrip(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	_, err := s.Create(ctx, store.Item{Key: "test/k", Str: map[string]string{"a": "b"}})
	require.NoError(t, err)
	got, err := s.Get(ctx, "test/k")
	require.NoError(t, err)
	assert.Equal(t, "b", got.S("a"))
	assert.Equal(t, int64(1), got.Version)
}

func TestOpenMemory(t *testing.T) {
	s, err := Open(context.Background(), "memory")
	require.NoError(t, err)
	defer s.Close()
	roundTrip(t, s)

	// Each memory store is its own.
	s2, err := Open(context.Background(), "memory")
	require.NoError(t, err)
	defer s2.Close()
	_, err = s2.Get(context.Background(), "test/k")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestOpenBolt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "b.db") // directories are created
	s, err := Open(ctx, "bolt:"+path)
	require.NoError(t, err)
	roundTrip(t, s)

	// The file is locked while open.
	_, err = OpenWith(ctx, "bolt:"+path, Options{Bolt: boltstore.Options{OpenTimeout: 50 * time.Millisecond}})
	require.Error(t, err)
	assert.True(t, errors.Is(err, boltstore.ErrLocked), "got %v, want ErrLocked", err)

	// Durable: reopened, the item is there.
	require.NoError(t, s.Close())
	s, err = Open(ctx, "bolt:"+path)
	require.NoError(t, err)
	defer s.Close()
	got, err := s.Get(ctx, "test/k")
	require.NoError(t, err)
	assert.Equal(t, "b", got.S("a"))
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{
		{name: "unknown kind", spec: "sqlite:x.db", want: `unknown store "sqlite:x.db"`},
		{name: "bolt in a file", spec: "bolt:" + filepath.Join("open_test.go", "x.db"), want: "bolt store"},
		{name: "bad table", spec: "dynamodb:x", want: "invalid DynamoDB table name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.spec)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
