package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// Environment variables of the suite.
const (
	// envMode selects the long forms when set to "long".
	envMode = "BOSKOS_RELIABILITY"
	// envArtifacts is where failing checks write their evidence.
	envArtifacts = "BOSKOS_RELIABILITY_ARTIFACTS"
	// envSeed fixes the random seed (logged by every test) to replay a run.
	envSeed = "BOSKOS_RELIABILITY_SEED"
)

// long reports whether the long forms were asked for.
func long() bool { return os.Getenv(envMode) == "long" }

// knob returns the integer environment variable name, else long when the
// long forms run, else short.
func knob(t testing.TB, name string, short, longValue int) int {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "%s=%q", name, v)
		return n
	}
	if long() {
		return longValue
	}
	return short
}

// seed returns the test's random seed ($BOSKOS_RELIABILITY_SEED or a fresh
// one), logged so that a failing run can be replayed.
func seed(t testing.TB) uint64 {
	t.Helper()
	s := rand.Uint64()
	if v := os.Getenv(envSeed); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "%s=%q", envSeed, v)
		s = n
	}
	t.Logf("seed %d (replay with %s=%d)", s, envSeed, s)
	return s
}

// artifactDir returns a directory for the evidence of a failed check, which
// outlives the test: $BOSKOS_RELIABILITY_ARTIFACTS/<test>, or a new
// temporary directory.
func artifactDir(t testing.TB) string {
	t.Helper()
	name := regexp.MustCompile(`[^a-zA-Z0-9_.-]+`).ReplaceAllString(t.Name(), "_")
	if base := os.Getenv(envArtifacts); base != "" {
		dir := filepath.Join(base, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	dir, err := os.MkdirTemp("", "boskos-reliability-"+name+"-")
	require.NoError(t, err)
	return dir
}

// quietLogger discards everything.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// poolConfig is a resources config of one static type with n free
// resources named <rtype>-0 .. <rtype>-(n-1).
func poolConfig(rtype string, n int) (*boskos.Config, []string) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", rtype, i)
	}
	return &boskos.Config{Resources: []boskos.ResourceEntry{{Type: rtype, State: boskos.Free, Names: names}}}, names
}

// configYAML is cfg as the YAML file `boskos serve --config` reads: static
// types, and dynamic ones with their counts and needs.
func configYAML(cfg *boskos.Config) string {
	var b strings.Builder
	b.WriteString("resources:\n")
	for _, e := range cfg.Resources {
		if !e.IsDRLC() {
			fmt.Fprintf(&b, "- type: %s\n  state: %s\n  names: [%s]\n", e.Type, e.State, strings.Join(e.Names, ", "))
			continue
		}
		fmt.Fprintf(&b, "- type: %s\n  state: %s\n  min-count: %d\n  max-count: %d\n", e.Type, e.State, e.MinCount, e.MaxCount)
		if len(e.Needs) > 0 {
			var needs []string
			for _, t := range slices.Sorted(maps.Keys(e.Needs)) {
				needs = append(needs, fmt.Sprintf("%s: %d", t, e.Needs[t]))
			}
			fmt.Fprintf(&b, "  needs: {%s}\n", strings.Join(needs, ", "))
		}
	}
	return b.String()
}

// withVirtual is cfg with a Mason virtual type vtype: one resource
// (min-count = max-count = 1, initial state dirty) whose needs are one
// resource of the type of cfg's first entry.
func withVirtual(cfg *boskos.Config, vtype string) *boskos.Config {
	c := *cfg
	c.Resources = append(slices.Clone(cfg.Resources), boskos.ResourceEntry{
		Type: vtype, State: boskos.Dirty, MinCount: 1, MaxCount: 1, Needs: map[string]int{cfg.Resources[0].Type: 1}})
	return &c
}

// startInProcess serves the Boskos API over st in this process on a free
// port, with the local server's ranch options (spread window, a request
// TTL longer than any test), until the test ends. It returns the base URL.
func startInProcess(t testing.TB, st store.Store, cfg *boskos.Config) string {
	t.Helper()
	r := ranch.New(st, ranch.Options{
		RequestTTL:   10 * time.Minute,
		SpreadWindow: ranch.DefaultSpreadWindow,
		Logger:       quietLogger(),
	})
	require.NoError(t, r.SyncConfig(context.Background(), cfg))
	srv := httptest.NewServer(httpapi.New(r, httpapi.Options{Logger: quietLogger()}))
	t.Cleanup(srv.Close)
	return srv.URL
}

var binary struct {
	once sync.Once
	path string
	err  error
	dir  string
}

// boskosBinary builds cmd/boskos once per test binary and returns its path.
func boskosBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "boskos-reliability-bin-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "boskos")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", binary.path, "./cmd/boskos")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build ./cmd/boskos: %v\n%s", err, out)
		}
	})
	require.NoError(t, binary.err)
	return binary.path
}

// TestMain removes the binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	dynamotest.Stop()
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// serveProc is one running `boskos serve` process.
type serveProc struct {
	URL  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
	done chan error
	gone bool
}

func (p *serveProc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

var servingRE = regexp.MustCompile(`msg=serving addr=(\S+)`)

// startServe starts `boskos serve --port 0 args...` and waits until it logs
// the address it serves (no sleeping). The process is stopped (SIGTERM)
// when the test ends unless kill was called.
func startServe(t testing.TB, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{done: make(chan error, 1)}
	p.cmd = exec.Command(boskosBinary(t), append([]string{"serve", "--port", "0"}, args...)...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pipe, err := p.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.logs.Len() < 1<<20 {
				p.logs.WriteString(line + "\n")
			}
			p.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
		p.done <- p.cmd.Wait()
	}()
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case err := <-p.done:
		p.gone = true
		t.Fatalf("boskos serve exited before serving (%v):\n%s", err, p.stderr())
	case <-time.After(time.Minute): // failure guard only
		_ = p.cmd.Process.Kill()
		t.Fatalf("boskos serve did not start:\n%s", p.stderr())
	}
	t.Cleanup(func() {
		if p.gone {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("boskos serve ignored SIGTERM:\n%s", p.stderr())
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serveProc) kill(t testing.TB) {
	t.Helper()
	if p.gone {
		return
	}
	p.gone = true
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-p.done:
	case <-time.After(30 * time.Second): // failure guard only
		t.Fatalf("boskos serve survived SIGKILL")
	}
}

// writeConfig writes cfg as a config file in a temporary directory.
func writeConfig(t testing.TB, cfg *boskos.Config) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(p, []byte(configYAML(cfg)), 0o644))
	return p
}

// newHTTPClient is a client for many concurrent callers of one server.
// timeout bounds every call (a timeout is an ambiguous outcome).
func newHTTPClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
	}}
}
