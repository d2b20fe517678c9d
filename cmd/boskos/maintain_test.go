package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
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
		m, err := me.metric(ctx, rtype)
		if err != nil {
			return map[string]int{"error: " + err.Error(): 1}
		}
		return m.Current
	}

	// a is leased, then leaves the config: kept while owned.
	got, err := me.acquire(ctx, "t", "free", "busy", "")
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
	require.NoError(t, me.release(ctx, "a", "dirty"))
	eventually(t, "a deleted after its release", func() (bool, any) {
		m := metric("t")
		return len(m) == 1 && m["free"] == 1, m
	})

	// The dynamic resource created at start: lease it, release it; once
	// its lifespan passed it is marked toBeDeleted (it still counts toward
	// min-count). A cleaner (here, by hand) tombstones it; then it is
	// deleted and a new one keeps min-count.
	dyn, err := me.acquire(ctx, "d", "free", "busy", "")
	require.NoError(t, err)
	require.NoError(t, me.release(ctx, dyn.Name, "free"))
	eventually(t, "expired dynamic resource marked", func() (bool, any) {
		m := metric("d")
		return len(m) == 1 && m[boskos.ToBeDeleted] == 1, m
	})
	cleaner := mustClient(t, srv.URL, "cleaner")
	doomed, err := cleaner.acquire(ctx, "d", boskos.ToBeDeleted, boskos.Cleaning, "")
	require.NoError(t, err)
	require.Equal(t, dyn.Name, doomed.Name)
	require.NoError(t, cleaner.release(ctx, doomed.Name, boskos.Tombstone))
	eventually(t, "tombstone deleted and min-count refilled", func() (bool, any) {
		m := metric("d")
		return len(m) == 1 && m["free"] == 1, m
	})
	fresh, err := me.acquire(ctx, "d", "free", "busy", "")
	require.NoError(t, err)
	assert.NotEqual(t, dyn.Name, fresh.Name, "a new resource, the tombstone is gone")
}

func TestSyncPending(t *testing.T) {
	cfg, err := boskos.ParseConfig([]byte(`resources:
- type: t
  names: [a, b]
- type: d
  min-count: 1
  max-count: 2
`))
	require.NoError(t, err)
	tests := []struct {
		name string
		all  []boskos.Resource
		want bool
	}{
		{"nothing", nil, false},
		{"in the config", []boskos.Resource{{Name: "a", Type: "t", Owner: "o"}, {Name: "b", Type: "t"}}, false},
		{"left the config, unowned", []boskos.Resource{{Name: "x", Type: "t"}}, false},
		{"left the config, owned", []boskos.Resource{{Name: "x", Type: "t", Owner: "o"}}, true},
		{"changed type, owned", []boskos.Resource{{Name: "a", Type: "u", Owner: "o"}}, true},
		{"dynamic, owned", []boskos.Resource{{Name: "uuid-1", Type: "d", Owner: "o"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, syncPending(cfg, tc.all))
		})
	}
}
