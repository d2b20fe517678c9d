package testkit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func TestClock(t *testing.T) {
	c := NewClock()
	assert.Equal(t, T0, c.Now())
	c.Add(time.Minute)
	assert.Equal(t, T0.Add(time.Minute), c.Now())
	assert.True(t, T0.After(time.Now()), "T0 lies in the future")
}

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _, _ = b.Write([]byte("x")) })
	}
	wg.Wait()
	assert.Equal(t, "xxxxxxxx", b.String())
}

func TestBackendsAreFreshAndWork(t *testing.T) {
	for _, be := range Backends {
		t.Run(be.Name, func(t *testing.T) {
			s := be.Open(t)
			ctx := context.Background()
			_, err := s.Get(ctx, "x/y")
			require.ErrorIs(t, err, store.ErrNotFound, "empty")
			_, err = s.Create(ctx, store.Item{Key: "x/y", Str: map[string]string{"a": "b"}})
			if be.Name == "faults" {
				require.ErrorIs(t, err, store.ErrConflict, "the first write of a key conflicts")
				_, err = s.Create(ctx, store.Item{Key: "x/y", Str: map[string]string{"a": "b"}})
			}
			require.NoError(t, err)
			it, err := s.Get(ctx, "x/y")
			require.NoError(t, err)
			assert.Equal(t, "b", it.S("a"))
		})
	}
}
