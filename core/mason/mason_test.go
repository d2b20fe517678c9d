package mason_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/mason"
)

// upstreamConfig is upstream's TestMason: 10 type1 free, 10 type2 dirty
// needing one type1 each.
const upstreamConfig = `
resources:
- type: type1
  state: free
  names: [t1-0, t1-1, t1-2, t1-3, t1-4, t1-5, t1-6, t1-7, t1-8, t1-9]
- type: type2
  state: dirty
  min-count: 10
  max-count: 10
  lifespan: 48h
  needs: {type1: 1}
  config: {type: Fake, content: "anything"}
`

// acquireVirtual is the Mason client's acquire over the ranch: the virtual
// resource, then its physical ones by state.
func acquireVirtual(ctx context.Context, w *world, owner string) (boskos.Resource, []boskos.Resource, error) {
	v, err := w.r.Acquire(ctx, "type2", boskos.Free, "Used", owner, "")
	if err != nil {
		return v, nil, err
	}
	names, err := boskos.ParseLeasedResources(v.UserData[boskos.LeasedResources])
	if err != nil {
		return v, nil, err
	}
	ps, err := w.r.AcquireByState(ctx, v.Name, "Used", owner, names)
	return v, ps, err
}

// TestUpstreamScenario is upstream's mason_test.go TestMason on every
// backend, driven by the dispatcher and the local runner of the workflow
// document.
func TestUpstreamScenario(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		w.sync(upstreamConfig)
		require.Equal(t, map[string]int{boskos.Dirty: 10}, w.byState("type2"))
		p := w.mason(nil)
		rep := w.pass(p)
		assert.Equal(t, 10, rep.Claimed)
		assert.Equal(t, 10, rep.Started)
		w.drain(p)

		all := w.all()
		parked := map[string]bool{}
		for _, v := range all {
			if v.Type != "type2" {
				continue
			}
			assert.Equal(t, boskos.Free, v.State, v.Name)
			assert.Empty(t, v.Owner, v.Name)
			assert.NotNil(t, v.ExpirationDate, "%s: a free dynamic resource has its lifespan", v.Name)
			names, err := boskos.ParseLeasedResources(v.UserData[boskos.LeasedResources])
			require.NoError(t, err)
			require.Len(t, names, 1, v.Name)
			assert.Equal(t, v.Name, v.UserData["built"])
			assert.Equal(t, names[0], v.UserData["from"])
			assert.NotContains(t, v.UserData, "masonError")
			phys := all[names[0]]
			assert.Equal(t, "type1", phys.Type)
			assert.Equal(t, v.Name, phys.State, "a physical resource ends in the state named after its virtual one")
			assert.Empty(t, phys.Owner)
			assert.False(t, parked[phys.Name], "%s leased twice", phys.Name)
			parked[phys.Name] = true
		}
		assert.Len(t, parked, 10)
		w.checkInvariants("type2")
		constructed, failed := w.obs.counts()
		assert.Equal(t, map[string]int{"type2": 10}, constructed)
		assert.Empty(t, failed)

		// 10 Mason-client acquires succeed, the 11th does not.
		var got []string
		for i := range 10 {
			v, ps, err := acquireVirtual(w.ctx, w, fmt.Sprintf("user-%d", i))
			require.NoError(t, err)
			require.Len(t, ps, 1)
			got = append(got, v.Name, ps[0].Name)
		}
		_, _, err := acquireVirtual(w.ctx, w, "user-10")
		assert.Equal(t, boskos.ENotFound, boskos.ErrorCode(err), "the 11th acquire: %v", err)

		// Releasing them all as dirty leaves every resource dirty.
		for _, n := range got {
			owner := all[n].Owner
			_ = owner
			rs := w.all()[n]
			require.NoError(t, w.r.Release(w.ctx, n, boskos.Dirty, rs.Owner, nil))
		}
		assert.Equal(t, map[string]int{boskos.Dirty: 10}, w.byState("type1"))
		assert.Equal(t, map[string]int{boskos.Dirty: 10}, w.byState("type2"))

		// The next pass claims them again: their old physical resources
		// are somebody else's business now (dirty), nothing is free, so
		// every construction waits holding nothing.
		rep = w.pass(p)
		assert.Equal(t, 10, rep.Claimed)
		assert.Equal(t, 10, p.local.Running())
		assert.Equal(t, map[string]int{boskos.Dirty: 10}, w.byState("type1"))
		for _, v := range w.all() {
			if v.Type == "type2" {
				assert.Equal(t, boskos.Cleaning+"/"+mason.Owner, v.State+"/"+v.Owner)
				assert.NotContains(t, v.UserData, boskos.LeasedResources, "recycle drops the old names")
			}
		}
		w.checkInvariants("type2")

		// A janitor frees the physical resources: the waiting
		// constructions finish.
		for n, r := range w.all() {
			if r.Type == "type1" {
				_, err := w.r.AcquireByState(w.ctx, boskos.Dirty, boskos.Free, "janitor", []string{n})
				require.NoError(t, err)
				require.NoError(t, w.r.Release(w.ctx, n, boskos.Free, "janitor", nil))
			}
		}
		w.drain(p)
		assert.Equal(t, map[string]int{boskos.Free: 10}, w.byState("type2"))
		w.checkInvariants("type2")
	})
}

// TestTwoMasons: two processes' dispatchers and runners on one store at
// once: every claim goes to one of them, every virtual resource is built
// once, and no physical resource is given to two.
func TestTwoMasons(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		w.sync(upstreamConfig)
		a, b := w.mason(nil), w.mason(nil)
		var wg sync.WaitGroup
		reps := make([]mason.DispatchReport, 2)
		for i, p := range []*masonProc{a, b} {
			wg.Go(func() {
				rep, err := p.disp.Pass(w.ctx)
				assert.NoError(t, err)
				reps[i] = rep
			})
		}
		wg.Wait()
		assert.Equal(t, 10, reps[0].Claimed+reps[1].Claimed, "%+v", reps)
		w.settle(a)
		for i := 0; a.local.Running()+b.local.Running() > 0; i++ {
			require.Less(t, i, 20)
			w.wake(a)
		}
		assert.Equal(t, map[string]int{boskos.Free: 10}, w.byState("type2"))
		w.checkInvariants("type2")
		constructed, _ := w.obs.counts()
		assert.Equal(t, map[string]int{"type2": 10}, constructed, "each built once")
	})
}
