package masonclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/client"
	"github.com/boskos-serverless/boskos/core/client/masonclient"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

const (
	virtualType  = "cluster"
	physicalType = "account"
	used         = "Used"
)

// world is the real API (core/httpapi over core/ranch over memstore) behind
// an httptest server. byState counts the /acquirebystate requests it
// received and refusals its 404 answers to /acquire (each before the client
// can see the answer); failByState, when set, makes /acquirebystate answer
// 500 after the real handler has acquired (an answer lost on the way back).
type world struct {
	t           *testing.T
	srv         *httptest.Server
	ranch       *ranch.Ranch
	clock       *testkit.Clock
	byState     atomic.Int64
	refusals    atomic.Int64
	failByState atomic.Bool
}

// newWorld starts a server with nVirtual virtual resources (c-0, c-1, ...)
// and nPhysical physical ones (a-0, a-1, ...), all dirty, as Mason finds
// them before it builds anything.
func newWorld(t *testing.T, nVirtual, nPhysical int) *world {
	t.Helper()
	names := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%d", prefix, i)
		}
		return out
	}
	cfg := &boskos.Config{Resources: []boskos.ResourceEntry{
		{Type: virtualType, State: boskos.Dirty, Names: names("c", nVirtual)},
		{Type: physicalType, State: boskos.Free, Names: names("a", nPhysical)},
	}}
	w := &world{t: t, clock: testkit.NewClock()}
	w.ranch = ranch.New(memstore.New(), ranch.Options{Now: w.clock.Now, Logger: testkit.Quiet()})
	require.NoError(t, w.ranch.SyncConfig(context.Background(), cfg))
	h := httpapi.New(w.ranch, httpapi.Options{Logger: testkit.Quiet()})
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/acquire" {
			h.ServeHTTP(&refusalCounter{ResponseWriter: rw, n: &w.refusals}, r)
			return
		}
		if r.URL.Path != "/acquirebystate" {
			h.ServeHTTP(rw, r)
			return
		}
		w.byState.Add(1)
		if w.failByState.Load() {
			h.ServeHTTP(httptest.NewRecorder(), r)
			http.Error(rw, "lost answer", http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// refusalCounter counts 404 answers when their header is written.
type refusalCounter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *refusalCounter) WriteHeader(code int) {
	if code == http.StatusNotFound {
		w.n.Add(1)
	}
	w.ResponseWriter.WriteHeader(code)
}

// build does by hand what Mason does for one virtual resource: it leases
// the virtual resource and the physical ones, records the physical names
// in leasedResources (unless leased is nil), then releases the virtual one
// free and each physical one unowned in state <virtual name>.
func (w *world) build(virtual string, leased ...string) {
	w.t.Helper()
	w.buildWith(virtual, leased, func() string {
		s, err := boskos.FormatLeasedResources(leased)
		require.NoError(w.t, err)
		return s
	}())
}

// buildWith is build with the leasedResources value given (empty: none).
func (w *world) buildWith(virtual string, leased []string, value string) {
	w.t.Helper()
	ctx := context.Background()
	const mason = "mason"
	_, err := w.ranch.AcquireByState(ctx, boskos.Dirty, boskos.Cleaning, mason, []string{virtual})
	require.NoError(w.t, err)
	if len(leased) > 0 {
		_, err = w.ranch.AcquireByState(ctx, boskos.Free, boskos.Leased, mason, leased)
		require.NoError(w.t, err)
	}
	if value != "" {
		require.NoError(w.t, w.ranch.Update(ctx, virtual, mason, boskos.Cleaning, boskos.UserData{boskos.LeasedResources: value}, nil))
	}
	require.NoError(w.t, w.ranch.Release(ctx, virtual, boskos.Free, mason, nil))
	for _, p := range leased {
		require.NoError(w.t, w.ranch.Release(ctx, p, virtual, mason, nil))
	}
}

// resources returns every resource by name.
func (w *world) resources() map[string]boskos.Resource {
	w.t.Helper()
	rs, err := w.ranch.Resources(context.Background())
	require.NoError(w.t, err)
	out := make(map[string]boskos.Resource, len(rs))
	for _, r := range rs {
		out[r.Name] = r
	}
	return out
}

// owned returns the names of the resources owner holds, sorted.
func (w *world) owned(owner string) []string {
	w.t.Helper()
	var out []string
	for n, r := range w.resources() {
		if r.Owner == owner {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// assertState checks the state and owner of each named resource.
func (w *world) assertState(owner, state string, names ...string) {
	w.t.Helper()
	all := w.resources()
	for _, n := range names {
		assert.Equal(w.t, state, all[n].State, "state of %s", n)
		assert.Equal(w.t, owner, all[n].Owner, "owner of %s", n)
	}
}

func (w *world) client(owner string) *client.Client {
	w.t.Helper()
	c, err := client.New(w.srv.URL, owner, client.Options{})
	require.NoError(w.t, err)
	return c
}

func (w *world) mason(owner string) *masonclient.Client { return masonclient.New(w.client(owner)) }

func TestAcquire(t *testing.T) {
	tests := []struct {
		name string
		// prepare readies c-0 (and maybe more) on the world.
		prepare func(w *world)
		// wantLeased are the names Acquire returns along with c-0.
		wantLeased  []string
		wantByState int64 // /acquirebystate requests
		// wantErr, when set, is in the *LeasedError's text; c-0 is then
		// dirty and nothing is owned by the consumer.
		wantErr string
		// wantUntouched are unowned and still in state c-0 after a failure.
		wantUntouched []string
		// wantDirty are unowned and dirty after a failure, besides c-0.
		wantDirty []string
		// wantThief are still in the thief's hands after a failure.
		wantThief []string
	}{
		{name: "takes every leased resource along",
			prepare:    func(w *world) { w.build("c-0", "a-0", "a-1") },
			wantLeased: []string{"a-0", "a-1"}, wantByState: 1},
		{name: "leasedResources order is kept",
			prepare:    func(w *world) { w.build("c-0", "a-2", "a-0", "a-1") },
			wantLeased: []string{"a-2", "a-0", "a-1"}, wantByState: 1},
		{name: "no leased resources: no acquirebystate",
			prepare: func(w *world) { w.build("c-0") }},
		{name: "empty list: no acquirebystate",
			prepare: func(w *world) { w.buildWith("c-0", nil, "[]") }},
		{name: "a leased resource missing",
			// leasedResources names a resource that does not exist (written
			// by hand: Mason would not).
			prepare: func(w *world) {
				w.build("c-0", "a-0")
				ctx := context.Background()
				_, err := w.ranch.AcquireByState(ctx, boskos.Free, boskos.Cleaning, "mason", []string{"c-0"})
				require.NoError(t, err)
				require.NoError(t, w.ranch.Update(ctx, "c-0", "mason", boskos.Cleaning, boskos.UserData{boskos.LeasedResources: "- a-0\n- gone\n"}, nil))
				require.NoError(t, w.ranch.Release(ctx, "c-0", boskos.Free, "mason", nil))
			},
			wantByState: 1, wantUntouched: []string{"a-0"},
			wantErr: `masonclient: acquired virtual resource "c-0" but not its leased resources [a-0, gone]: status 404 Not Found`},
		{name: "a leased resource taken by someone else",
			prepare: func(w *world) {
				w.build("c-0", "a-0", "a-1")
				_, err := w.ranch.AcquireByState(context.Background(), "c-0", "busy", "thief", []string{"a-1"})
				require.NoError(t, err)
			},
			wantByState: 1, wantUntouched: []string{"a-0"}, wantThief: []string{"a-1"},
			wantErr: `masonclient: acquired virtual resource "c-0" but not its leased resources [a-0, a-1]: status 404 Not Found: AcquireByState: no available resource c-0, try again later.; released what was acquired as dirty`},
		{name: "invalid leasedResources",
			prepare:       func(w *world) { w.buildWith("c-0", []string{"a-0"}, "{not: a list}") },
			wantUntouched: []string{"a-0"},
			wantErr:       `masonclient: acquired virtual resource "c-0" but cannot read its leasedResources: invalid leasedResources`},
		{name: "the acquirebystate answer is lost: the leased resources are released too",
			prepare: func(w *world) {
				w.build("c-0", "a-0", "a-1")
				w.failByState.Store(true)
			},
			wantByState: 1, wantDirty: []string{"a-0", "a-1"},
			wantErr: `but not its leased resources [a-0, a-1]: status 500 Internal Server Error: lost answer; released what was acquired as dirty`},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 1, 3)
			tc.prepare(w)
			mc := w.mason("ci")
			got, err := mc.Acquire(context.Background(), virtualType, boskos.Free, used)
			assert.Equal(t, tc.wantByState, w.byState.Load(), "/acquirebystate requests")
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				var le *masonclient.LeasedError
				require.ErrorAs(t, err, &le)
				assert.Equal(t, "c-0", le.Virtual)
				assert.NoError(t, le.ReleaseErr)
				assert.NotErrorIs(t, err, client.ErrNotFound, "a broken virtual resource is not 'nothing free'")
				assert.Empty(t, w.owned("ci"), "nothing left owned")
				w.assertState("", boskos.Dirty, append([]string{"c-0"}, tc.wantDirty...)...)
				w.assertState("", "c-0", tc.wantUntouched...)
				w.assertState("thief", "busy", tc.wantThief...)
				assert.Empty(t, mc.Held())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "c-0", got.Virtual.Name)
			assert.Equal(t, used, got.Virtual.State)
			assert.Equal(t, "ci", got.Virtual.Owner)
			assert.Equal(t, len(tc.wantLeased), len(got.Leased))
			assert.Equal(t, tc.wantLeased, nilIfEmpty(got.LeasedNames()))
			for _, l := range got.Leased {
				assert.Equal(t, used, l.State)
				assert.Equal(t, "ci", l.Owner)
				assert.Positive(t, l.Epoch)
			}
			w.assertState("ci", used, append([]string{"c-0"}, tc.wantLeased...)...)
			assert.Equal(t, []masonclient.Resource{got}, mc.Held())
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestAcquireNothingFree(t *testing.T) {
	w := newWorld(t, 1, 1)
	mc := w.mason("ci")
	// c-0 is still dirty: nothing free.
	_, err := mc.Acquire(context.Background(), virtualType, boskos.Free, used)
	require.ErrorIs(t, err, client.ErrNotFound)
	assert.Zero(t, w.byState.Load())
	_, err = mc.Acquire(context.Background(), "nope", boskos.Free, used)
	require.ErrorIs(t, err, client.ErrTypeNotFound)
}

func TestAcquireWait(t *testing.T) {
	w := newWorld(t, 2, 2)
	w.build("c-0", "a-0")
	ctx := context.Background()
	first := w.mason("first")
	_, err := first.Acquire(ctx, virtualType, boskos.Free, used)
	require.NoError(t, err)

	t.Run("waits until a virtual resource is free", func(t *testing.T) {
		var wg sync.WaitGroup
		var got masonclient.Resource
		var werr error
		waiter := w.mason("waiter")
		before, refused := w.byState.Load(), w.refusals.Load()
		wg.Go(func() {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			got, werr = waiter.AcquireWait(wctx, virtualType, boskos.Free, used, "req-1", time.Millisecond)
		})
		// Once the waiter was turned away, Mason builds c-1; the waiter
		// gets it.
		require.Eventually(t, func() bool { return w.refusals.Load() > refused }, 10*time.Second, time.Millisecond)
		w.build("c-1", "a-1")
		wg.Wait()
		require.NoError(t, werr)
		assert.Equal(t, "c-1", got.Virtual.Name)
		assert.Equal(t, []string{"a-1"}, got.LeasedNames())
		assert.Equal(t, before+1, w.byState.Load())
	})
	t.Run("the last refusal when the context ends", func(t *testing.T) {
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := w.mason("late").AcquireWait(wctx, virtualType, boskos.Free, used, "", time.Millisecond)
		require.ErrorIs(t, err, client.ErrNotFound)
	})
	t.Run("a broken virtual resource ends the wait", func(t *testing.T) {
		w := newWorld(t, 2, 2)
		w.build("c-0", "a-0")
		w.build("c-1", "a-1")
		for _, p := range []string{"a-0", "a-1"} { // both broken: their physical ones are gone
			_, err := w.ranch.AcquireByState(ctx, strings.Replace(p, "a-", "c-", 1), "busy", "thief", []string{p})
			require.NoError(t, err)
		}
		_, err := w.mason("ci").AcquireWait(ctx, virtualType, boskos.Free, used, "req-2", time.Millisecond)
		var le *masonclient.LeasedError
		require.ErrorAs(t, err, &le)
		assert.Equal(t, int64(1), w.byState.Load(), "one virtual resource dirtied, not both")
	})
	t.Run("non-positive interval", func(t *testing.T) {
		_, err := w.mason("x").AcquireWait(ctx, virtualType, boskos.Free, used, "", 0)
		assert.ErrorContains(t, err, "interval must be positive")
	})
}

func TestRelease(t *testing.T) {
	ctx := context.Background()
	t.Run("ReleaseOne moves all to dest", func(t *testing.T) {
		w := newWorld(t, 2, 3)
		w.build("c-0", "a-0", "a-1")
		w.build("c-1", "a-2")
		mc := w.mason("ci")
		r0, err := mc.Acquire(ctx, virtualType, boskos.Free, used)
		require.NoError(t, err)
		r1, err := mc.Acquire(ctx, virtualType, boskos.Free, used)
		require.NoError(t, err)

		require.NoError(t, mc.ReleaseOne(ctx, r0.Virtual.Name, boskos.Dirty))
		w.assertState("", boskos.Dirty, append([]string{r0.Virtual.Name}, r0.LeasedNames()...)...)
		w.assertState("ci", used, append([]string{r1.Virtual.Name}, r1.LeasedNames()...)...)
		assert.Equal(t, []masonclient.Resource{r1}, mc.Held())

		err = mc.ReleaseOne(ctx, r0.Virtual.Name, boskos.Dirty)
		require.ErrorIs(t, err, masonclient.ErrNotHeld)
		assert.ErrorContains(t, err, `"`+r0.Virtual.Name+`"`)
	})
	t.Run("ReleaseAll moves everything held to dest", func(t *testing.T) {
		w := newWorld(t, 3, 3)
		w.build("c-0", "a-0")
		w.build("c-1", "a-1", "a-2")
		w.build("c-2")
		mc := w.mason("ci")
		for range 3 {
			_, err := mc.Acquire(ctx, virtualType, boskos.Free, used)
			require.NoError(t, err)
		}
		require.NoError(t, mc.ReleaseAll(ctx, boskos.Dirty))
		w.assertState("", boskos.Dirty, "c-0", "c-1", "c-2", "a-0", "a-1", "a-2")
		assert.Empty(t, mc.Held())
		assert.NoError(t, mc.ReleaseAll(ctx, boskos.Dirty), "holding nothing")
	})
	t.Run("every failure is reported", func(t *testing.T) {
		w := newWorld(t, 1, 3)
		w.build("c-0", "a-0", "a-1", "a-2")
		mc := w.mason("ci")
		_, err := mc.Acquire(ctx, virtualType, boskos.Free, used)
		require.NoError(t, err)
		// The reaper takes a-0 and a-2 away (their heartbeat stopped).
		for _, n := range []string{"a-0", "a-2"} {
			require.NoError(t, w.ranch.Release(ctx, n, boskos.Dirty, "ci", nil))
		}
		err = mc.ReleaseOne(ctx, "c-0", boskos.Dirty)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `release "a-0": status 401 Unauthorized`)
		assert.Contains(t, err.Error(), `release "a-2": status 401 Unauthorized`)
		assert.NotContains(t, err.Error(), `"a-1"`)
		assert.NotContains(t, err.Error(), `"c-0"`)
		assert.Empty(t, w.owned("ci"), "the others were released all the same")
		assert.Empty(t, mc.Held())
	})
	t.Run("Release without a Client, by names", func(t *testing.T) {
		w := newWorld(t, 1, 2)
		w.build("c-0", "a-0", "a-1")
		_, err := w.mason("ci").Acquire(ctx, virtualType, boskos.Free, used)
		require.NoError(t, err)
		r := masonclient.Resource{Virtual: boskos.Resource{Name: "c-0"}, Leased: []boskos.Resource{{Name: "a-0"}, {Name: "a-1"}}}
		require.NoError(t, masonclient.Release(ctx, w.client("ci"), r, boskos.Dirty))
		w.assertState("", boskos.Dirty, "c-0", "a-0", "a-1")
	})
}

// TestSyncAll: the heartbeat reaches the virtual and every leased
// resource, so the reaper keeps them all; a lost lease is reported.
func TestSyncAll(t *testing.T) {
	w := newWorld(t, 2, 3)
	w.build("c-0", "a-0", "a-1")
	w.build("c-1", "a-2")
	ctx := context.Background()
	mc := w.mason("ci")
	for range 2 {
		_, err := mc.Acquire(ctx, virtualType, boskos.Free, used)
		require.NoError(t, err)
	}
	w.clock.Add(time.Hour)
	require.NoError(t, mc.SyncAll(ctx))
	for _, rtype := range []string{virtualType, physicalType} {
		reset, err := w.ranch.Reset(ctx, rtype, used, 30*time.Minute, boskos.Dirty)
		require.NoError(t, err)
		assert.Empty(t, reset, "%s: every lease was heart-beaten", rtype)
	}
	// a-2's lease is reaped and someone else gets it.
	require.NoError(t, w.ranch.Release(ctx, "a-2", boskos.Free, "ci", nil))
	_, err := w.ranch.AcquireByState(ctx, boskos.Free, used, "ci", []string{"a-2"})
	require.NoError(t, err)
	err = mc.SyncAll(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `heartbeat "a-2": status 409 Conflict`)
	assert.Equal(t, 1, strings.Count(err.Error(), "heartbeat "), "only a-2 failed: %v", err)
	assert.NoError(t, masonclient.New(w.client("idle")).SyncAll(ctx), "holding nothing")
}

// TestConcurrentAcquires: 10 consumers at once get the 10 virtual
// resources, never one physical resource for two of them, and an 11th gets
// nothing; the same with one Client shared by 10 goroutines.
func TestConcurrentAcquires(t *testing.T) {
	const n = 10
	tests := []struct {
		name   string
		shared bool
	}{
		{name: "ten owners"},
		{name: "one shared client", shared: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, n, 2*n)
			built := map[string][]string{} // virtual -> its physical ones
			for i := range n {
				v := fmt.Sprintf("c-%d", i)
				built[v] = []string{fmt.Sprintf("a-%d", 2*i), fmt.Sprintf("a-%d", 2*i+1)}
				w.build(v, built[v]...)
			}
			ctx := context.Background()
			shared := w.mason("shared")
			clients := make([]*masonclient.Client, n)
			for i := range clients {
				clients[i] = shared
				if !tc.shared {
					clients[i] = w.mason(fmt.Sprintf("ci-%d", i))
				}
			}
			got := make([]masonclient.Resource, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					got[i], errs[i] = clients[i].Acquire(ctx, virtualType, boskos.Free, used)
				})
			}
			close(start)
			wg.Wait()
			require.NoError(t, errors.Join(errs...))

			holder := map[string]string{} // resource -> owner
			all := w.resources()
			for _, r := range got {
				owner := r.Virtual.Owner
				require.Len(t, r.Leased, 2, "%s", r.Virtual.Name)
				for _, x := range append([]boskos.Resource{r.Virtual}, r.Leased...) {
					prev, dup := holder[x.Name]
					require.False(t, dup, "%s given to %s and %s", x.Name, prev, owner)
					holder[x.Name] = owner
					assert.Equal(t, owner, all[x.Name].Owner, "%s in the store", x.Name)
					assert.Equal(t, used, all[x.Name].State, "%s in the store", x.Name)
				}
				assert.Equal(t, built[r.Virtual.Name], r.LeasedNames(), "the physical resources of %s", r.Virtual.Name)
			}
			assert.Len(t, holder, 3*n, "every resource held once")
			if tc.shared {
				assert.Len(t, shared.Held(), n)
			}

			_, err := w.mason("eleventh").Acquire(ctx, virtualType, boskos.Free, used)
			require.ErrorIs(t, err, client.ErrNotFound)

			for _, c := range clients {
				require.NoError(t, c.ReleaseAll(ctx, boskos.Dirty))
			}
			for name, r := range w.resources() {
				assert.Equal(t, boskos.Dirty, r.State, name)
				assert.Empty(t, r.Owner, name)
			}
		})
	}
}
