package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
)

const twoResources = `resources:
- type: t
  state: free
  names: [a, b]
`

// TestRestartDurability: leases, userdata, epochs and the request queue
// survive stopping and restarting the server on the same bolt file.
func TestRestartDurability(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", twoResources)
	args := []string{"--config", cfg, "--store", "bolt:" + filepath.Join(dir, "boskos.db"), "--request-ttl", "10m"}
	ctx := context.Background()

	srv := startServe(t, args...)
	alice, bob, q1, q2 := mustClient(t, srv.URL, "alice"), mustClient(t, srv.URL, "bob"), mustClient(t, srv.URL, "q1"), mustClient(t, srv.URL, "q2")
	ra, err := alice.Acquire(ctx, "t", "free", "busy", "")
	require.NoError(t, err)
	rb, err := bob.Acquire(ctx, "t", "free", "busy", "")
	require.NoError(t, err)
	require.NotEqual(t, ra.Name, rb.Name)
	require.NoError(t, alice.Update(ctx, ra.Name, "busy", map[string]string{"secret": "s3cr3t", "n": "1"}, 0))
	// Nothing free: q1 then q2 queue up, in that order.
	_, err = q1.Acquire(ctx, "t", "free", "busy", "req-1")
	require.True(t, isStatus(err, 404), "got %v, want 404", err)
	_, err = q2.Acquire(ctx, "t", "free", "busy", "req-2")
	require.True(t, isStatus(err, 404), "got %v, want 404", err)
	require.Equal(t, 0, srv.stop(t))

	srv = startServe(t, args...)
	// The same owners, at the new address.
	alice, bob, q1, q2 = mustClient(t, srv.URL, "alice"), mustClient(t, srv.URL, "bob"), mustClient(t, srv.URL, "q1"), mustClient(t, srv.URL, "q2")
	m, err := alice.Metric(ctx, "t")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"busy": 2}, m.Current)
	assert.Equal(t, map[string]int{"alice": 1, "bob": 1}, m.Owners)
	// Bob's lease survived: alice cannot release it, bob can.
	require.True(t, isStatus(alice.Release(ctx, rb.Name, "free", 0), 401))
	require.NoError(t, bob.Release(ctx, rb.Name, "free", 0))
	// One resource free; req-2 is second in the queue, anonymous callers
	// are behind both: neither gets it.
	_, err = q2.Acquire(ctx, "t", "free", "busy", "req-2")
	require.True(t, isStatus(err, 404), "req-2 got %v, want 404 (req-1 is ahead)", err)
	_, err = bob.Acquire(ctx, "t", "free", "busy", "")
	require.True(t, isStatus(err, 404), "anonymous got %v, want 404", err)
	got1, err := q1.Acquire(ctx, "t", "free", "busy", "req-1")
	require.NoError(t, err)
	assert.Equal(t, rb.Name, got1.Name)
	assert.Equal(t, rb.Epoch+1, got1.Epoch, "epoch continues after a restart")
	// Alice's lease and userdata survived; her release goes to req-2.
	require.NoError(t, alice.Update(ctx, ra.Name, "busy", nil, 0))
	require.NoError(t, alice.Release(ctx, ra.Name, "free", 0))
	got2, err := q2.Acquire(ctx, "t", "free", "busy", "req-2")
	require.NoError(t, err)
	assert.Equal(t, ra.Name, got2.Name)
	assert.Equal(t, ra.Epoch+1, got2.Epoch)
	assert.Equal(t, map[string]string{"secret": "s3cr3t", "n": "1"}, map[string]string(got2.UserData))
}

// TestConfigReload: a valid change is applied (in place and by
// rename-replace), an invalid one is logged and the old config kept.
func TestConfigReload(t *testing.T) {
	for _, st := range storeSpecs(t) {
		t.Run(st.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "config.yaml", twoResources)
			srv := startServe(t, "--config", cfg, "--store", st.spec, "--reload-delay", "20ms")
			c := mustClient(t, srv.URL, "me")
			ctx := context.Background()
			count := func(rtype string) int {
				m, err := c.Metric(ctx, rtype)
				if isStatus(err, 404) {
					return 0
				}
				require.NoError(t, err)
				n := 0
				for _, v := range m.Current {
					n += v
				}
				return n
			}
			require.Equal(t, 2, count("t"))

			// Editor-style: write a new file, rename it over the config.
			writeFile(t, dir, ".config.yaml.swp", twoResources+"- type: u\n  names: [c, d, e]\n")
			require.NoError(t, os.Rename(filepath.Join(dir, ".config.yaml.swp"), cfg))
			requireReload(t, srv, "")
			assert.Equal(t, 2, count("t"))
			assert.Equal(t, 3, count("u"))

			// In place: drop d and e.
			writeFile(t, dir, "config.yaml", twoResources+"- type: u\n  names: [c]\n")
			requireReload(t, srv, "")
			assert.Equal(t, 1, count("u"))

			// Invalid: every problem is logged, nothing changes.
			replaceFile(t, cfg, "resources:\n- type: u\n  names: [c, Bad_Name]\n- type: \"\"\n  names: [x]\n")
			requireReload(t, srv, "invalid config")
			assert.Equal(t, 2, count("t"))
			assert.Equal(t, 1, count("u"))
			logs := srv.Stderr.String()
			assert.Contains(t, logs, "keeping the current config")
			assert.Contains(t, logs, "Bad_Name")
			assert.Contains(t, logs, ".1.type: must be set")
			// The server still works with the old config.
			_, err := c.Acquire(ctx, "u", "free", "busy", "")
			require.NoError(t, err)

			// Not even YAML: same.
			replaceFile(t, cfg, "resources: [\n")
			requireReload(t, srv, "parse config")
			assert.Equal(t, 2, count("t"))

			// Fixed again: applied.
			replaceFile(t, cfg, "resources:\n- type: t\n  names: [a]\n- type: u\n  names: [c]\n")
			requireReload(t, srv, "")
			assert.Equal(t, 1, count("t"))
		})
	}
}

// requireReload waits for the next reload. With wantErr "" it waits for a
// successful one (an in-place write may be seen half-written first); else
// the next reload must fail with wantErr.
func requireReload(t *testing.T, srv *testServer, wantErr string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case err := <-srv.Reloaded:
			if wantErr != "" {
				require.ErrorContains(t, err, wantErr)
				return
			}
			if err == nil {
				return
			}
			t.Logf("reload failed (half-written file?): %v", err)
		case <-timeout:
			t.Fatalf("no config reload seen:\n%s", srv.Stderr)
		}
	}
}

// replaceFile writes content to path atomically (write, then rename over).
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

// TestServeBadStart: a bad config or bad flags stop the server at start with
// a non-zero status and every problem printed.
func TestServeBadStart(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", `resources:
- type: ""
  names: [ok-name]
- type: t
  names: [Not_DNS, ok-name]
- type: d
  max-count: 0
- type: d2
  min-count: 3
  max-count: 2
`)
	good := writeFile(t, dir, "good.yaml", twoResources)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{name: "invalid config", args: []string{"--config", bad, "--store", "memory"}, wantCode: 1, want: []string{
			".0.type: must be set",
			".1.names.0(Not_DNS) is invalid",
			".1.names.1(ok-name) is a duplicate",
			".2.max-count: must be >0",
			".3.min-count: must be <= .3.max-count",
		}},
		{name: "missing config", args: []string{"--config", filepath.Join(dir, "nope.yaml"), "--store", "memory"}, wantCode: 1, want: []string{"nope.yaml", "no such file"}},
		{name: "unparsable config", args: []string{"--config", writeFile(t, dir, "x.yaml", "resources: {"), "--store", "memory"}, wantCode: 1, want: []string{"parse config"}},
		{name: "unknown field", args: []string{"--config", writeFile(t, dir, "y.yaml", "resources:\n- type: t\n  nmes: [a]\n"), "--store", "memory"}, wantCode: 1, want: []string{"nmes"}},
		{name: "unknown store", args: []string{"--config", good, "--store", "redis:x"}, wantCode: 2, want: []string{`unknown store "redis:x"`}},
		{name: "in_memory conflicts with store", args: []string{"--config", good, "--in_memory", "--store", "bolt:x.db"}, wantCode: 2, want: []string{"--in_memory conflicts"}},
		{name: "bad flags together", args: []string{"--config", good, "--port", "70000", "--log-level", "loud", "--request-ttl", "0s"}, wantCode: 2, want: []string{"--port 70000", "--log-level \"loud\"", "--request-ttl must be positive"}},
		{name: "negative durations and sizes", args: []string{"--config", good, "--in_memory", "--max-body-bytes", "-1", "--shutdown-timeout", "-1s", "--reload-delay", "-5ms", "--spread-window", "-1s", "--gc-period", "0s"}, wantCode: 2, want: []string{
			"--max-body-bytes must not be negative", "--shutdown-timeout must not be negative", "--reload-delay must not be negative",
			"--spread-window must not be negative", "--gc-period must be positive",
		}},
		{name: "bad extra ports", args: []string{"--config", good, "--in_memory", "--metrics-port", "-1", "--health-port", "70000"}, wantCode: 2, want: []string{
			"--metrics-port -1: want 1 to 65535 (0: off)", "--health-port 70000: want 1 to 65535 (0: off)",
		}},
		{name: "extra ports clash", args: []string{"--config", good, "--in_memory", "--port", "8099", "--metrics-port", "8099", "--health-port", "8099"}, wantCode: 2, want: []string{
			"--metrics-port 8099: the API port already serves it", "--health-port 8099: the API port already serves it",
			"--metrics-port and --health-port are both 8099",
		}},
		{name: "extra port taken", args: []string{"--config", good, "--in_memory", "--health-port", takenPort(t)}, wantCode: 1, want: []string{"listen: --health-port:"}},
		{name: "not a duration", args: []string{"--config", good, "--request-ttl", "30"}, wantCode: 2, want: []string{`invalid value "30" for flag -request-ttl`}},
		{name: "unknown flag", args: []string{"--nope"}, wantCode: 2, want: []string{"flag provided but not defined: -nope"}},
		{name: "stray argument", args: []string{"--config", good, "extra"}, wantCode: 2, want: []string{"unexpected arguments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(context.Background(), append([]string{"serve", "--port", "0"}, tc.args...)...)
			assert.Equal(t, tc.wantCode, code, "stderr:\n%s", stderr)
			for _, w := range tc.want {
				assert.Contains(t, stderr, w)
			}
			assert.NotContains(t, stderr, "serving", "must not start serving")
		})
	}
}

// TestServeEndpoints: the server answers the API, health and metrics on the
// one port, and an unknown path the upstream way.
func TestServeEndpoints(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "config.yaml", twoResources)
	srv := startServe(t, "--config", cfg, "--in_memory")
	ctx := context.Background()
	_, err := mustClient(t, srv.URL, "me").Acquire(ctx, "t", "free", "busy", "")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, path string
		code       int
		contains   string
	}{
		{name: "healthz", path: "/healthz", code: 200, contains: "OK"},
		{name: "metrics", path: "/metrics", code: 200, contains: `boskos_resources{state="busy",type="t"} 1`},
		{name: "acquire duration", path: "/metrics", code: 200, contains: "boskos_acquire_duration_seconds_count"},
		{name: "go collector", path: "/metrics", code: 200, contains: "go_goroutines"},
		{name: "metric", path: "/metric?type=t", code: 200, contains: `"current":{"busy":1,"free":1}`},
		{name: "unknown path", path: "/nope", code: 200},
		{name: "bad request", path: "/metric", code: 400, contains: "Type must be set in the request."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.code, resp.StatusCode, "body %q", b)
			assert.True(t, strings.Contains(string(b), tc.contains), "got %q, want it to contain %q", b, tc.contains)
		})
	}
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// takenPort returns a port that a listener holds until the test ends.
func takenPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestServeExtraPorts: --metrics-port and --health-port serve upstream's
// metrics and health paths on ports of their own (as upstream's 9090 and
// 8081), and nothing else there; the API port keeps serving them too.
func TestServeExtraPorts(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "config.yaml", twoResources)
	mport, hport := freePort(t), freePort(t)
	srv := startServe(t, "--config", cfg, "--in_memory", "--metrics-port", strconv.Itoa(mport), "--health-port", strconv.Itoa(hport))
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d", mport)
	healthURL := fmt.Sprintf("http://127.0.0.1:%d", hport)
	for _, tc := range []struct {
		url      string
		code     int
		contains string
	}{
		{metricsURL + "/metrics", 200, `boskos_resources{state="free",type="t"} 2`},
		{metricsURL + "/acquire?type=t&state=free&dest=busy&owner=o", 404, ""},
		{metricsURL + "/healthz", 404, ""},
		{healthURL + "/healthz", 200, "OK"},
		{healthURL + "/healthz/ready", 200, "OK"},
		{healthURL + "/metrics", 404, ""},
		{healthURL + "/metric?type=t", 404, ""},
		{srv.URL + "/healthz/ready", 200, "OK"},
		{srv.URL + "/metrics", 200, "boskos_resources"},
	} {
		resp, err := http.Get(tc.url)
		require.NoError(t, err, tc.url)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, tc.code, resp.StatusCode, "%s: body %q", tc.url, b)
		assert.Contains(t, string(b), tc.contains, tc.url)
	}
	// The acquire above went nowhere: both resources are still free.
	m, err := mustClient(t, srv.URL, "o").Metric(context.Background(), "t")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"free": 2}, m.Current)

	srv.stop(t)
	for _, u := range []string{metricsURL, healthURL} {
		_, err := http.Get(u + "/healthz")
		assert.Error(t, err, "%s must be closed after shutdown", u)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr []string
	}{
		{name: "example config", args: []string{"../../config/example.yaml"}, wantStdout: "ok\n"},
		{name: "valid", args: []string{writeFile(t, dir, "ok.yaml", twoResources)}, wantStdout: "ok\n"},
		{name: "every error", args: []string{writeFile(t, dir, "bad.yaml", "resources:\n- type: \"\"\n  names: [a]\n- type: t\n  names: [a]\n- type: d\n")}, wantCode: 1,
			wantStderr: []string{".0.type: must be set", ".1.names.0(a) is a duplicate", ".2.max-count: must be >0"}},
		{name: "empty", args: []string{writeFile(t, dir, "empty.yaml", "")}, wantCode: 1, wantStderr: []string{"empty config"}},
		{name: "missing", args: []string{filepath.Join(dir, "nope.yaml")}, wantCode: 1, wantStderr: []string{"no such file"}},
		{name: "no file", args: nil, wantCode: 2, wantStderr: []string{"Usage: boskos config validate FILE"}},
		{name: "two files", args: []string{"a", "b"}, wantCode: 2, wantStderr: []string{"Usage"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(context.Background(), append([]string{"config", "validate"}, tc.args...)...)
			assert.Equal(t, tc.wantCode, code, "stderr:\n%s", stderr)
			assert.Equal(t, tc.wantStdout, stdout)
			for _, w := range tc.wantStderr {
				assert.Contains(t, stderr, w)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, stderr := runCmd(context.Background(), "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
	code, _, stderr = runCmd(context.Background())
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "Usage: boskos <command>")
}

// TestConfigReloadRetriesStoreFailure: a valid config whose application
// fails in the store (throttling, a network blip) is applied again later,
// without another change to the file.
func TestConfigReloadRetriesStoreFailure(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", twoResources)
	var failing atomic.Bool
	srv := startServeHooks(t, func(h *serveHooks) {
		h.wrapStore = func(s store.Store) store.Store {
			return faultstore.New(s, func(c faultstore.Call) error {
				if failing.Load() && c.IsWrite() {
					return errors.New("injected: store unavailable")
				}
				return nil
			})
		}
		h.reloadRetry = 20 * time.Millisecond
	}, "--config", cfg, "--in_memory", "--reload-delay", "20ms")
	c := mustClient(t, srv.URL, "me")
	ctx := context.Background()

	failing.Store(true)
	replaceFile(t, cfg, twoResources+"- type: u\n  names: [c]\n")
	requireReload(t, srv, "injected: store unavailable")
	assert.Contains(t, srv.Stderr.String(), "config reload failed, retrying")
	failing.Store(false)
	requireReload(t, srv, "") // the retry, with no file event
	m, err := c.Metric(ctx, "u")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"free": 1}, m.Current)

	// An invalid file is not retried: the next reload is the next change.
	replaceFile(t, cfg, "resources: [\n")
	requireReload(t, srv, "parse config")
	replaceFile(t, cfg, twoResources)
	requireReload(t, srv, "")
	_, err = c.Metric(ctx, "u")
	require.True(t, isStatus(err, 404), "got %v, want type u gone (404)", err)
}

// TestQuotaReload: quotas follow the config file: a quota added by a
// reload counts the lease already held, a raised max lets the owner take
// more, a removed quota stops refusing.
func TestQuotaReload(t *testing.T) {
	for _, st := range storeSpecs(t) {
		t.Run(st.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "config.yaml", twoResources)
			srv := startServe(t, "--config", cfg, "--store", st.spec, "--reload-delay", "20ms")
			c := mustClient(t, srv.URL, "alice")
			ctx := context.Background()
			_, err := c.Acquire(ctx, "t", "free", "busy", "")
			require.NoError(t, err)

			replaceFile(t, cfg, twoResources+"quotas:\n- {owner: alice, type: t, max: 1}\n")
			requireReload(t, srv, "")
			_, err = c.Acquire(ctx, "t", "free", "busy", "")
			require.True(t, isStatus(err, http.StatusTooManyRequests), "got %v, want 429", err)
			assert.Contains(t, err.Error(), `owner "alice" may hold at most 1 resource of type "t" at once`)

			replaceFile(t, cfg, twoResources+"quotas:\n- {owner: alice, type: t, max: 2}\n")
			requireReload(t, srv, "")
			_, err = c.Acquire(ctx, "t", "free", "busy", "")
			require.NoError(t, err, "the raised max")

			// Invalid quotas are refused with every problem; the old ones stay.
			replaceFile(t, cfg, twoResources+"quotas:\n- {owner: alice, type: nope}\n")
			requireReload(t, srv, "invalid config")
			logs := srv.Stderr.String()
			assert.Contains(t, logs, `quotas.0.type: \"nope\" is not a type of the resources section`)
			assert.Contains(t, logs, "quotas.0.max: must be set")
		})
	}
}
