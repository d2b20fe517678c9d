package mason_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/mason"
)

// crashConfig: two virtual resources needing two physical ones each, out
// of seven (enough for a construction after a crash recycled the first
// attempt's).
const crashConfig = `
resources:
- {type: phys, state: free, names: [p0, p1, p2, p3, p4, p5, p6, p7]}
- type: virt
  state: dirty
  min-count: 2
  max-count: 2
  needs: {phys: 2}
  config: {type: Fake}
`

// checkBuilt checks the end of every crash test: both virtual resources
// free, each with two physical resources parked in its state, nothing
// owned by Mason, and the other physical resources free or dirty.
func checkBuilt(t *testing.T, w *world) {
	t.Helper()
	w.checkInvariants("virt")
	assert.Equal(t, map[string]int{boskos.Free: 2}, w.byState("virt"))
	parked, rest := 0, 0
	all := w.all()
	for _, p := range all {
		if p.Type != "phys" {
			continue
		}
		assert.Empty(t, p.Owner, "%s is still owned", p.Name)
		if v, ok := all[p.State]; ok && v.Type == "virt" {
			parked++
		} else {
			assert.Contains(t, []string{boskos.Free, boskos.Dirty}, p.State, p.Name)
			rest++
		}
	}
	assert.Equal(t, 4, parked)
	assert.Equal(t, 4, rest)
}

// TestCrashAfterEachState stops every execution right after each state of
// the workflow (the process dies: nothing is released), then starts a new
// process whose dispatcher finds the stale claims and starts them again.
func TestCrashAfterEachState(t *testing.T) {
	m, err := asl.Parse(mason.Document)
	require.NoError(t, err)
	for _, state := range append(m.TaskStates(), "NeedsMet") {
		if state == mason.StepGarbageCollect {
			continue // not on the happy path
		}
		t.Run(state, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, w *world) {
				w.sync(crashConfig)
				crashed := 0
				var mu sync.Mutex
				a := w.mason(func(ev asl.Event) error {
					if ev.State == state && ev.Phase == asl.Exit {
						mu.Lock()
						defer mu.Unlock()
						crashed++
						return errCrash
					}
					return nil
				})
				rep := w.pass(a)
				require.Equal(t, 2, rep.Started)
				w.drain(a)
				require.Equal(t, 2, crashed)
				w.checkInvariants("virt")
				if state == mason.StepFree {
					// The work was done when the process died.
					a.cancel()
					checkBuilt(t, w)
					return
				}
				for _, v := range w.all() {
					if v.Type == "virt" {
						require.Equal(t, boskos.Cleaning+"/"+mason.Owner, v.State+"/"+v.Owner, "the crash left the claim")
					}
				}
				a.cancel()

				// A new process: nothing is stale yet, so nothing starts
				// (another process might still be building).
				b := w.mason(nil)
				rep = w.pass(b)
				assert.Zero(t, rep.Restarted+rep.Started)
				w.clock.Add(mason.DefaultStaleAfter + time.Second)
				rep = w.pass(b)
				assert.Equal(t, 2, rep.Restarted)
				w.drain(b)
				checkBuilt(t, w)
			})
		})
	}
}

// TestCrashBetweenClaimAndStart: the dispatcher claimed a resource and
// died before starting its execution.
func TestCrashBetweenClaimAndStart(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		w.sync(crashConfig)
		drop := mason.NewDispatcher(w.ranch(), w.reg, startFunc(func(context.Context, string, []byte) error { return nil }), mason.DispatcherOptions{})
		rep, err := drop.Pass(w.ctx)
		require.NoError(t, err)
		require.Equal(t, 2, rep.Claimed)
		w.clock.Add(mason.DefaultStaleAfter + time.Second)
		b := w.mason(nil)
		rep = w.pass(b)
		assert.Equal(t, 2, rep.Restarted)
		w.drain(b)
		checkBuilt(t, w)
	})
}

type startFunc func(ctx context.Context, name string, input []byte) error

func (f startFunc) Start(ctx context.Context, name string, input []byte) error {
	return f(ctx, name, input)
}

// TestStepsAreIdempotent calls every step twice with the same input, as a
// retried Lambda invocation whose first answer was lost does: the second
// call finds the work done and the end state is the same.
func TestStepsAreIdempotent(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		w.sync(crashConfig)
		var inputs [][]byte
		var mu sync.Mutex
		rec := startFunc(func(_ context.Context, _ string, in []byte) error {
			mu.Lock()
			defer mu.Unlock()
			inputs = append(inputs, in)
			return nil
		})
		rep, err := mason.NewDispatcher(w.ranch(), w.reg, rec, mason.DispatcherOptions{}).Pass(w.ctx)
		require.NoError(t, err)
		require.Equal(t, 2, rep.Claimed)
		wf := mason.NewWorkflow(w.ranch(), w.reg, mason.Options{Logger: quiet()})
		tasks := wf.Tasks()
		for _, in := range inputs {
			for _, step := range []string{mason.StepRecycle, mason.StepFulfill, mason.StepConstruct, mason.StepFree} {
				out1, err := tasks[step](w.ctx, in)
				require.NoError(t, err, step)
				snap := w.all()
				out2, err := tasks[step](w.ctx, in)
				require.NoError(t, err, "%s again", step)
				assert.JSONEq(t, string(out1), string(out2), step)
				if step == mason.StepFulfill {
					var fr mason.FulfillResult
					require.NoError(t, json.Unmarshal(out1, &fr))
					require.True(t, fr.Done)
					var inObj map[string]any
					require.NoError(t, json.Unmarshal(in, &inObj))
					inObj["fulfill"] = fr
					in = mustJSON(t, inObj)
				}
				if step != mason.StepConstruct && step != mason.StepRecycle {
					// Construct and Recycle stamp lastupdate; the others
					// change nothing the second time.
					assert.Equal(t, snap, w.all(), "%s again changed the store", step)
				}
			}
		}
		checkBuilt(t, w)
		assert.Equal(t, 4, w.conv.calls, "Construct ran the converter each time it was called")
	})
}

// TestInvariantsCatchLeaks shows that the crash tests' checker sees what
// it is for: a physical resource leased by Mason that no virtual resource
// names, and one named by two.
func TestInvariantsCatchLeaks(t *testing.T) {
	w := newWorld(t, memOpen(t))
	w.sync(crashConfig)
	require.Empty(t, w.problems("virt"))
	_, err := w.r.Acquire(w.ctx, "phys", boskos.Free, boskos.Leased, mason.Owner, "")
	require.NoError(t, err)
	got := w.problems("virt")
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "leaked")

	w2 := newWorld(t, memOpen(t))
	w2.sync(crashConfig)
	lr, err := boskos.FormatLeasedResources([]string{"p0"})
	require.NoError(t, err)
	for range 2 {
		v, err := w2.r.Acquire(w2.ctx, "virt", boskos.Dirty, boskos.Busy, "x", "")
		require.NoError(t, err)
		require.NoError(t, w2.r.Update(w2.ctx, v.Name, "x", boskos.Busy, boskos.UserData{boskos.LeasedResources: lr}, nil))
	}
	got = w2.problems("virt")
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "named by")
}
