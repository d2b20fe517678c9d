package compat

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/boskos/client"
	"sigs.k8s.io/boskos/common"

	"github.com/boskos-serverless/boskos/tests/compat/lambdarun"
)

// buildUpstream builds upstream's command pkg (sigs.k8s.io/boskos/cmd/<name>)
// at the version this module pins.
func buildUpstream(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "sigs.k8s.io/boskos/cmd/"+name).CombinedOutput()
	require.NoError(t, err, "go build sigs.k8s.io/boskos/cmd/%s:\n%s", name, out)
	return bin
}

// startUpstream runs an upstream binary until the test ends; its output
// goes to the returned buffer.
func startUpstream(t *testing.T, bin string, args ...string) *lambdarun.SyncBuffer {
	t.Helper()
	out := &lambdarun.SyncBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	lambdarun.DieWithParent(cmd)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return out
}

// poll calls cond until it holds or the deadline passes.
func poll(t *testing.T, what string, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		ok, seen := cond()
		if ok {
			return
		}
		last = seen
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s; last seen: %s", what, within, last)
}

const upstreamBinsConfig = `resources:
- type: gce-project
  state: dirty
  names: [proj-a, proj-b, proj-c]
- type: aws-account
  state: free
  names: [acct-1, acct-2]
`

// TestUpstreamJanitorBinary: upstream's janitor claims the dirty projects
// (dirty -> cleaning, owner Janitor), runs its janitor script with
// --project=<name> and releases them free.
func TestUpstreamJanitorBinary(t *testing.T) {
	t.Parallel()
	bin := buildBoskos(t)
	janitor := buildUpstream(t, "janitor")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(upstreamBinsConfig), 0o644))
	seen := filepath.Join(dir, "cleaned.txt")
	script := filepath.Join(dir, "clean.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" >> "+seen+"\n"), 0o755))
	// Our own janitor and reaper stay off: upstream's do the work.
	p := startBoskos(t, bin, "--config", cfg, "--in_memory", "--gc-period", "100ms", "--reaper-expire", "0")
	out := startUpstream(t, janitor, "--boskos-url", p.URL, "--resource-type", "gce-project",
		"--janitor-path", script, "--pool-size", "2")
	c, err := client.NewClient("observer", p.URL, "", "")
	require.NoError(t, err)
	poll(t, "every project cleaned", time.Minute, func() (bool, string) {
		m, err := c.Metric("gce-project")
		if err != nil {
			return false, err.Error()
		}
		return m.Current[common.Free] == 3, out.String()
	})
	b, err := os.ReadFile(seen)
	require.NoError(t, err)
	lines := strings.Fields(string(b))
	assert.ElementsMatch(t, []string{"--project=proj-a", "--project=proj-b", "--project=proj-c"}, lines)
}

// TestUpstreamReaperBinary: upstream's reaper resets, through /reset, a
// lease that stopped heart-beating (it first runs a minute after its
// start, as upstream's does), and the old holder's release then fails.
func TestUpstreamReaperBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("upstream's reaper waits a minute before its first pass")
	}
	t.Parallel()
	bin := buildBoskos(t)
	reaper := buildUpstream(t, "reaper")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(upstreamBinsConfig), 0o644))
	p := startBoskos(t, bin, "--config", cfg, "--in_memory", "--reaper-expire", "0")
	holder, err := client.NewClient("dead-job", p.URL, "", "")
	require.NoError(t, err)
	res, err := holder.Acquire("aws-account", common.Free, common.Busy)
	require.NoError(t, err)
	out := startUpstream(t, reaper, "--boskos-url", p.URL, "--resource-type", "aws-account", "--expire", "1s")
	obs, err := client.NewClient("observer", p.URL, "", "")
	require.NoError(t, err)
	poll(t, "the stale lease reset to dirty", 2*time.Minute, func() (bool, string) {
		m, err := obs.Metric("aws-account")
		if err != nil {
			return false, err.Error()
		}
		return m.Current[common.Dirty] == 1, out.String()
	})
	assert.Error(t, holder.ReleaseOne(res.Name, common.Free), "the reaped holder no longer owns it")
}

// TestUpstreamBoskosctl: upstream's boskosctl acquires, heartbeats (via
// its release path) and reads metrics against the local server.
func TestUpstreamBoskosctl(t *testing.T) {
	t.Parallel()
	bin := buildBoskos(t)
	ctl := buildUpstream(t, "boskosctl")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(upstreamBinsConfig), 0o644))
	p := startBoskos(t, bin, "--config", cfg, "--in_memory")
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		full := append(args, "--server-url", p.URL, "--owner-name", "ctl-user")
		out, err := exec.CommandContext(ctx, ctl, full...).CombinedOutput()
		require.NoError(t, err, "boskosctl %v:\n%s", args, out)
		return string(out)
	}
	out := run("acquire", "--type", "aws-account", "--state", "free", "--target-state", "busy")
	assert.Contains(t, out, `"owner":"ctl-user"`)
	name := "acct-1"
	if !strings.Contains(out, `"name":"acct-1"`) {
		name = "acct-2"
	}
	out = run("metrics", "--type", "aws-account")
	assert.Contains(t, out, `"busy":1`)
	run("release", "--name", name, "--target-state", "dirty")
	out = run("metrics", "--type", "aws-account")
	assert.Contains(t, out, `"dirty":1`)
}
