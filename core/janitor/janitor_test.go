package janitor_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/testkit"
)

const oneDirty = `
resources:
- type: gce-project
  state: dirty
  names: [p-1]
`

func TestCleanOutcomes(t *testing.T) {
	boom := errors.New("boom")
	long := strings.Repeat("é", 2000)
	tests := []struct {
		name       string
		ud         boskos.UserData // on the resource before the pass
		cleaner    janitor.Cleaner
		wantStatus janitor.Status
		wantState  string
		wantOwner  string
		wantUD     boskos.UserData
		wantReason string // prefix of quarantineReason
	}{
		{name: "cleaned", cleaner: always(janitor.Cleaned, nil),
			wantStatus: janitor.StatusCleaned, wantState: boskos.Free, wantUD: boskos.UserData{}},
		{name: "zero outcome is cleaned", cleaner: always(0, nil),
			wantStatus: janitor.StatusCleaned, wantState: boskos.Free, wantUD: boskos.UserData{}},
		{name: "cleaned drops the failure keys, keeps the others",
			ud:      boskos.UserData{janitor.KeyFailures: "2", janitor.KeyReason: "old", "k": "v"},
			cleaner: always(janitor.Cleaned, nil), wantStatus: janitor.StatusCleaned, wantState: boskos.Free,
			wantUD: boskos.UserData{"k": "v"}},
		{name: "dispatched stays claimed", cleaner: always(janitor.Dispatched, nil),
			wantStatus: janitor.StatusDispatched, wantState: boskos.Cleaning, wantOwner: janitor.DefaultOwner, wantUD: boskos.UserData{}},
		{name: "first failure", cleaner: always(0, boom),
			wantStatus: janitor.StatusFailed, wantState: boskos.Dirty, wantUD: boskos.UserData{janitor.KeyFailures: "1"}},
		{name: "second failure", ud: boskos.UserData{janitor.KeyFailures: "1"}, cleaner: always(0, boom),
			wantStatus: janitor.StatusFailed, wantState: boskos.Dirty, wantUD: boskos.UserData{janitor.KeyFailures: "2"}},
		{name: "unreadable count is zero", ud: boskos.UserData{janitor.KeyFailures: "x"}, cleaner: always(0, boom),
			wantStatus: janitor.StatusFailed, wantState: boskos.Dirty, wantUD: boskos.UserData{janitor.KeyFailures: "1"}},
		{name: "third failure quarantines", ud: boskos.UserData{janitor.KeyFailures: "2"}, cleaner: always(0, boom),
			wantStatus: janitor.StatusQuarantined, wantState: boskos.Quarantined,
			wantUD: boskos.UserData{janitor.KeyFailures: "3", janitor.KeyReason: "boom"}},
		{name: "long reason is truncated", ud: boskos.UserData{janitor.KeyFailures: "2"}, cleaner: always(0, errors.New(long)),
			wantStatus: janitor.StatusQuarantined, wantState: boskos.Quarantined, wantReason: "éé"},
		{name: "reason made valid UTF-8", ud: boskos.UserData{janitor.KeyFailures: "2"}, cleaner: always(0, errors.New("bad \xff byte")),
			wantStatus: janitor.StatusQuarantined, wantState: boskos.Quarantined,
			wantUD: boskos.UserData{janitor.KeyFailures: "3", janitor.KeyReason: "bad \uFFFD byte"}},
		{name: "panic is a failure",
			cleaner:    janitor.CleanerFunc(func(context.Context, boskos.Resource) (janitor.Outcome, error) { panic("oops") }),
			wantStatus: janitor.StatusFailed, wantState: boskos.Dirty, wantUD: boskos.UserData{janitor.KeyFailures: "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := memEnv(t, oneDirty)
			if tc.ud != nil {
				e.setUserData("p-1", boskos.Dirty, tc.ud)
			}
			before := e.get("p-1")
			res := newResults()
			j := e.newJanitor(janitor.Options{Types: types("gce-project"), Targets: janitor.Targets{All: tc.cleaner}}, res)
			rep, err := j.RunOnce(e.ctx)
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"gce-project": 1}, rep.Claimed)
			assert.Equal(t, 0, rep.Running)
			r := res.next(t)
			assert.Equal(t, tc.wantStatus, r.Status, "status (err %v)", r.Err)
			assert.Equal(t, before.Epoch+1, r.Epoch)
			got := e.get("p-1")
			assert.Equal(t, tc.wantState, got.State)
			assert.Equal(t, tc.wantOwner, got.Owner)
			// A pass may claim a just failed resource again and hand it back.
			assert.Contains(t, []int64{before.Epoch + 1, before.Epoch + 2}, got.Epoch)
			if tc.wantReason != "" {
				reason := got.UserData[janitor.KeyReason]
				assert.LessOrEqual(t, len(reason), janitor.MaxReasonBytes)
				assert.Greater(t, len(reason), janitor.MaxReasonBytes-8)
				assert.True(t, strings.HasPrefix(reason, tc.wantReason), "reason %q", reason)
				assert.True(t, strings.HasSuffix(reason, "…"), "reason %q", reason)
				assert.Equal(t, "3", got.UserData[janitor.KeyFailures])
			} else {
				assert.Equal(t, tc.wantUD, got.UserData)
			}
			st := j.Stats()
			assert.Equal(t, int64(1), st.Claimed)
		})
	}
}

// TestQuarantineAfterRepeatedFailures drives one resource through
// MaxFailures failing passes: it is tried once per RetryDelay, then
// quarantined and never claimed again.
func TestQuarantineAfterRepeatedFailures(t *testing.T) {
	e := memEnv(t, oneDirty)
	calls := atomic.Int32{}
	failing := janitor.CleanerFunc(func(context.Context, boskos.Resource) (janitor.Outcome, error) {
		calls.Add(1)
		return 0, errors.New("project still has VMs")
	})
	var gauge sync.Map
	res := newResults()
	j := e.newJanitor(janitor.Options{
		Types: types("gce-project"), Targets: janitor.Targets{ByType: map[string]janitor.Cleaner{"gce-project": failing}},
		MaxFailures: 3, RetryDelay: time.Minute,
		OnQuarantined: func(rtype string, n int) { gauge.Store(rtype, n) },
	}, res)
	for pass := 1; pass <= 3; pass++ {
		rep, err := j.RunOnce(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Claimed["gce-project"], "pass %d", pass)
		r := res.next(t)
		assert.Equal(t, pass, r.Failures)
		if pass < 3 {
			assert.Equal(t, janitor.StatusFailed, r.Status)
			// Within RetryDelay the resource is claimed, handed back
			// untouched, and not cleaned.
			rep, err = j.RunOnce(e.ctx)
			require.NoError(t, err)
			assert.Equal(t, 0, rep.Claimed["gce-project"], "pass %d: retried too soon", pass)
			assert.Equal(t, int32(pass), calls.Load())
			got := e.get("p-1")
			assert.Equal(t, boskos.Dirty, got.State)
			assert.Equal(t, itoa(pass), got.UserData[janitor.KeyFailures])
			assert.Equal(t, 0, rep.Quarantined["gce-project"])
			e.clock.Add(time.Minute)
		} else {
			assert.Equal(t, janitor.StatusQuarantined, r.Status)
			assert.Equal(t, map[string]int{"gce-project": 1}, rep.Quarantined)
		}
	}
	got := e.get("p-1")
	assert.Equal(t, boskos.Quarantined, got.State)
	assert.Equal(t, "", got.Owner)
	assert.Equal(t, boskos.UserData{janitor.KeyFailures: "3", janitor.KeyReason: "project still has VMs"}, got.UserData)
	n, _ := gauge.Load("gce-project")
	assert.Equal(t, 1, n)

	// Nothing claims a quarantined resource.
	e.clock.Add(time.Hour)
	rep, err := j.RunOnce(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, rep.Claimed)
	assert.Equal(t, int32(3), calls.Load())
	st := j.Stats()
	assert.GreaterOrEqual(t, st.HandedBack, int64(2))
	st.HandedBack = 0
	assert.Equal(t, janitor.Stats{Claimed: 3, Failed: 2, Quarantined: 1}, st)
}

// hanger is a cleanup that blocks until the test lets it go.
type hanger struct {
	cleaner janitor.Cleaner
	letGo   func()
	hanging func() int // cleanups blocked right now (-1: unknown)
	arrived chan struct{}
}

// hangingWebhook blocks in its HTTP handler.
func hangingWebhook(t *testing.T) hanger {
	release := make(chan struct{})
	var once sync.Once
	var hanging atomic.Int32
	h := hanger{letGo: func() { once.Do(func() { close(release) }) }, arrived: make(chan struct{}, 100),
		hanging: func() int { return int(hanging.Load()) }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		h.arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		hanging.Add(-1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(h.letGo)
	w, err := janitor.NewWebhook(srv.URL, janitor.WebhookOptions{})
	require.NoError(t, err)
	h.cleaner = w
	return h
}

// hangingCommand is a script that waits until a file exists.
func hangingCommand(t *testing.T) hanger {
	dir := t.TempDir()
	gate := filepath.Join(dir, "go")
	c, err := janitor.NewCommand(script(t, `while [ ! -e `+gate+` ]; do sleep 0.05; done`))
	require.NoError(t, err)
	letGo := func() { _ = os.WriteFile(gate, nil, 0o644) }
	t.Cleanup(letGo)
	return hanger{cleaner: c, letGo: letGo, hanging: func() int { return -1 }}
}

// TestFairness: one type's cleanups hang (a webhook that blocks until the
// test lets it go, or a command waiting for a file); every resource of the
// other type is cleaned meanwhile, the hanging type holds no more than its
// slots, and passes do not wait.
func TestFairness(t *testing.T) {
	for _, tc := range []struct {
		name string
		hang func(t *testing.T) hanger
	}{{"webhook", hangingWebhook}, {"command", hangingCommand}} {
		t.Run(tc.name, func(t *testing.T) { testFairness(t, tc.hang(t)) })
	}
}

func testFairness(t *testing.T, slow hanger) {
	e := memEnv(t, `
resources:
- type: slow
  state: dirty
  names: `+yamlList(names("slow", 6))+`
- type: fast
  state: dirty
  names: `+yamlList(names("fast", 20))+`
`)
	fast, err := janitor.NewCommand("true")
	require.NoError(t, err)

	res := newResults()
	j := e.newJanitor(janitor.Options{
		Types:       types("slow", "fast"),
		Targets:     janitor.Targets{ByType: map[string]janitor.Cleaner{"slow": slow.cleaner, "fast": fast}},
		Concurrency: 2,
	}, res)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	rep, err := j.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Claimed["slow"])
	assert.Equal(t, 2, rep.Claimed["fast"])
	for i := 0; i < 20; i++ {
		r := res.next(t)
		require.Equal(t, "fast", r.Type, "only fast cleanups end")
		require.Equal(t, janitor.StatusCleaned, r.Status, "%s: %v", r.Name, r.Err)
	}
	if slow.arrived != nil {
		<-slow.arrived
		<-slow.arrived
	}
	// A second pass does not wait for the hanging cleanups either, and
	// claims nothing: slow has no free slot, fast is clean.
	rep, err = j.Pass(ctx)
	require.NoError(t, err)
	assert.Empty(t, rep.Claimed)
	assert.GreaterOrEqual(t, rep.Running, 2) // a fast slot may still be looking for work
	if n := slow.hanging(); n >= 0 {
		assert.Equal(t, 2, n)
	}

	counts := map[string]int{}
	for name, st := range e.states() {
		counts[strings.SplitN(name, "-", 2)[0]+"/"+st]++
	}
	assert.Equal(t, map[string]int{"fast/free": 20, "slow/cleaning": 2, "slow/dirty": 4}, counts)

	// Let the slow ones go: their slots drain the rest.
	slow.letGo()
	for i := 0; i < 6; i++ {
		r := res.next(t)
		require.Equal(t, janitor.StatusCleaned, r.Status, "%s: %v", r.Name, r.Err)
	}
	require.NoError(t, j.Wait(ctx))
	for name, st := range e.states() {
		assert.Equal(t, boskos.Free, st, name)
	}
}

// TestRoundRobin: with one slot per type, a pass claims one resource of
// every type before a second of any.
func TestRoundRobin(t *testing.T) {
	e := memEnv(t, `
resources:
- type: a
  state: dirty
  names: [a-1, a-2]
- type: b
  state: dirty
  names: [b-1, b-2]
- type: c
  state: dirty
  names: [c-1]
`)
	gate := make(chan struct{})
	blocking := janitor.CleanerFunc(func(ctx context.Context, _ boskos.Resource) (janitor.Outcome, error) {
		select {
		case <-gate:
		case <-ctx.Done():
		}
		return janitor.Cleaned, nil
	})
	j := e.newJanitor(janitor.Options{Types: types("a", "b", "c", "no-target"),
		Targets: janitor.Targets{ByType: map[string]janitor.Cleaner{"a": blocking, "b": blocking, "c": blocking}}, Concurrency: 1}, nil)
	rep, err := j.Pass(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1}, rep.Claimed)
	close(gate)
	require.NoError(t, j.Wait(e.ctx))
	for name, st := range e.states() {
		assert.Equal(t, boskos.Free, st, name)
	}
}

// TestHeartbeat: a running cleanup's lease is kept fresh, so the reaper's
// reset of idle cleaning leases leaves it alone; a lease that nobody
// heartbeats (its janitor died) is reset.
func TestHeartbeat(t *testing.T) {
	e := memEnv(t, `
resources:
- type: t
  state: dirty
  names: [live]
- type: u
  state: dirty
  names: [dead]
`)
	beats := make(chan error, 100)
	proceed := make(chan struct{})
	cleaner := janitor.CleanerFunc(func(ctx context.Context, _ boskos.Resource) (janitor.Outcome, error) {
		select {
		case <-proceed:
			return janitor.Cleaned, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	res := newResults()
	j := e.newJanitor(janitor.Options{Types: types("t"), Targets: janitor.Targets{All: cleaner},
		Heartbeat: 5 * time.Millisecond, OnHeartbeat: func(_, _ string, err error) { beats <- err }}, res)
	// A janitor that died: claimed dead, never heartbeats.
	_, err := e.r.Acquire(e.ctx, "u", boskos.Dirty, boskos.Cleaning, janitor.DefaultOwner, "")
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	_, err = j.Pass(ctx)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, <-beats)
		e.clock.Add(20 * time.Minute)
		require.NoError(t, <-beats) // stamped at the new time
	}
	// 60 minutes since the claim; the live lease was stamped just now.
	reset, err := e.r.Reset(e.ctx, "t", boskos.Cleaning, 30*time.Minute, boskos.Dirty)
	require.NoError(t, err)
	assert.Empty(t, reset)
	reset, err = e.r.Reset(e.ctx, "u", boskos.Cleaning, 30*time.Minute, boskos.Dirty)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"dead": janitor.DefaultOwner}, reset)
	close(proceed)
	assert.Equal(t, janitor.StatusCleaned, res.next(t).Status)
	assert.Equal(t, boskos.Free, e.get("live").State)
}

// TestLostLease: when the lease is reset during a cleanup, the heartbeat
// notices, the cleanup is cancelled, and the janitor leaves the resource
// alone.
func TestLostLease(t *testing.T) {
	e := memEnv(t, oneDirty)
	started := make(chan struct{})
	cleaner := janitor.CleanerFunc(func(ctx context.Context, _ boskos.Resource) (janitor.Outcome, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	res := newResults()
	j := e.newJanitor(janitor.Options{Types: types("gce-project"), Targets: janitor.Targets{All: cleaner}, Heartbeat: 5 * time.Millisecond}, res)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	_, err := j.Pass(ctx)
	require.NoError(t, err)
	<-started
	reset, err := e.r.Reset(e.ctx, "gce-project", boskos.Cleaning, -1, boskos.Dirty)
	require.NoError(t, err)
	require.Len(t, reset, 1)
	r := res.next(t)
	assert.Equal(t, janitor.StatusLost, r.Status)
	assert.Equal(t, boskos.EOwnerMismatch, boskos.ErrorCode(r.Err), "%v", r.Err)
	got := e.get("p-1")
	assert.Equal(t, boskos.Dirty, got.State)
	assert.Equal(t, "", got.Owner)
	assert.Empty(t, got.UserData, "no failure counted")
	assert.Equal(t, int64(1), j.Stats().Lost)
}

func TestDeadline(t *testing.T) {
	t.Run("no claim within the stop margin", func(t *testing.T) {
		e := memEnv(t, oneDirty)
		j := e.newJanitor(janitor.Options{Types: types("gce-project"), Targets: janitor.Targets{All: always(janitor.Cleaned, nil)},
			StopMargin: 2 * time.Hour}, nil)
		ctx, cancel := context.WithTimeout(e.ctx, time.Hour)
		defer cancel()
		rep, err := j.RunOnce(ctx)
		require.NoError(t, err)
		assert.True(t, rep.Stopped)
		assert.Empty(t, rep.Claimed)
		assert.Equal(t, boskos.Dirty, e.get("p-1").State)
	})
	t.Run("claims before the stop margin", func(t *testing.T) {
		e := memEnv(t, oneDirty)
		j := e.newJanitor(janitor.Options{Types: types("gce-project"), Targets: janitor.Targets{All: always(janitor.Cleaned, nil)},
			StopMargin: time.Minute}, nil)
		ctx, cancel := context.WithTimeout(e.ctx, time.Hour)
		defer cancel()
		rep, err := j.RunOnce(ctx)
		require.NoError(t, err)
		assert.False(t, rep.Stopped)
		assert.Equal(t, boskos.Free, e.get("p-1").State)
	})
	t.Run("a remote cleanup past the deadline is left to the reaper", func(t *testing.T) {
		e := memEnv(t, oneDirty)
		hang := janitor.CleanerFunc(func(ctx context.Context, _ boskos.Resource) (janitor.Outcome, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		res := newResults()
		j := e.newJanitor(janitor.Options{Types: types("gce-project"), Targets: janitor.Targets{All: hang},
			StopMargin: time.Millisecond}, res)
		ctx, cancel := context.WithTimeout(e.ctx, 300*time.Millisecond)
		defer cancel()
		rep, err := j.RunOnce(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Claimed["gce-project"])
		r := res.next(t)
		assert.Equal(t, janitor.StatusInterrupted, r.Status)
		got := e.get("p-1")
		assert.Equal(t, boskos.Cleaning, got.State)
		assert.Equal(t, janitor.DefaultOwner, got.Owner)
		assert.Empty(t, got.UserData)
	})
	t.Run("a killed command is handed back without a failure", func(t *testing.T) {
		e := memEnv(t, oneDirty)
		cmd, err := janitor.NewCommand("sh -c 'sleep 60' cleanup")
		require.NoError(t, err)
		res := newResults()
		j := e.newJanitor(janitor.Options{Types: types("gce-project"), Targets: janitor.Targets{All: cmd},
			StopMargin: time.Millisecond}, res)
		ctx, cancel := context.WithTimeout(e.ctx, 300*time.Millisecond)
		defer cancel()
		_, err = j.RunOnce(ctx)
		require.NoError(t, err)
		r := res.next(t)
		assert.Equal(t, janitor.StatusInterrupted, r.Status)
		assert.ErrorIs(t, r.Err, janitor.ErrStopped)
		require.NoError(t, j.Wait(e.ctx))
		got := e.get("p-1")
		assert.Equal(t, boskos.Dirty, got.State)
		assert.Equal(t, "", got.Owner)
		assert.Empty(t, got.UserData)
	})
	t.Run("cleanup timeout is a failure", func(t *testing.T) {
		e := memEnv(t, oneDirty)
		cmd, err := janitor.NewCommand("sh -c 'sleep 60' cleanup")
		require.NoError(t, err)
		res := newResults()
		j := e.newJanitor(janitor.Options{Types: types("gce-project"), Targets: janitor.Targets{All: cmd},
			CleanupTimeout: 100 * time.Millisecond}, res)
		_, err = j.RunOnce(e.ctx)
		require.NoError(t, err)
		r := res.next(t)
		assert.Equal(t, janitor.StatusFailed, r.Status)
		assert.ErrorContains(t, r.Err, "cleanup timed out after 100ms")
		assert.Equal(t, "1", e.get("p-1").UserData[janitor.KeyFailures])
	})
}

// TestPassErrors: a failing Types is Pass's error; a failing claim of one
// type does not stop the others.
func TestPassErrors(t *testing.T) {
	e := memEnv(t, oneDirty)
	j := e.newJanitor(janitor.Options{
		Types:   func(context.Context) ([]string, error) { return nil, errors.New("no config in force") },
		Targets: janitor.Targets{All: always(janitor.Cleaned, nil)}}, nil)
	_, err := j.Pass(e.ctx)
	require.EqualError(t, err, "janitor: types: no config in force")
	require.EqualError(t, j.Validate(e.ctx), "janitor: types: no config in force")

	bad := strings.Repeat("x", 300) // an invalid type: the ranch refuses it
	j = e.newJanitor(janitor.Options{Types: types(bad, "gce-project"), Targets: janitor.Targets{All: always(janitor.Cleaned, nil)}}, nil)
	rep, err := j.RunOnce(e.ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "janitor: claim "+bad)
	assert.Equal(t, map[string]int{"gce-project": 1}, rep.Claimed)
	assert.Equal(t, boskos.Free, e.get("p-1").State)
}

func TestNewOptions(t *testing.T) {
	e := memEnv(t, oneDirty)
	ok := janitor.Options{Types: types("t"), Targets: janitor.Targets{All: always(janitor.Cleaned, nil)}}
	tests := []struct {
		name string
		edit func(o *janitor.Options)
		want string
	}{
		{"defaults", func(*janitor.Options) {}, ""},
		{"no types", func(o *janitor.Options) { o.Types = nil }, "janitor: no Types function"},
		{"no targets", func(o *janitor.Options) { o.Targets = janitor.Targets{} }, "janitor: no cleanup configured"},
		{"negative concurrency", func(o *janitor.Options) { o.Concurrency = -1 }, "janitor: concurrency must not be negative"},
		{"negative max failures", func(o *janitor.Options) { o.MaxFailures = -3 }, "janitor: max failures must not be negative"},
		{"negative heartbeat", func(o *janitor.Options) { o.Heartbeat = -time.Second }, "janitor: heartbeat period must not be negative"},
		{"bad owner", func(o *janitor.Options) { o.Owner = "a\nb" }, "janitor: "},
		{"all at once", func(o *janitor.Options) { o.Concurrency, o.StopMargin, o.RetryDelay = -1, -1, -1 },
			"janitor: concurrency must not be negative\njanitor: stop margin must not be negative\njanitor: retry delay must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			j, err := janitor.New(e.r, o)
			if tc.want == "" {
				require.NoError(t, err)
				require.NotNil(t, j)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tc.want), "got %q, want %q", err, tc.want)
		})
	}
	_, err := janitor.New(nil, ok)
	require.EqualError(t, err, "janitor: no ranch")
}

// TestLeavesOthersAlone: the janitor touches only dirty resources of the
// types it cleans, and only those it claimed.
func TestLeavesOthersAlone(t *testing.T) {
	e := memEnv(t, `
resources:
- type: t
  state: dirty
  names: [d-1, d-2]
- type: t2
  state: dirty
  names: [other-type]
- type: t3
  names: [busy-1]
`)
	held, err := e.r.Acquire(e.ctx, "t", boskos.Dirty, "busy", "user", "")
	require.NoError(t, err)
	busy, err := e.r.Acquire(e.ctx, "t3", boskos.Free, "busy", "user", "")
	require.NoError(t, err)
	before := map[string]boskos.Resource{held.Name: e.get(held.Name), busy.Name: e.get(busy.Name), "other-type": e.get("other-type")}
	j := e.newJanitor(janitor.Options{Types: types("t", "t3"), Targets: janitor.Targets{ByType: map[string]janitor.Cleaner{
		"t": always(janitor.Cleaned, nil), "t3": always(janitor.Cleaned, nil)}}}, nil)
	_, err = j.RunOnce(e.ctx)
	require.NoError(t, err)
	for name, b := range before {
		assert.Equal(t, b, e.get(name), name)
	}
	other := map[string]string{"d-1": "d-2", "d-2": "d-1"}[held.Name]
	assert.Equal(t, map[string]string{held.Name: "busy", other: "free", "other-type": "dirty", "busy-1": "busy"}, e.states())
}

// TestTwoJanitors runs two janitors at once on one store of every backend:
// every dirty resource ends free, cleaned exactly once, never by two
// cleanups at a time; some cleanups fail once first.
func TestTwoJanitors(t *testing.T) {
	for _, b := range testkit.Backends {
		t.Run(b.Name, func(t *testing.T) {
			if b.Name == "dynamostore" && testing.Short() {
				t.Skip("DynamoDB Local in -short")
			}
			all := append(names("a", 12), names("b", 12)...)
			e := newEnv(t, b.Open(t), `
resources:
- type: ta
  state: dirty
  names: `+yamlList(names("a", 12))+`
- type: tb
  state: dirty
  names: `+yamlList(names("b", 12))+`
- type: tc
  names: [held]
`)
			held, err := e.r.Acquire(e.ctx, "tc", boskos.Free, "busy", "user", "")
			require.NoError(t, err)
			var mu sync.Mutex
			inflight := map[string]int{}
			cleaned := map[string]int{}
			attempts := map[string]int{}
			var overlap atomic.Int32
			cleaner := janitor.CleanerFunc(func(ctx context.Context, r boskos.Resource) (janitor.Outcome, error) {
				mu.Lock()
				inflight[r.Name]++
				if inflight[r.Name] > 1 {
					overlap.Add(1)
				}
				attempts[r.Name]++
				fail := attempts[r.Name] == 1 && strings.HasSuffix(r.Name, "3")
				mu.Unlock()
				time.Sleep(time.Millisecond) // let the other janitor race for it
				mu.Lock()
				defer mu.Unlock()
				inflight[r.Name]--
				if fail {
					return 0, fmt.Errorf("transient failure of %s", r.Name)
				}
				cleaned[r.Name]++
				return janitor.Cleaned, nil
			})
			var js []*janitor.Janitor
			for i := 0; i < 2; i++ {
				js = append(js, e.newJanitor(janitor.Options{Types: types("ta", "tb", "tc"),
					Targets: janitor.Targets{All: cleaner}, Concurrency: 3}, nil))
			}
			for round := 0; round < 2; round++ {
				var wg sync.WaitGroup
				for _, j := range js {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := j.RunOnce(e.ctx)
						assert.NoError(t, err)
					}()
				}
				wg.Wait()
				e.clock.Add(time.Minute) // past RetryDelay: the failed ones are retried
			}
			assert.Zero(t, overlap.Load(), "two cleanups of one resource at once")
			for _, n := range all {
				assert.Equal(t, 1, cleaned[n], "cleanups of %s", n)
				got := e.get(n)
				assert.Equal(t, boskos.Free, got.State, n)
				assert.Equal(t, "", got.Owner, n)
				assert.Empty(t, got.UserData, n)
			}
			assert.Equal(t, held, e.get("held"), "an owned resource is untouched")
			var st janitor.Stats
			for _, j := range js {
				s := j.Stats()
				st.Cleaned += s.Cleaned
				st.Failed += s.Failed
			}
			assert.Equal(t, janitor.Stats{Cleaned: 24, Failed: 2}, janitor.Stats{Cleaned: st.Cleaned, Failed: st.Failed})
		})
	}
}

// cancellingRanch cancels a context right after each successful Acquire,
// as if the janitor's context ended between a claim and its cleanup.
type cancellingRanch struct {
	janitor.Ranch
	cancel context.CancelFunc
}

func (c cancellingRanch) Acquire(ctx context.Context, rtype, state, dest, owner, requestID string) (boskos.Resource, error) {
	res, err := c.Ranch.Acquire(ctx, rtype, state, dest, owner, requestID)
	if err == nil {
		c.cancel()
	}
	return res, err
}

// TestClaimAsContextEnds: a resource claimed as the context ends is handed
// back dirty at once, its cleanup never started, no failure counted.
func TestClaimAsContextEnds(t *testing.T) {
	e := memEnv(t, oneDirty)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var calls atomic.Int32
	res := newResults()
	j, err := janitor.New(cancellingRanch{Ranch: e.r, cancel: cancel}, janitor.Options{
		Types: types("gce-project"), Logger: quiet, OnResult: res.add,
		Targets: janitor.Targets{All: janitor.CleanerFunc(func(context.Context, boskos.Resource) (janitor.Outcome, error) {
			calls.Add(1)
			return janitor.Cleaned, nil
		})}})
	require.NoError(t, err)
	rep, err := j.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Claimed["gce-project"])
	r := res.next(t)
	assert.Equal(t, janitor.StatusInterrupted, r.Status)
	assert.ErrorIs(t, r.Err, context.Canceled)
	require.NoError(t, j.Wait(e.ctx))
	assert.Zero(t, calls.Load())
	got := e.get("p-1")
	assert.Equal(t, boskos.Dirty, got.State)
	assert.Equal(t, "", got.Owner)
	assert.Empty(t, got.UserData)
}

// TestOutcomesOnEveryBackend: the user data writes of a failure, a
// quarantine and a success mean the same on every engine.
func TestOutcomesOnEveryBackend(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			if b.Name == "dynamostore" && testing.Short() {
				t.Skip("DynamoDB Local in -short")
			}
			e := newEnv(t, b.Open(t), `
resources:
- type: q
  state: dirty
  names: [q-1]
- type: f
  state: dirty
  names: [f-1]
- type: c
  state: dirty
  names: [c-1]
`)
			e.setUserData("q-1", boskos.Dirty, boskos.UserData{janitor.KeyFailures: "1", "keep": "x"})
			e.setUserData("c-1", boskos.Dirty, boskos.UserData{janitor.KeyFailures: "1", janitor.KeyReason: "old"})
			fail := always(0, errors.New("still \xffdirty"))
			j := e.newJanitor(janitor.Options{Types: types("q", "f", "c"), MaxFailures: 2,
				Targets: janitor.Targets{All: always(janitor.Cleaned, nil), ByType: map[string]janitor.Cleaner{"q": fail, "f": fail}}}, nil)
			rep, err := j.RunOnce(e.ctx)
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"q": 1, "f": 1, "c": 1}, rep.Claimed)
			q := e.get("q-1")
			assert.Equal(t, boskos.Quarantined, q.State)
			assert.Equal(t, "", q.Owner)
			assert.Equal(t, boskos.UserData{janitor.KeyFailures: "2", janitor.KeyReason: "still \uFFFDdirty", "keep": "x"}, q.UserData)
			f := e.get("f-1")
			assert.Equal(t, boskos.Dirty, f.State)
			assert.Equal(t, boskos.UserData{janitor.KeyFailures: "1"}, f.UserData)
			c := e.get("c-1")
			assert.Equal(t, boskos.Free, c.State)
			assert.Empty(t, c.UserData)
		})
	}
}

// contendedRanch answers the first `lose` claims with the 404 of lost
// races (boskos.ErrContended), as when other claims took every candidate.
type contendedRanch struct {
	janitor.Ranch
	lose  int
	calls *atomic.Int32
}

func (c contendedRanch) Acquire(ctx context.Context, rtype, state, dest, owner, requestID string) (boskos.Resource, error) {
	if int(c.calls.Add(1)) <= c.lose {
		nf := boskos.ResourceNotFound(rtype)
		nf.Err = boskos.ErrContended
		return boskos.Resource{}, nf
	}
	return c.Ranch.Acquire(ctx, rtype, state, dest, owner, requestID)
}

// TestClaimLookAgainAfterLostRaces: a claim that concurrent claims beat to
// every dirty candidate looks again (a run must not end while dirty
// resources remain because its slots raced each other), a bounded number
// of times.
func TestClaimLookAgainAfterLostRaces(t *testing.T) {
	for _, tc := range []struct {
		name        string
		lose        int
		wantCleaned int64
	}{
		{name: "one lost race", lose: 1, wantCleaned: 1},
		{name: "lost races up to the bound", lose: 3, wantCleaned: 1},
		{name: "past the bound the run gives up", lose: 4, wantCleaned: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := memEnv(t, oneDirty)
			var calls atomic.Int32
			j, err := janitor.New(contendedRanch{Ranch: e.r, lose: tc.lose, calls: &calls}, janitor.Options{
				Types: types("gce-project"), Logger: quiet, Concurrency: 1,
				Targets: janitor.Targets{All: janitor.CleanerFunc(func(context.Context, boskos.Resource) (janitor.Outcome, error) {
					return janitor.Cleaned, nil
				})}})
			require.NoError(t, err)
			_, err = j.RunOnce(e.ctx)
			require.NoError(t, err)
			assert.Equal(t, tc.wantCleaned, j.Stats().Cleaned)
			want := boskos.Free
			if tc.wantCleaned == 0 {
				want = boskos.Dirty
			}
			assert.Equal(t, want, e.get("p-1").State)
		})
	}
}
