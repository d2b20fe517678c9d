package mason_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// costConfig is n free physical resources and one virtual resource needing
// one of them.
func costConfig(n int) string {
	var sb strings.Builder
	sb.WriteString("resources:\n- type: phys\n  state: free\n  names:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  - p-%05d\n", i)
	}
	sb.WriteString("- {type: virt, state: dirty, min-count: 1, max-count: 1, needs: {phys: 1}, config: {type: Fake}}\n")
	return sb.String()
}

// TestConstructionRequestCost: the DynamoDB requests of each step of one
// construction, the same with 10 and with 300 physical resources in the
// pool (each step reads what it needs by key or from the index, never the
// pool).
func TestConstructionRequestCost(t *testing.T) {
	steps := []string{"claim", mason.StepRecycle, mason.StepFulfill, mason.StepConstruct, mason.StepFree}
	counts := map[int]map[string]map[string]int{}
	for _, n := range []int{10, 300} {
		var c dynamotest.Counter
		w := newWorld(t, dynamotest.NewStore(t, dynamostore.Options{}, c.Option))
		w.sync(costConfig(n))
		counts[n] = map[string]map[string]int{}
		var in []byte
		rec := startFunc(func(_ context.Context, _ string, input []byte) error { in = input; return nil })
		d := mason.NewDispatcher(w.ranch(), w.reg, rec, mason.DispatcherOptions{Logger: quiet()})
		wf := mason.NewWorkflow(w.ranch(), w.reg, mason.Options{Logger: quiet()})
		c.Reset()
		rep, err := d.Pass(w.ctx)
		require.NoError(t, err)
		require.Equal(t, 1, rep.Started)
		counts[n]["claim"] = c.Counts()
		for _, step := range steps[1:] {
			c.Reset()
			out, err := wf.Tasks()[step](w.ctx, in)
			require.NoError(t, err, step)
			counts[n][step] = c.Counts()
			if step == mason.StepFulfill {
				in = []byte(strings.TrimSuffix(string(in), "}") + `,"fulfill":` + string(out) + "}")
			}
		}
		total := 0
		for _, s := range steps {
			for _, k := range counts[n][s] {
				total += k
			}
			t.Logf("%d physical resources: %s %v", n, s, counts[n][s])
		}
		t.Logf("%d physical resources: %d requests per construction", n, total)
	}
	assert.Equal(t, counts[10], counts[300], "the pool's size does not change a construction's requests")
}

// BenchmarkConstruction times constructions through the dispatcher and the
// local runner of the workflow document: b.N virtual resources, each
// needing one of b.N physical ones, built by one pass (ns/op is per
// construction; they run concurrently).
func BenchmarkConstruction(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memstore", func(*testing.B) store.Store { return memstore.New() }},
		{"boltstore", func(b *testing.B) store.Store {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "b.db"), boltstore.Options{})
			require.NoError(b, err)
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
	} {
		b.Run(backend.name, func(b *testing.B) {
			w := newWorld(b, backend.open(b))
			var sb strings.Builder
			sb.WriteString("resources:\n- type: phys\n  state: free\n  names:\n")
			for i := range b.N {
				fmt.Fprintf(&sb, "  - p-%06d\n", i)
			}
			fmt.Fprintf(&sb, "- {type: virt, state: dirty, min-count: %d, max-count: %d, needs: {phys: 1}, config: {type: Fake}}\n", b.N, b.N)
			w.sync(sb.String())
			r := w.ranch()
			wf := mason.NewWorkflow(r, w.reg, mason.Options{Wait: time.Second, Logger: quiet()})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			waits := 0
			local, err := mason.NewLocal(ctx, wf, mason.LocalOptions{Logger: quiet(), Sleep: func(context.Context, time.Duration) error {
				mu.Lock()
				waits++
				mu.Unlock()
				return nil
			}})
			require.NoError(b, err)
			d := mason.NewDispatcher(r, w.reg, local, mason.DispatcherOptions{MaxClaims: b.N, Logger: quiet()})
			b.ResetTimer()
			rep, err := d.Pass(ctx)
			require.NoError(b, err)
			local.Wait()
			b.StopTimer()
			require.Equal(b, b.N, rep.Started)
			b.ReportMetric(float64(waits)/float64(b.N), "waits/op")
		})
	}
}
