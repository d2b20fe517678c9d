package ranch

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
)

func TestCleanToBeDeleted(t *testing.T) {
	for _, tc := range []struct {
		name       string
		drlcs      []string
		seed       []res
		want       map[string]string // summary after the pass
		tombstoned []string
		released   []string
		leftAlone  []string
	}{
		{
			// upstream cleaner_test.go TestRecycleResources "leasedResources"
			name:  "leasedResources",
			drlcs: []string{"dynamic"},
			seed: []res{
				{name: "static_1", rtype: "static", state: "dynamic_1"},
				{name: "static_2", rtype: "static", state: "dynamic_1"},
				{name: "static_3", rtype: "static", state: "dynamic_2"},
				{name: "dynamic_1", rtype: "dynamic", state: boskos.ToBeDeleted, ud: boskos.UserData{boskos.LeasedResources: "- static_1\n- static_2\n"}},
				{name: "dynamic_2", rtype: "dynamic", state: boskos.ToBeDeleted, ud: boskos.UserData{boskos.LeasedResources: `["static_3"]`}},
			},
			want: map[string]string{
				"static_1": "static/dirty/", "static_2": "static/dirty/", "static_3": "static/dirty/",
				"dynamic_1": "dynamic/tombstone/", "dynamic_2": "dynamic/tombstone/",
			},
			tombstoned: []string{"dynamic_1", "dynamic_2"},
			released:   []string{"static_1", "static_2", "static_3"},
		},
		{
			// upstream "missingLeasedResource": a listed name whose state is
			// not the virtual name stays as it is, the others are released.
			name:  "missing leased resource",
			drlcs: []string{"dynamic"},
			seed: []res{
				{name: "static_1", rtype: "static", state: "free"},
				{name: "static_2", rtype: "static", state: "dynamic_1"},
				{name: "dynamic_1", rtype: "dynamic", state: boskos.ToBeDeleted, ud: boskos.UserData{boskos.LeasedResources: "- static_1\n- static_2\n- gone\n"}},
			},
			want:       map[string]string{"static_1": "static/free/", "static_2": "static/dirty/", "dynamic_1": "dynamic/tombstone/"},
			tombstoned: []string{"dynamic_1"},
			released:   []string{"static_2"},
			leftAlone:  []string{"static_1", "gone"},
		},
		{
			name:  "owned physical resource is left alone",
			drlcs: []string{"dynamic"},
			seed: []res{
				{name: "static_1", rtype: "static", state: "dynamic_1", owner: "someone"},
				{name: "dynamic_1", rtype: "dynamic", state: boskos.ToBeDeleted, ud: boskos.UserData{boskos.LeasedResources: "- static_1\n"}},
			},
			want:       map[string]string{"static_1": "static/dynamic_1/someone", "dynamic_1": "dynamic/tombstone/"},
			tombstoned: []string{"dynamic_1"},
			leftAlone:  []string{"static_1"},
		},
		{
			// upstream cleaner/v2: owned, non-dynamic and other states are ignored
			name:  "owned, static and other states untouched",
			drlcs: []string{"dynamic"},
			seed: []res{
				{name: "d-owned", rtype: "dynamic", state: boskos.ToBeDeleted, owner: "x"},
				{name: "d-free", rtype: "dynamic", state: boskos.Free},
				{name: "s-tbd", rtype: "static", state: boskos.ToBeDeleted},
				{name: "d-none", rtype: "dynamic", state: boskos.ToBeDeleted},
			},
			want: map[string]string{
				"d-owned": "dynamic/toBeDeleted/x", "d-free": "dynamic/free/",
				"s-tbd": "static/toBeDeleted/", "d-none": "dynamic/tombstone/",
			},
			tombstoned: []string{"d-none"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				for _, d := range tc.drlcs {
					e.seedDRLC(boskos.DRLC{Type: d, MaxCount: 10})
				}
				e.seed(tc.seed...)
				rep, err := e.r.CleanToBeDeleted(e.ctx)
				require.NoError(t, err)
				assert.Equal(t, tc.want, e.summary())
				assert.ElementsMatch(t, tc.tombstoned, rep.Tombstoned, "tombstoned")
				assert.ElementsMatch(t, tc.released, rep.Released, "released")
				assert.ElementsMatch(t, tc.leftAlone, rep.LeftAlone, "left alone")
				for _, n := range tc.tombstoned {
					_, has := e.mustGet(n).UserData[boskos.LeasedResources]
					assert.False(t, has, "%s keeps no leasedResources", n)
				}
				// A second pass finds nothing to do.
				rep, err = e.r.CleanToBeDeleted(e.ctx)
				require.NoError(t, err)
				assert.Empty(t, rep.Tombstoned)
				assert.Equal(t, tc.want, e.summary())
			})
		})
	}
}

func TestCleanToBeDeletedBadLeasedResources(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedDRLC(boskos.DRLC{Type: "dynamic", MaxCount: 10})
	e.seed(res{name: "d-bad", rtype: "dynamic", state: boskos.ToBeDeleted, ud: boskos.UserData{boskos.LeasedResources: "a: b"}},
		res{name: "d-ok", rtype: "dynamic", state: boskos.ToBeDeleted})
	rep, err := e.r.CleanToBeDeleted(e.ctx)
	require.ErrorContains(t, err, "d-bad")
	assert.Equal(t, []string{"d-ok"}, rep.Tombstoned, "one bad resource does not stop the others")
	assert.Equal(t, boskos.ToBeDeleted, e.mustGet("d-bad").State)
}

func TestCleanToBeDeletedThenReconcileDeletes(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seedDRLC(boskos.DRLC{Type: "dynamic", MinCount: 1, MaxCount: 1})
		e.seed(res{name: "d-1", rtype: "dynamic", state: boskos.ToBeDeleted})
		_, err := e.r.CleanToBeDeleted(e.ctx)
		require.NoError(t, err)
		require.NoError(t, e.r.Reconcile(e.ctx))
		got := e.summary()
		assert.Equal(t, map[string]string{"dynamic#1": "dynamic/free/"}, got, "tombstone deleted, min-count refilled")
	})
}

func TestCleanToBeDeletedConcurrentCopies(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seedDRLC(boskos.DRLC{Type: "dynamic", MaxCount: 100})
		var seed []res
		for i := range 20 {
			v := "v-" + itoa(int64(i))
			p := "p-" + itoa(int64(i))
			seed = append(seed, res{name: p, rtype: "phys", state: v},
				res{name: v, rtype: "dynamic", state: boskos.ToBeDeleted, ud: boskos.UserData{boskos.LeasedResources: "- " + p + "\n"}})
		}
		e.seed(seed...)
		var mu sync.Mutex
		var tomb, rel []string
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				rep, err := e.r.CleanToBeDeleted(e.ctx)
				assert.NoError(t, err)
				mu.Lock()
				tomb = append(tomb, rep.Tombstoned...)
				rel = append(rel, rep.Released...)
				mu.Unlock()
			})
		}
		wg.Wait()
		assert.Len(t, tomb, 20, "each virtual resource tombstoned exactly once: %v", tomb)
		assert.Len(t, rel, 20, "each physical resource released exactly once: %v", rel)
		for _, r := range e.all() {
			if r.Type == "phys" {
				assert.Equal(t, boskos.Dirty, r.State, r.Name)
			} else {
				assert.Equal(t, boskos.Tombstone, r.State, r.Name)
			}
		}
	})
}
