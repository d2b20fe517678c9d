package ranch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// grant is one lease as a worker saw it. acquired and released are ticks of
// one global counter: acquired is taken after the acquire returned, released
// before the release was sent, so a lease's real interval lies inside
// [acquired, released] and two leases of one resource must not overlap.
type grant struct {
	name               string
	owner              string
	epoch              int64
	acquired, released int64
}

// TestContention runs 32 workers, each with its own Ranch (as separate
// processes would), over 4 resources, and checks that no resource ever had
// two holders: each epoch is granted once, and grants of one resource, in
// epoch order, never overlap.
func TestContention(t *testing.T) {
	for _, mode := range []struct {
		name   string
		spread time.Duration
		faults bool
	}{{"strict", 0, false}, {"spread", time.Hour, false}, {"faults", 0, true}} {
		t.Run(mode.name, func(t *testing.T) {
			const workers, cycles, pool = 32, 20, 4
			ctx := context.Background()
			var s store.Store = memstore.New()
			mem := s.(*memstore.Store)
			if mode.faults {
				s = faultstore.New(s, faultstore.FirstWriteConflict())
			}
			seeder := New(mem, Options{})
			cfg := &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "t", Names: []string{"r0", "r1", "r2", "r3"}}}}
			require.NoError(t, seeder.SyncConfig(ctx, cfg))

			var tick atomic.Int64
			var mu sync.Mutex
			var grants []grant
			var wg sync.WaitGroup
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					r := New(s, Options{SpreadWindow: mode.spread, MaxRetries: 50, Logger: quiet})
					owner := fmt.Sprintf("w%d", w)
					for c := 0; c < cycles; {
						res, err := r.Acquire(ctx, "t", "free", "busy", owner, "")
						if err != nil {
							if boskos.ErrorCode(err) != boskos.ENotFound {
								t.Errorf("acquire: %v", err)
								return
							}
							continue // all busy: poll again
						}
						g := grant{name: res.Name, owner: owner, epoch: res.Epoch, acquired: tick.Add(1)}
						if err := r.Update(ctx, res.Name, owner, "busy", boskos.UserData{"w": owner}, &res.Epoch); err != nil {
							t.Errorf("heartbeat %s by %s: %v", res.Name, owner, err)
						}
						g.released = tick.Add(1)
						if err := r.Release(ctx, res.Name, "free", owner, &res.Epoch); err != nil {
							t.Errorf("release %s by %s: %v", res.Name, owner, err)
						}
						mu.Lock()
						grants = append(grants, g)
						mu.Unlock()
						c++
					}
				}(w)
			}
			wg.Wait()
			require.Len(t, grants, workers*cycles)

			byName := map[string][]grant{}
			for _, g := range grants {
				byName[g.name] = append(byName[g.name], g)
			}
			total := 0
			for name, gs := range byName {
				sort.Slice(gs, func(i, j int) bool { return gs[i].epoch < gs[j].epoch })
				for i, g := range gs {
					require.Equal(t, int64(i+1), g.epoch, "%s: each epoch granted exactly once", name)
					if i > 0 {
						prev := gs[i-1]
						assert.Less(t, prev.released, g.acquired, "%s: epoch %d (%s) overlaps epoch %d (%s)",
							name, prev.epoch, prev.owner, g.epoch, g.owner)
					}
				}
				total += len(gs)
				final, err := mem.Get(ctx, resourceKey(name))
				require.NoError(t, err)
				assert.Equal(t, int64(len(gs)), final.N(attrEpoch), "%s: final epoch", name)
				assert.Equal(t, "", final.S(attrOwner))
			}
			assert.Equal(t, workers*cycles, total)
			assert.LessOrEqual(t, len(byName), pool)
			checkInvariants(t, mem)
		})
	}
}
