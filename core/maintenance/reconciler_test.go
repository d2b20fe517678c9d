package maintenance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// memSource is a Source in memory that counts its fetches.
type memSource struct {
	mu      sync.Mutex
	data    string
	version int
	fetches int
	err     error
}

func (s *memSource) Name() string { return "mem://config.yaml" }

func (s *memSource) put(data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = data
	s.version++
}

func (s *memSource) Fetch(_ context.Context, version string) (Document, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	if s.err != nil {
		return Document{}, s.err
	}
	v := fmt.Sprintf("v%d", s.version)
	if version == v {
		return Document{Version: v, NotModified: true}, nil
	}
	return Document{Data: []byte(s.data), Version: v}, nil
}

func (s *memSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

const recCfg1 = `
resources:
- {type: proj, names: [p-1, p-2]}
- {type: dyn, state: free, min-count: 1, max-count: 2, lifespan: 1h}
`

func TestReconcilerFromSource(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		src := &memSource{}
		src.put(recCfg1)
		c := NewReconciler(r, ReconcilerOptions{Source: src, Logger: quiet()})

		rep, err := c.Reconcile(w.ctx)
		require.NoError(t, err)
		assert.True(t, rep.Fetched)
		assert.True(t, rep.Synced)
		a, err := r.AppliedConfig(w.ctx)
		require.NoError(t, err)
		assert.Equal(t, ranch.Origin{Source: "mem://config.yaml", Version: "v1"}, a.Origin)
		assert.Len(t, states(t, r), 3, "p-1, p-2 and one dynamic resource")

		// Unchanged: one conditional fetch, no sync.
		rep, err = c.Reconcile(w.ctx)
		require.NoError(t, err)
		assert.False(t, rep.Fetched)
		assert.False(t, rep.Synced)
		assert.Equal(t, 2, src.count())

		// A fresh reconciler (a new Lambda container) fetches conditionally
		// too: the version lives in the store.
		c2 := NewReconciler(w.ranch(), ReconcilerOptions{Source: src, Logger: quiet()})
		rep, err = c2.Reconcile(w.ctx)
		require.NoError(t, err)
		assert.False(t, rep.Fetched)

		// Changed: applied.
		src.put("resources:\n- {type: proj, names: [p-1, p-3]}\n")
		rep, err = c.Reconcile(w.ctx)
		require.NoError(t, err)
		assert.True(t, rep.Synced)
		got := states(t, r)
		assert.Contains(t, got, "p-3")
		assert.NotContains(t, got, "p-2")
	})
}

func TestReconcilerRefusesInvalidDocument(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		src := &memSource{}
		src.put(recCfg1)
		c := NewReconciler(r, ReconcilerOptions{Source: src, Logger: quiet()})
		_, err := c.Reconcile(w.ctx)
		require.NoError(t, err)
		before := states(t, r)

		src.put("resources:\n- {type: proj, names: [P_1]}\n- {type: x, max-count: 0}\n")
		rep, err := c.Reconcile(w.ctx)
		require.NoError(t, err, "an invalid document is not an error of the pass")
		assert.Contains(t, rep.Invalid, "names.0(P_1) is invalid")
		assert.Contains(t, rep.Invalid, ".1.max-count: must be >0", "every error is reported")
		assert.False(t, rep.Synced)
		assert.Equal(t, before, states(t, r), "the config in force is kept")
		a, err := r.AppliedConfig(w.ctx)
		require.NoError(t, err)
		assert.Equal(t, "v1", a.Version)

		// Unchanged and still invalid: not parsed again.
		rep, err = c.Reconcile(w.ctx)
		require.NoError(t, err)
		assert.False(t, rep.Fetched)
		assert.NotEmpty(t, rep.Invalid)

		src.put("resources:\n- {type: proj, names: [p-9]}\n")
		rep, err = c.Reconcile(w.ctx)
		require.NoError(t, err)
		assert.True(t, rep.Synced)
		assert.Empty(t, rep.Invalid)
		got := states(t, r)
		assert.Equal(t, "free/", got["p-9"])
		assert.Len(t, got, 2, "p-9 and the dynamic resource, winding down: %v", got)
		m, err := r.Metric(w.ctx, "dyn")
		require.NoError(t, err)
		assert.Equal(t, map[string]int{boskos.ToBeDeleted: 1}, m.Current, "a DRLC that left the config winds down")
	})
}

func TestReconcilerSameContentNewVersion(t *testing.T) {
	w := &world{ctx: context.Background(), store: backends[0].Open(t), clock: testkit.NewClock()}
	r := w.ranch()
	src := &memSource{}
	src.put(recCfg1)
	c := NewReconciler(r, ReconcilerOptions{Source: src, Logger: quiet()})
	_, err := c.Reconcile(w.ctx)
	require.NoError(t, err)
	src.put("# the same, re-uploaded\n" + recCfg1)
	rep, err := c.Reconcile(w.ctx)
	require.NoError(t, err)
	assert.True(t, rep.Fetched)
	assert.False(t, rep.Synced, "equal content: no sync")
	a, err := r.AppliedConfig(w.ctx)
	require.NoError(t, err)
	assert.Equal(t, "v2", a.Version, "the new version is noted")
	rep, err = c.Reconcile(w.ctx)
	require.NoError(t, err)
	assert.False(t, rep.Fetched)
}

func TestReconcilerSourceDownStillReconciles(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		src := &memSource{}
		src.put(recCfg1)
		c := NewReconciler(r, ReconcilerOptions{Source: src, Logger: quiet()})
		_, err := c.Reconcile(w.ctx)
		require.NoError(t, err)
		// The dynamic resource expires while S3 is unreachable.
		dyn, err := r.Acquire(w.ctx, "dyn", "free", "busy", "me", "")
		require.NoError(t, err)
		require.NoError(t, r.Release(w.ctx, dyn.Name, "free", "me", nil))
		w.clock.Add(2 * time.Hour)
		src.err = errors.New("connection refused")
		_, err = c.Reconcile(w.ctx)
		require.ErrorContains(t, err, "connection refused")
		require.ErrorContains(t, err, "keeping the config in force")
		assert.Equal(t, boskos.ToBeDeleted, states(t, r)[dyn.Name][:len(boskos.ToBeDeleted)], "reconcile ran anyway")
	})
}

func TestReconcilerResyncsDeferredWork(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		require.NoError(t, r.SyncConfig(w.ctx, mustConfig(t, "resources:\n- {type: proj, names: [p-1, p-2]}\n")))
		_, err := r.Acquire(w.ctx, "proj", "free", "busy", "job", "")
		require.NoError(t, err)
		// Another process applies a config without p-1 (leased): deferred.
		other := w.ranch()
		rep, err := Apply(w.ctx, other, mustConfig(t, "resources:\n- {type: proj, names: [p-2]}\n"), ranch.Origin{Source: "file:x"})
		require.NoError(t, err)
		assert.Equal(t, []string{"p-1"}, rep.Sync.Deferred)

		c := NewReconciler(r, ReconcilerOptions{Logger: quiet()})
		got, err := c.Reconcile(w.ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"p-1"}, got.Deferred, "still leased")
		require.NoError(t, r.Release(w.ctx, "p-1", "dirty", "job", nil))
		got, err = c.Reconcile(w.ctx)
		require.NoError(t, err)
		assert.True(t, got.Synced)
		assert.Empty(t, got.Deferred)
		assert.Equal(t, map[string]string{"p-2": "free/"}, states(t, r), "deleted after its release, without the file")
		got, err = c.Reconcile(w.ctx)
		require.NoError(t, err)
		assert.False(t, got.Synced, "nothing pending any more")
	})
}

func TestReconcilerQueueGC(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		require.NoError(t, r.SyncConfig(w.ctx, mustConfig(t, "resources:\n- {type: proj, names: [p-1]}\n")))
		_, err := r.Acquire(w.ctx, "proj", "free", "busy", "a", "")
		require.NoError(t, err)
		_, err = r.Acquire(w.ctx, "proj", "free", "busy", "b", "waiting-id")
		require.Equal(t, boskos.ENotFound, boskos.ErrorCode(err))
		w.clock.Add(10 * time.Minute)
		rep, err := NewReconciler(r, ReconcilerOptions{Logger: quiet()}).Reconcile(w.ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, rep.QueueGC)
	})
}

func TestReconcilerConcurrentCopies(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		src := &memSource{}
		src.put("resources:\n- {type: proj, names: [p-1, p-2, p-3]}\n- {type: dyn, min-count: 3, max-count: 3}\n")
		var wg sync.WaitGroup
		for range 2 {
			c := NewReconciler(w.ranch(), ReconcilerOptions{Source: src, Logger: quiet()})
			wg.Go(func() {
				_, err := c.Reconcile(w.ctx)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		r := w.ranch()
		_, err := NewReconciler(r, ReconcilerOptions{Source: src, Logger: quiet()}).Reconcile(w.ctx)
		require.NoError(t, err)
		m, err := r.Metric(w.ctx, "dyn")
		require.NoError(t, err)
		assert.Equal(t, map[string]int{"free": 3}, m.Current, "min-count 3, not 6: creation is bounded by max-count in the store")
		assert.Len(t, states(t, r), 6)
	})
}
