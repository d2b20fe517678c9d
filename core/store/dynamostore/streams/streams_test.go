package streams_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/streams"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// collector is a Handler that remembers the changes it accepted, and fails
// the batches failBatch says to.
type collector struct {
	mu        sync.Mutex
	batches   int
	changes   []store.Change
	failBatch func(n int) bool
}

func (c *collector) handle(_ context.Context, ch []store.Change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches++
	if c.failBatch != nil && c.failBatch(c.batches) {
		return errors.New("writer crashed")
	}
	c.changes = append(c.changes, ch...)
	return nil
}

// describe renders a change as "key old-version->new-version".
func describe(c store.Change) string {
	key, ov, nv := "", int64(0), int64(0)
	if c.Old != nil {
		key, ov = c.Old.Key, c.Old.Version
	}
	if c.New != nil {
		key, nv = c.New.Key, c.New.Version
	}
	return fmt.Sprintf("%s %d->%d", key, ov, nv)
}

func TestReaderOnDynamoDBLocal(t *testing.T) {
	ctx := t.Context()
	client, table := dynamotest.NewTable(t)
	st := dynamostore.New(client, table, dynamostore.Options{})
	sc, err := streams.NewClientFromConfig(aws.Config{}, dynamostore.ClientConfig{
		Region: dynamotest.Region, Endpoint: dynamotest.Endpoint(t),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}), error(nil)
	require.NoError(t, err)

	var want []string
	for i := range 5 {
		key := fmt.Sprintf("data/k%d", i)
		_, err := st.Create(ctx, store.Item{Key: key, Str: map[string]string{"x": "1"}, Map: map[string]map[string]string{"m": {"a": "b"}}})
		require.NoError(t, err)
		want = append(want, key+" 0->1")
		_, err = st.Update(ctx, store.Update{Key: key, Set: map[string]string{"x": "2"}})
		require.NoError(t, err)
		want = append(want, key+" 1->2")
	}
	require.NoError(t, st.Delete(ctx, "data/k0"))
	want = append(want, "data/k0 2->0")

	checkpoints := memstore.New()
	got := func(c *collector) []string {
		var out []string
		for _, ch := range c.changes {
			out = append(out, describe(ch))
		}
		return out
	}
	tests := []struct {
		name        string
		failBatch   func(int) bool
		wantErr     bool
		wantChanges []string
	}{
		// Batches of 3: the second fails, as a writer killed between
		// batches; the first is checkpointed.
		{"crash after the first batch", func(n int) bool { return n == 2 }, true, want[:3]},
		{"restart resumes after the checkpoint", nil, false, want[3:]},
		{"nothing new", nil, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &collector{failBatch: tc.failBatch}
			r := streams.New(sc, client, table, c.handle, streams.Options{Checkpoints: checkpoints, BatchSize: 3})
			_, err := r.Pass(ctx)
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.wantChanges, got(c))
		})
	}

	t.Run("fresh checkpoints replay everything", func(t *testing.T) {
		c := &collector{}
		r := streams.New(sc, client, table, c.handle, streams.Options{Checkpoints: memstore.New()})
		n, err := r.Pass(ctx)
		require.NoError(t, err)
		assert.Equal(t, len(want), n)
		assert.Equal(t, want, got(c))
		last := c.changes[len(c.changes)-1]
		assert.Nil(t, last.New, "a deletion has no new image")
		require.NotNil(t, last.Old)
		assert.Equal(t, "2", last.Old.S("x"))
		first := c.changes[0]
		assert.Equal(t, map[string]string{"a": "b"}, first.New.Map["m"], "maps survive the conversion")
		assert.False(t, first.At.IsZero(), "the record's time")
	})

	t.Run("checkpoints in the table itself", func(t *testing.T) {
		c := &collector{}
		r := streams.New(sc, client, table, c.handle, streams.Options{Checkpoints: st})
		_, err := r.Pass(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, got(c), "the checkpoint items are written after the records read")
		for range 3 {
			c2 := &collector{}
			r2 := streams.New(sc, client, table, c2.handle, streams.Options{Checkpoints: st})
			n, err := r2.Pass(ctx)
			require.NoError(t, err)
			assert.Zero(t, n, "the checkpoints' own changes are not delivered (nor checkpointed)")
			assert.Empty(t, c2.changes)
		}
	})
}

func TestNoStream(t *testing.T) {
	ctx := t.Context()
	client := dynamotest.Client(t)
	r := streams.New(nil, client, "no-such-table", func(context.Context, []store.Change) error { return nil }, streams.Options{Checkpoints: memstore.New()})
	_, err := r.Pass(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "describe table no-such-table")
}
