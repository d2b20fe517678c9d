package mason_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/testkit"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// fake is the converter of the tests: its userdata names the virtual
// resource and what it was built from; fail, when set, makes it fail.
type fake struct {
	mu     sync.Mutex
	calls  int
	fail   error
	answer boskos.UserData // instead of the default answer
}

func (f *fake) Construct(_ context.Context, res boskos.Resource, leased mason.TypeToResources) (boskos.UserData, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return nil, f.fail
	}
	if f.answer != nil {
		return f.answer, nil
	}
	var names []string
	for _, rs := range leased {
		for _, r := range rs {
			names = append(names, r.Name)
		}
	}
	sort.Strings(names)
	return boskos.UserData{"built": res.Name, "from": strings.Join(names, ",")}, nil
}

// world is one test's store, clock, ranch, converter and Mason.
type world struct {
	t     testing.TB
	ctx   context.Context
	store store.Store
	clock *testkit.Clock
	r     *ranch.Ranch
	conv  *fake
	reg   *mason.Registry
	// stepReg, when set, is the steps' registry (reg is the dispatcher's).
	stepReg *mason.Registry
	obs     *observer
	sleep   *sleeper
	procs   []*masonProc // every Mason of the world (they share sleep)
}

func newWorld(t testing.TB, s store.Store) *world {
	w := &world{t: t, ctx: context.Background(), store: s, clock: testkit.NewClock(), conv: &fake{}, obs: &observer{}, sleep: newSleeper()}
	w.r = w.ranch()
	w.reg = mason.NewRegistry()
	require.NoError(t, w.reg.Register("Fake", func(string) (mason.Masonable, error) { return w.conv, nil }))
	return w
}

// ranch returns a new Ranch over the world's store (another process).
func (w *world) ranch() *ranch.Ranch {
	return ranch.New(w.store, ranch.Options{Now: w.clock.Now, DRLCCacheTTL: -1, Logger: testkit.Quiet()})
}

// eachBackend runs fn on every backend.
func eachBackend(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, b := range testkit.Backends {
		t.Run(b.Name, func(t *testing.T) { fn(t, newWorld(t, b.Open(t))) })
	}
}

func (w *world) sync(y string) {
	w.t.Helper()
	cfg, err := boskos.ParseValidConfig([]byte(y))
	require.NoError(w.t, err)
	require.NoError(w.t, w.r.SyncConfig(w.ctx, cfg))
}

// mason is one process's Mason: the steps, the local runner and the
// dispatcher over a Ranch of its own.
type masonProc struct {
	wf     *mason.Workflow
	local  *mason.Local
	disp   *mason.Dispatcher
	cancel context.CancelFunc
}

func (w *world) mason(hook func(asl.Event) error) *masonProc {
	w.t.Helper()
	r := w.ranch()
	steps := w.reg
	if w.stepReg != nil {
		steps = w.stepReg
	}
	wf := mason.NewWorkflow(r, steps, mason.Options{Wait: 5 * time.Second, MaxWaits: 1000, Heartbeat: time.Hour, Observer: w.obs, Logger: testkit.Quiet()})
	ctx, cancel := context.WithCancel(w.ctx)
	local, err := mason.NewLocal(ctx, wf, mason.LocalOptions{Sleep: w.sleep.Sleep, Hook: hook, Logger: testkit.Quiet()})
	require.NoError(w.t, err)
	p := &masonProc{wf: wf, local: local, disp: mason.NewDispatcher(r, w.reg, local, mason.DispatcherOptions{Logger: testkit.Quiet()}), cancel: cancel}
	w.procs = append(w.procs, p)
	w.t.Cleanup(func() { cancel(); local.Wait() })
	return p
}

// pass runs one dispatcher pass and waits until every execution it has
// ended or waits (in a Wait state or a retry backoff).
func (w *world) pass(p *masonProc) mason.DispatchReport {
	w.t.Helper()
	rep, err := p.disp.Pass(w.ctx)
	require.NoError(w.t, err)
	w.settle(p)
	return rep
}

// drain wakes the executions of p until none runs: constructions that
// lost every race for their needs wait and try again.
func (w *world) drain(p *masonProc) {
	w.t.Helper()
	for i := 0; p.local.Running() > 0; i++ {
		require.Less(w.t, i, 20, "constructions still waiting after 20 rounds")
		w.wake(p)
	}
}

// settle waits until every running execution of the world's Masons
// sleeps (p is one of them).
func (w *world) settle(p *masonProc) {
	w.t.Helper()
	_ = p
	require.Eventually(w.t, func() bool {
		running := 0
		for _, q := range w.procs {
			running += q.local.Running()
		}
		return w.sleep.asleep() == running
	}, 30*time.Second, time.Millisecond)
}

// wake lets every sleeping execution go on, then settles.
func (w *world) wake(p *masonProc) {
	w.t.Helper()
	w.sleep.wakeAll()
	w.settle(p)
}

// sleeper is the runners' Sleep: it blocks until woken (or the context
// ends) and counts who sleeps, so tests know when executions are idle. A
// sleeper stops counting the moment wakeAll wakes it.
type sleeper struct {
	mu       sync.Mutex
	sleeping map[chan struct{}]bool
	delays   []time.Duration
}

func newSleeper() *sleeper { return &sleeper{sleeping: map[chan struct{}]bool{}} }

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	ch := make(chan struct{})
	s.mu.Lock()
	s.sleeping[ch] = true
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.sleeping, ch)
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *sleeper) asleep() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sleeping)
}

func (s *sleeper) wakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.sleeping {
		close(ch)
	}
	clear(s.sleeping)
}

// observer records the Observer calls.
type observer struct {
	mu          sync.Mutex
	constructed map[string]int
	failed      map[string]int // type/step
}

func (o *observer) Constructed(rtype string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.constructed == nil {
		o.constructed = map[string]int{}
	}
	o.constructed[rtype]++
}

func (o *observer) Failed(rtype, step string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failed == nil {
		o.failed = map[string]int{}
	}
	o.failed[rtype+"/"+step]++
}

func (o *observer) counts() (map[string]int, map[string]int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, f := map[string]int{}, map[string]int{}
	for k, v := range o.constructed {
		c[k] = v
	}
	for k, v := range o.failed {
		f[k] = v
	}
	return c, f
}

// all returns every resource by name.
func (w *world) all() map[string]boskos.Resource {
	w.t.Helper()
	rs, err := w.r.Resources(w.ctx)
	require.NoError(w.t, err)
	out := map[string]boskos.Resource{}
	for _, r := range rs {
		out[r.Name] = r
	}
	return out
}

// checkInvariants checks what must hold whenever no construction is
// between steps (see problems).
func (w *world) checkInvariants(virtualType string) {
	w.t.Helper()
	for _, p := range w.problems(virtualType) {
		w.t.Error(p)
	}
}

// problems lists what is wrong: a physical resource named by two virtual
// ones, a free virtual one whose physical ones are not parked in its
// state, a physical resource Mason owns outside the state leased, or one
// Mason owns that no virtual resource names (leaked).
func (w *world) problems(virtualType string) []string {
	w.t.Helper()
	var out []string
	all := w.all()
	claimedBy := map[string]string{}
	for _, v := range all {
		if v.Type != virtualType {
			continue
		}
		names, err := boskos.ParseLeasedResources(v.UserData[boskos.LeasedResources])
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", v.Name, err))
		}
		for _, n := range names {
			if other, dup := claimedBy[n]; dup {
				out = append(out, fmt.Sprintf("physical %s is named by %s and %s", n, other, v.Name))
			}
			claimedBy[n] = v.Name
			p := all[n]
			switch {
			case v.State == boskos.Free && v.Owner == "":
				if p.State != v.Name || p.Owner != "" {
					out = append(out, fmt.Sprintf("free %s names %s, which is %s/%s, want %s/unowned", v.Name, n, p.State, p.Owner, v.Name))
				}
			case v.Owner == mason.Owner:
				if p.Owner == mason.Owner && p.State != boskos.Leased {
					out = append(out, fmt.Sprintf("%s: physical %s owned by mason in state %s", v.Name, n, p.State))
				}
			}
		}
	}
	for _, p := range all {
		if p.Type == virtualType || p.Owner != mason.Owner {
			continue
		}
		if _, ok := claimedBy[p.Name]; !ok {
			out = append(out, fmt.Sprintf("physical %s is owned by mason (state %s) but no virtual resource names it: leaked", p.Name, p.State))
		}
	}
	sort.Strings(out)
	return out
}

// byState counts the resources of rtype by state.
func (w *world) byState(rtype string) map[string]int {
	w.t.Helper()
	out := map[string]int{}
	for _, r := range w.all() {
		if r.Type == rtype {
			out[r.State]++
		}
	}
	return out
}

var errCrash = errors.New("crash")

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

var quiet = testkit.Quiet

// memOpen opens a memstore.
func memOpen(t testing.TB) store.Store { return testkit.Backends[0].Open(t) }
