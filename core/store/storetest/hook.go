package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
)

// hookCall is what a WriteHook was called with.
type hookCall struct {
	Key            string
	OldVer, NewVer int64 // 0: absent
}

// recorder is a WriteHook that creates "rec/<key>/<version>" for every
// write of a "data/" key and remembers its calls.
type recorder struct {
	mu    sync.Mutex
	calls []hookCall
}

func (r *recorder) hook(old, next *store.Item) []store.Item {
	c := hookCall{}
	switch {
	case next != nil:
		c.Key, c.NewVer = next.Key, next.Version
	case old != nil:
		c.Key = old.Key
	}
	if old != nil {
		c.OldVer = old.Version
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	if len(c.Key) < 5 || c.Key[:5] != "data/" {
		return nil
	}
	ver := c.NewVer
	if next == nil {
		ver = c.OldVer + 1
	}
	return []store.Item{
		{Key: "rec/" + c.Key[5:] + "/" + string(rune('0'+ver)), Str: map[string]string{"of": c.Key, store.IndexPartition: "recs", store.IndexSort: c.Key}},
		{Key: "invalid-key"}, // refused, silently
		{Key: "rec/fixed", Str: map[string]string{"first": c.Key}},
	}
}

func (r *recorder) take() []hookCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// RunWriteHook checks a backend's store.WriteHook support: open returns a
// fresh store that calls hook. The hook sees every changed item with its
// versions before and after, its items are created with the write (and
// indexed), not when the write fails, and an existing key is left alone.
func RunWriteHook(t *testing.T, open func(t *testing.T, hook store.WriteHook) store.Store) {
	ctx := context.Background()
	rec := &recorder{}
	s := open(t, rec.hook)

	get := func(key string) (store.Item, bool) {
		it, err := s.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return store.Item{}, false
		}
		require.NoError(t, err)
		return it, true
	}

	_, err := s.Create(ctx, store.Item{Key: "data/a", Str: map[string]string{"x": "1"}})
	require.NoError(t, err)
	assert.Equal(t, []hookCall{{Key: "data/a", NewVer: 1}}, rec.take(), "create")
	it, ok := get("rec/a/1")
	require.True(t, ok, "the hook's item is created with the write")
	assert.Equal(t, "data/a", it.S("of"))
	first, ok := get("rec/fixed")
	require.True(t, ok)
	assert.Equal(t, "data/a", first.S("first"))

	tests := []struct {
		name  string
		write func() error
		calls []hookCall
		made  []string
	}{
		{"update", func() error {
			_, err := s.Update(ctx, store.Update{Key: "data/a", Set: map[string]string{"x": "2"}})
			return err
		}, []hookCall{{Key: "data/a", OldVer: 1, NewVer: 2}}, []string{"rec/a/2"}},
		{"upsert", func() error {
			_, err := s.Update(ctx, store.Update{Key: "data/b", Upsert: true, Set: map[string]string{"x": "1"}})
			return err
		}, []hookCall{{Key: "data/b", NewVer: 1}}, []string{"rec/b/1"}},
		{"transaction", func() error {
			return s.Transact(ctx, []store.Op{
				{Update: &store.Update{Key: "data/a", Set: map[string]string{"x": "3"}}},
				{Create: &store.Item{Key: "data/c"}},
				{Delete: &store.Delete{Key: "data/b"}},
				{Check: &store.Check{Key: "rec/fixed"}},
			})
		}, []hookCall{{Key: "data/a", OldVer: 2, NewVer: 3}, {Key: "data/c", NewVer: 1}, {Key: "data/b", OldVer: 1}}, []string{"rec/a/3", "rec/c/1", "rec/b/2"}},
		{"delete", func() error { return s.Delete(ctx, "data/c") }, []hookCall{{Key: "data/c", OldVer: 1}}, []string{"rec/c/2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.write())
			assert.ElementsMatch(t, tc.calls, rec.take())
			for _, k := range tc.made {
				_, ok := get(k)
				assert.True(t, ok, "got no %s, want it created with the write", k)
			}
		})
	}
	first, _ = get("rec/fixed")
	assert.Equal(t, "data/a", first.S("first"), "an existing key is left alone")

	failed := []struct {
		name  string
		write func() error
	}{
		{"update condition", func() error {
			_, err := s.Update(ctx, store.Update{Key: "data/a", Cond: []store.Cond{store.VersionIs(99)}, Set: map[string]string{"x": "9"}})
			return err
		}},
		{"create exists", func() error {
			_, err := s.Create(ctx, store.Item{Key: "data/a"})
			return err
		}},
		{"transaction", func() error {
			return s.Transact(ctx, []store.Op{
				{Create: &store.Item{Key: "data/d"}},
				{Check: &store.Check{Key: "data/a", Cond: []store.Cond{store.VersionIs(99)}}},
			})
		}},
		{"delete missing", func() error { return s.Delete(ctx, "data/zz") }},
	}
	for _, tc := range failed {
		t.Run("failed "+tc.name, func(t *testing.T) {
			require.Error(t, tc.write())
			assert.Empty(t, rec.take(), "the hook is not called for a failed write")
			_, made := get("rec/d/1")
			assert.False(t, made, "a failed write creates no hook item")
		})
	}
	page, err := s.Query(ctx, store.Query{Partition: "recs", Limit: 100})
	require.NoError(t, err)
	assert.Len(t, page.Items, 7, "hook items are indexed")
}
