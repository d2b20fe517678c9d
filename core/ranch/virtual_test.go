package ranch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// claimed seeds a virtual resource v claimed by mason at epoch 1 and the
// physical resources ps, free.
func claimed(e *env, v string, ud boskos.UserData, ps ...string) Claim {
	e.seed(res{name: v, rtype: "vm", state: boskos.Cleaning, owner: "mason", epoch: 1, ud: ud})
	for _, p := range ps {
		e.seed(res{name: p, rtype: "proj", state: boskos.Free, age: 1})
	}
	return Claim{Name: v, Owner: "mason", Epoch: 1}
}

func TestLeaseNeedsAllOrNothing(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		c := claimed(e, "vm-1", nil, "p1")
		_, ok, err := e.r.LeaseNeeds(e.ctx, c, map[string]int{"proj": 2})
		require.NoError(t, err)
		assert.False(t, ok)
		assert.Equal(t, boskos.Free, e.mustGet("p1").State, "one of two is not taken")
		e.seed(res{name: "p2", rtype: "proj", state: boskos.Free, age: 1})
		got, ok, err := e.r.LeaseNeeds(e.ctx, c, map[string]int{"proj": 2})
		require.NoError(t, err)
		require.True(t, ok)
		require.Len(t, got, 2)
		for _, p := range []string{"p1", "p2"} {
			r := e.mustGet(p)
			assert.Equal(t, boskos.Leased+"/mason", r.State+"/"+r.Owner)
		}
		names, err := boskos.ParseLeasedResources(e.mustGet("vm-1").UserData[boskos.LeasedResources])
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"p1", "p2"}, names)
		// Again: the work is done.
		again, ok, err := e.r.LeaseNeeds(e.ctx, c, map[string]int{"proj": 2})
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Len(t, again, 2)
	})
}

// TestLeaseNeedsLeavesReservedToTheQueue: a client waiting with a
// request_id has the free resource; Mason does not take it from under it.
func TestLeaseNeedsLeavesReservedToTheQueue(t *testing.T) {
	e := newEnv(t, Options{})
	c := claimed(e, "vm-1", nil)
	_, err := e.r.Acquire(e.ctx, "proj", boskos.Free, boskos.Busy, "ci", "req-1")
	require.Equal(t, boskos.ETypeNotFound, boskos.ErrorCode(err))
	e.seed(res{name: "p0", rtype: "proj", state: boskos.Dirty})
	_, err = e.r.Acquire(e.ctx, "proj", boskos.Free, boskos.Busy, "ci", "req-1")
	require.Equal(t, boskos.ENotFound, boskos.ErrorCode(err), "queued")
	e.seed(res{name: "p1", rtype: "proj", state: boskos.Free, age: 1})
	_, ok, err := e.r.LeaseNeeds(e.ctx, c, map[string]int{"proj": 1})
	require.NoError(t, err)
	assert.False(t, ok, "p1 is the queued client's")
	got, err := e.r.Acquire(e.ctx, "proj", boskos.Free, boskos.Busy, "ci", "req-1")
	require.NoError(t, err)
	assert.Equal(t, "p1", got.Name)
}

// TestLeaseNeedsMoreWaitingThanFree: with more request_ids waiting than
// free resources, every free one is reserved: Mason's needs are not met
// (it once sliced past the free resources it had read and panicked).
func TestLeaseNeedsMoreWaitingThanFree(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		c := claimed(e, "vm-1", nil)
		e.seed(res{name: "p0", rtype: "proj", state: boskos.Busy, owner: "x"})
		for _, id := range []string{"req-1", "req-2", "req-3"} {
			e.clock.Add(time.Second)
			_, err := e.r.Acquire(e.ctx, "proj", boskos.Free, boskos.Busy, "ci", id)
			require.Equal(t, boskos.ENotFound, boskos.ErrorCode(err), "%s queued", id)
		}
		require.NoError(t, e.r.Release(e.ctx, "p0", boskos.Free, "x", nil))
		leased, ok, err := e.r.LeaseNeeds(e.ctx, c, map[string]int{"proj": 1})
		require.NoError(t, err)
		assert.False(t, ok, "p0 is req-1's")
		assert.Empty(t, leased)
	})
}

func TestLeaseNeedsClaimLost(t *testing.T) {
	e := newEnv(t, Options{})
	c := claimed(e, "vm-1", nil, "p1")
	for _, bad := range []Claim{
		{Name: "vm-1", Owner: "mason", Epoch: 2},
		{Name: "vm-1", Owner: "other", Epoch: 1},
		{Name: "vm-2", Owner: "mason", Epoch: 1},
	} {
		_, _, err := e.r.LeaseNeeds(e.ctx, bad, map[string]int{"proj": 1})
		assert.ErrorIs(t, err, ErrClaimLost, "%+v", bad)
	}
	assert.Equal(t, boskos.Free, e.mustGet("p1").State)
	_, _, err := e.r.LeaseNeeds(e.ctx, c, map[string]int{"proj": store.MaxTransactItems})
	assert.Equal(t, boskos.EInvalid, boskos.ErrorCode(err))
}

// TestRecycleLeavesOthersAlone: recycle releases what is still the
// virtual resource's own (parked in its state, or leased for it), not a
// physical resource another virtual resource has leased since.
func TestRecycleLeavesOthersAlone(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		lr, err := boskos.FormatLeasedResources([]string{"p-parked", "p-leased", "p-other", "p-gone"})
		require.NoError(t, err)
		c := claimed(e, "vm-1", boskos.UserData{boskos.LeasedResources: lr, "keep": "x"})
		e.seed(res{name: "p-parked", rtype: "proj", state: "vm-1"})
		e.seed(res{name: "p-leased", rtype: "proj", state: boskos.Free})
		e.seed(res{name: "p-other", rtype: "proj", state: boskos.Free})
		// p-leased leased for vm-1 by a crashed attempt, p-other for vm-2.
		for _, x := range []struct{ p, v string }{{"p-leased", "vm-1"}, {"p-other", "vm-2"}} {
			it, err := e.mem.Get(e.ctx, resourceKey(x.p))
			require.NoError(t, err)
			u := leaseUpdate(it, boskos.Free, boskos.Leased, "mason", t0)
			u.Set[attrHeldFor] = x.v
			_, err = e.mem.Update(e.ctx, u)
			require.NoError(t, err)
		}
		released, err := e.r.RecycleVirtual(e.ctx, c)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"p-parked", "p-leased"}, released)
		assert.Equal(t, boskos.Dirty, e.mustGet("p-parked").State)
		assert.Equal(t, boskos.Dirty, e.mustGet("p-leased").State)
		assert.Equal(t, boskos.Leased+"/mason", e.mustGet("p-other").State+"/"+e.mustGet("p-other").Owner)
		v := e.mustGet("vm-1")
		assert.NotContains(t, v.UserData, boskos.LeasedResources)
		assert.Equal(t, "x", v.UserData["keep"])
		it, err := e.mem.Get(e.ctx, resourceKey("p-leased"))
		require.NoError(t, err)
		assert.Empty(t, it.S(attrHeldFor), "a release forgets whom it was leased for")
	})
}

func TestFreeAndAbortVirtual(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		ls := new(time.Duration)
		*ls = 48 * time.Hour
		d := boskos.DRLC{Type: "vm", InitialState: boskos.Dirty, MaxCount: 2, Needs: map[string]int{"proj": 1}, LifeSpan: ls}
		e.seedDRLC(d)
		c := claimed(e, "vm-1", nil, "p1")
		_, ok, err := e.r.LeaseNeeds(e.ctx, c, d.Needs)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, e.r.FreeVirtual(e.ctx, c))
		v, p := e.mustGet("vm-1"), e.mustGet("p1")
		assert.Equal(t, boskos.Free, v.State)
		assert.Empty(t, v.Owner)
		require.NotNil(t, v.ExpirationDate)
		assert.Equal(t, t0.Add(*ls), *v.ExpirationDate)
		assert.Equal(t, "vm-1/", p.State+"/"+p.Owner)
		require.NoError(t, e.r.FreeVirtual(e.ctx, c), "done already")
		released, err := e.r.AbortVirtual(e.ctx, c, "late")
		require.NoError(t, err)
		assert.Empty(t, released, "a lost claim aborts nothing")
		assert.Equal(t, boskos.Free, e.mustGet("vm-1").State)

		c2 := claimed(e, "vm-2", nil, "p2")
		_, ok, err = e.r.LeaseNeeds(e.ctx, c2, d.Needs)
		require.NoError(t, err)
		require.True(t, ok)
		released, err = e.r.AbortVirtual(e.ctx, c2, "converter failed")
		require.NoError(t, err)
		assert.Equal(t, []string{"p2"}, released)
		v2 := e.mustGet("vm-2")
		assert.Equal(t, boskos.Dirty+"/", v2.State+"/"+v2.Owner)
		assert.Equal(t, "converter failed", v2.UserData[MasonErrorKey])
		assert.NotContains(t, v2.UserData, boskos.LeasedResources)
		assert.Equal(t, boskos.Dirty+"/", e.mustGet("p2").State+"/"+e.mustGet("p2").Owner)
		assert.ErrorIs(t, e.r.FreeVirtual(e.ctx, c2), ErrClaimLost)
	})
}
