package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventually polls cond every 50ms until it holds, failing the test with
// the last value seen after a generous deadline (the jobs run every 100ms).
func eventually(t *testing.T, what string, cond func() (bool, any)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last any
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: never happened; last seen %v", what, last)
}

// TestServeMaintenance: the periodic jobs of a running server, with no
// config file change: an owned resource removed from the config is deleted
// once released (upstream syncs on every release); a dynamic resource whose
// lifespan passed is marked toBeDeleted and min-count is refilled.
func TestServeMaintenance(t *testing.T) {
	ctx := context.Background()
	cfg := writeFile(t, t.TempDir(), "config.yaml", `resources:
- type: t
  names: [a, b]
- type: d
  state: free
  min-count: 1
  max-count: 2
  lifespan: 1s
`)
	srv := startServe(t, "--config", cfg, "--in_memory", "--gc-period", "100ms", "--spread-window", "0")
	me := mustClient(t, srv.URL, "me")
	metric := func(rtype string) map[string]int {
		m, err := me.Metric(ctx, rtype)
		if err != nil {
			return map[string]int{"error: " + err.Error(): 1}
		}
		return m.Current
	}

	// a is leased, then leaves the config: kept while owned.
	got, err := me.Acquire(ctx, "t", "free", "busy", "")
	require.NoError(t, err)
	require.Equal(t, "a", got.Name)
	replaceFile(t, cfg, `resources:
- type: t
  names: [b]
- type: d
  state: free
  min-count: 1
  max-count: 2
  lifespan: 1s
`)
	requireReload(t, srv, "")
	assert.Equal(t, map[string]int{"busy": 1, "free": 1}, metric("t"), "a is owned: kept")
	require.NoError(t, me.Release(ctx, "a", "dirty", 0))
	eventually(t, "a deleted after its release", func() (bool, any) {
		m := metric("t")
		return len(m) == 1 && m["free"] == 1, m
	})

	// The dynamic resource created at start: lease it, release it; once
	// its lifespan passed the reconciler marks it toBeDeleted, the cleaner
	// tombstones it, the reconciler deletes it and refills min-count.
	dyn, err := me.Acquire(ctx, "d", "free", "busy", "")
	require.NoError(t, err)
	require.NoError(t, me.Release(ctx, dyn.Name, "free", 0))
	steps := []string{"marked resource toBeDeleted", "clean: tombstoned", "deleted tombstoned resource"}
	eventually(t, "expired dynamic resource replaced by a new one", func() (bool, any) {
		logs := srv.Stderr.String()
		for _, step := range steps {
			if !strings.Contains(logs, step) {
				return false, "no log line " + step
			}
		}
		m := metric("d")
		return len(m) == 1 && m["free"] == 1, m
	})
	assert.NotContains(t, srv.Stderr.String(), "pass failed")
	fresh, err := me.Acquire(ctx, "d", "free", "busy", "")
	require.NoError(t, err)
	assert.NotEqual(t, dyn.Name, fresh.Name, "a new resource, the old one is gone")
}

// TestServeReaper: a lease that stops heart-beating is reset to dirty
// within a period after --reaper-expire, and its holder's release then
// fails; a heart-beating lease is never reaped.
func TestServeReaper(t *testing.T) {
	ctx := context.Background()
	cfg := writeFile(t, t.TempDir(), "config.yaml", "resources:\n- {type: t, names: [a, b]}\n")
	srv := startServe(t, "--config", cfg, "--in_memory", "--gc-period", "100ms", "--spread-window", "0",
		"--reaper-expire", "1500ms")
	dead := mustClient(t, srv.URL, "dead-job")
	alive := mustClient(t, srv.URL, "live-job")
	gone, err := dead.Acquire(ctx, "t", "free", "busy", "")
	require.NoError(t, err)
	kept, err := alive.Acquire(ctx, "t", "free", "busy", "")
	require.NoError(t, err)
	start := time.Now()
	eventually(t, "stale lease reaped", func() (bool, any) {
		// The live job heartbeats every poll (50ms << 1.5s).
		if err := alive.Update(ctx, kept.Name, "busy", nil, 0); err != nil {
			return false, "heartbeat: " + err.Error()
		}
		m, err := alive.Metric(ctx, "t")
		if err != nil {
			return false, err
		}
		return m.Current["dirty"] == 1, m.Current
	})
	assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "not before the expiry")
	err = dead.Release(ctx, gone.Name, "free", 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	m, err := alive.Metric(ctx, "t")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"dirty": 1, "busy": 1}, m.Current)
	assert.Equal(t, map[string]int{"": 1, "live-job": 1}, m.Owners, "the heart-beating lease is kept")
	assert.Contains(t, srv.Stderr.String(), "reaper: reset a stale lease")
}
