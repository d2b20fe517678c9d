package maintenance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
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
