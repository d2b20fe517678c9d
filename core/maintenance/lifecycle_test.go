package maintenance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// TestDynamicLifecycle walks a dynamic resource through its whole life on
// every backend, driven only by the jobs: created at min-count, leased with
// physical resources recorded in leasedResources, released, expired
// (toBeDeleted), cleaned (its physical resources dirty, tombstone),
// deleted, replaced; then its life cycle leaves the config and winds down.
func TestDynamicLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		src := &memSource{}
		src.put(`
resources:
- {type: phys, names: [ph-1, ph-2]}
- {type: virt, state: free, min-count: 1, max-count: 1, lifespan: 10m}
`)
		jobs := []Job{NewCleaner(r), NewReconciler(r, ReconcilerOptions{Source: src, Logger: quiet()})}
		pass := func() {
			t.Helper()
			for _, j := range jobs {
				_, err := j.RunOnce(w.ctx)
				require.NoError(t, err, j.Name())
			}
		}
		pass()
		virt := func() boskos.Resource {
			t.Helper()
			all, err := r.Resources(w.ctx)
			require.NoError(t, err)
			var out []boskos.Resource
			for _, x := range all {
				if x.Type == "virt" {
					out = append(out, x)
				}
			}
			require.Len(t, out, 1, "one virtual resource")
			return out[0]
		}
		v := virt()
		assert.Equal(t, boskos.Free, v.State)

		// A Mason-like user leases it and two physical resources, records
		// them and releases the physical ones to state = virtual name.
		got, err := r.Acquire(w.ctx, "virt", "free", "busy", "mason", "")
		require.NoError(t, err)
		var leased []string
		for range 2 {
			p, err := r.Acquire(w.ctx, "phys", "free", "leased", "mason", "")
			require.NoError(t, err)
			leased = append(leased, p.Name)
		}
		list, err := boskos.FormatLeasedResources(leased)
		require.NoError(t, err)
		require.NoError(t, r.Update(w.ctx, got.Name, "mason", "busy", boskos.UserData{boskos.LeasedResources: list}, &got.Epoch))
		for _, p := range leased {
			require.NoError(t, r.Release(w.ctx, p, got.Name, "mason", nil))
		}
		require.NoError(t, r.Release(w.ctx, got.Name, "free", "mason", &got.Epoch))

		w.clock.Add(5 * time.Minute)
		pass()
		assert.Equal(t, boskos.Free, virt().State, "lifespan not over")

		w.clock.Add(6 * time.Minute)
		pass() // reconciler marks it; the cleaner runs before it, so next pass
		assert.Equal(t, boskos.ToBeDeleted, virt().State)
		pass() // cleaner: physical dirty, tombstone; reconciler: deleted, replaced
		nv := virt()
		assert.NotEqual(t, got.Name, nv.Name, "replaced")
		assert.Equal(t, boskos.Free, nv.State)
		assert.Equal(t, map[string]string{"ph-1": "dirty/", "ph-2": "dirty/", nv.Name: "free/"}, states(t, r))

		// The life cycle leaves the config: its resources wind down and the
		// life cycle goes once they are gone.
		src.put("resources:\n- {type: phys, names: [ph-1, ph-2]}\n")
		pass()
		assert.Equal(t, boskos.ToBeDeleted, virt().State)
		pass()
		pass()
		assert.Equal(t, map[string]string{"ph-1": "dirty/", "ph-2": "dirty/"}, states(t, r))
		_, err = r.Acquire(w.ctx, "virt", "free", "busy", "x", "")
		assert.Equal(t, boskos.ETypeNotFound, boskos.ErrorCode(err), "the type is gone: %v", err)
	})
}

// TestCleanerConcurrentCopies: two cleaners at once on every backend
// tombstone each virtual resource once and release each physical one once.
func TestCleanerConcurrentCopies(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		y := "resources:\n- type: phys\n  names:\n"
		for i := range 8 {
			y += "  - ph-" + string(rune('a'+i)) + "\n"
		}
		y += "- {type: virt, state: free, min-count: 8, max-count: 8}\n"
		require.NoError(t, r.SyncConfig(w.ctx, mustConfig(t, y)))
		for range 8 {
			v, err := r.Acquire(w.ctx, "virt", "free", "busy", "mason", "")
			require.NoError(t, err)
			p, err := r.Acquire(w.ctx, "phys", "free", "leased", "mason", "")
			require.NoError(t, err)
			require.NoError(t, r.Release(w.ctx, p.Name, v.Name, "mason", nil))
			list, err := boskos.FormatLeasedResources([]string{p.Name})
			require.NoError(t, err)
			require.NoError(t, r.Update(w.ctx, v.Name, "mason", "busy", boskos.UserData{boskos.LeasedResources: list}, nil))
			require.NoError(t, r.Release(w.ctx, v.Name, boskos.ToBeDeleted, "mason", nil))
		}
		type result struct {
			rep any
			err error
		}
		results := make(chan result, 2)
		for range 2 {
			c := NewCleaner(w.ranch())
			go func() {
				rep, err := c.RunOnce(w.ctx)
				results <- result{rep, err}
			}()
		}
		tomb, rel := map[string]int{}, map[string]int{}
		for range 2 {
			res := <-results
			require.NoError(t, res.err)
			rep := res.rep.(ranch.CleanReport)
			for _, n := range rep.Tombstoned {
				tomb[n]++
			}
			for _, n := range rep.Released {
				rel[n]++
			}
		}
		assert.Len(t, tomb, 8)
		assert.Len(t, rel, 8)
		for n, c := range tomb {
			assert.Equal(t, 1, c, "%s tombstoned once", n)
		}
		for n, c := range rel {
			assert.Equal(t, 1, c, "%s released once", n)
		}
		for name, st := range states(t, r) {
			if name[:3] == "ph-" {
				assert.Equal(t, "dirty/", st, name)
			} else {
				assert.Equal(t, "tombstone/", st, name)
			}
		}
	})
}
