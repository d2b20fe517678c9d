package compat

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/boskos/client"
	"sigs.k8s.io/boskos/common"
)

// TestServeJanitor runs `boskos serve` (a subprocess, real HTTP) with the
// janitor: the repo's example script cleans dirty projects; a type whose
// cleanup always fails is quarantined after --janitor-max-failures tries,
// with its reason in the user data; a type whose cleanup hangs does not
// keep the other types from being cleaned.
func TestServeJanitor(t *testing.T) {
	t.Parallel()
	bin := buildBoskos(t)
	dir := t.TempDir()
	example, err := filepath.Abs(filepath.Join("..", "..", "scripts", "janitor-example.sh"))
	require.NoError(t, err)
	hang := filepath.Join(dir, "hang.sh")
	require.NoError(t, os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 3600\n"), 0o755))
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`resources:
- {type: gce-project, state: dirty, names: [p-1, p-2, p-3]}
- {type: aws-account, state: dirty, names: [a-1]}
- {type: slow-thing, state: dirty, names: [s-1, s-2]}
`), 0o644))
	p := startBoskos(t, bin, "--config", cfg, "--in_memory", "--gc-period", "100ms",
		"--janitor-command", "gce-project="+example+" --sleep=0",
		"--janitor-command", "aws-account="+example+" --sleep=0 --fail",
		"--janitor-command", "slow-thing="+hang,
		"--janitor-max-failures", "2", "--janitor-retry-delay", "10ms", "--janitor-concurrency", "1")
	c, err := client.NewClient("observer", p.URL, "", "")
	require.NoError(t, err)
	metric := func(rtype string) map[string]int {
		m, err := c.Metric(rtype)
		if err != nil {
			return map[string]int{"error: " + err.Error(): 1}
		}
		return m.Current
	}
	poll(t, "projects cleaned while slow-thing hangs", time.Minute, func() (bool, string) {
		m := metric("gce-project")
		return m[common.Free] == 3, p.logs()
	})
	assert.Equal(t, map[string]int{"cleaning": 1, "dirty": 1}, metric("slow-thing"), "one slot, hanging")
	poll(t, "failing account quarantined", time.Minute, func() (bool, string) {
		return metric("aws-account")["quarantined"] == 1, p.logs()
	})
	q, err := c.Acquire("aws-account", "quarantined", "busy")
	require.NoError(t, err, "an operator can take a quarantined resource by hand")
	ud := q.UserData.ToMap()
	assert.Equal(t, "2", ud["cleanupFailures"])
	assert.Contains(t, ud["quarantineReason"], "failed to clean account a-1")
	res, err := c.Acquire("gce-project", common.Free, common.Busy)
	require.NoError(t, err)
	assert.NotContains(t, res.UserData.ToMap(), "cleanupFailures", "a cleaned resource has no failure count")
	logs := p.logs()
	assert.Contains(t, logs, "status=quarantined")
	assert.Contains(t, logs, "failed to clean account a-1", "the script's stderr is the reason")
	assert.NotContains(t, logs, "pass failed")
}

// TestServeJanitorBadFlags: janitor flags that cannot work stop the server
// at start with a message naming the problem.
func TestServeJanitorBadFlags(t *testing.T) {
	t.Parallel()
	bin := buildBoskos(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("resources:\n- {type: gce-project, names: [p-1]}\n"), 0o644))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown type", []string{"--janitor-command", "nope=/bin/true"}, `type "nope", which is not in the config`},
		{"empty command", []string{"--janitor-command", "gce-project="}, "--janitor-command"},
		{"missing program", []string{"--janitor-command", "/no/such/cleaner"}, "/no/such/cleaner"},
		{"zero concurrency", []string{"--janitor-concurrency", "0"}, "--janitor-concurrency must be positive"},
		{"negative reaper expire", []string{"--reaper-expire", "-1s"}, "--reaper-expire must not be negative"},
		{"bad extra states", []string{"--reaper-extra-states", "a,,b"}, "--reaper-extra-states"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			args := append([]string{"serve", "--config", cfg, "--in_memory", "--port", "0"}, tc.args...)
			out, err := runBin(ctx, bin, args...)
			require.Error(t, err, "serve must refuse to start:\n%s", out)
			assert.Contains(t, out, tc.want)
			assert.NotContains(t, out, "msg=serving")
		})
	}
}

// runBin runs bin with args and returns its combined output.
func runBin(ctx context.Context, bin string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

// TestServeReaperSubprocess: in a running `boskos serve` (a subprocess), a
// lease that stops heart-beating is reset to dirty within a period after
// --reaper-expire and its holder's release then fails with 401, while a
// heart-beating lease is kept.
func TestServeReaperSubprocess(t *testing.T) {
	t.Parallel()
	bin := buildBoskos(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("resources:\n- {type: proj, names: [p-1, p-2]}\n"), 0o644))
	p := startBoskos(t, bin, "--config", cfg, "--in_memory", "--gc-period", "100ms", "--reaper-expire", "1s")
	dead, err := client.NewClient("dead-job", p.URL, "", "")
	require.NoError(t, err)
	alive, err := client.NewClient("live-job", p.URL, "", "")
	require.NoError(t, err)
	gone, err := dead.Acquire("proj", common.Free, common.Busy)
	require.NoError(t, err)
	kept, err := alive.Acquire("proj", common.Free, common.Busy)
	require.NoError(t, err)
	poll(t, "the stale lease reaped", time.Minute, func() (bool, string) {
		if err := alive.UpdateOne(kept.Name, common.Busy, nil); err != nil {
			return false, "heartbeat: " + err.Error()
		}
		m, err := alive.Metric("proj")
		if err != nil {
			return false, err.Error()
		}
		return m.Current[common.Dirty] == 1, p.logs()
	})
	m, err := alive.Metric("proj")
	require.NoError(t, err)
	assert.Equal(t, 1, m.Owners["live-job"], "the heart-beating lease is kept")
	// (The upstream client retries a failed release for a few seconds: the
	// live lease, no longer heart-beaten, may be reaped meanwhile.)
	err = dead.ReleaseOne(gone.Name, common.Free)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
}
