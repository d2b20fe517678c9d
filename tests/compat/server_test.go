package compat

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/tests/compat/lambdarun"
)

// buildBoskos builds ../../cmd/boskos into a temporary directory and
// returns the binary's path.
func buildBoskos(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "boskos")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/boskos")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/boskos:\n%s", out)
	return bin
}

// process is a running `boskos serve`.
type process struct {
	URL    string
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	done   chan error
}

func (p *process) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

var servingRE = regexp.MustCompile(`msg=serving addr=(\S+)`)

// startBoskos starts `bin serve --port 0 args...` and waits until it serves.
// The process gets SIGTERM when the test ends and must exit cleanly.
func startBoskos(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := &process{done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--port", "0"}, args...)...)
	lambdarun.DieWithParent(p.cmd)
	pipe, err := p.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
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
		t.Fatalf("boskos serve exited before serving (%v):\n%s", err, p.logs())
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		t.Fatalf("boskos serve did not start:\n%s", p.logs())
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("boskos serve did not exit cleanly on SIGTERM: %v\n%s", err, p.logs())
			}
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("boskos serve ignored SIGTERM:\n%s", p.logs())
		}
	})
	return p
}

// TestCompatServer runs the upstream-client suite against the real binary
// on the bolt store, and the end-to-end checks (the suite and a stale lease
// reaped: e2eLocalServer) on the memory store.
func TestCompatServer(t *testing.T) {
	cfg, err := boskos.ParseConfig([]byte(CompatConfig))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate(), "the suite's config must be valid")

	bin := buildBoskos(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(CompatConfig), 0o644))
	t.Run("memory e2e", func(t *testing.T) { e2eLocalServer(t, bin) })
	t.Run("memory e2e with credentials", func(t *testing.T) { e2eLocalServerWithCredentials(t, bin) })
	t.Run("bolt", func(t *testing.T) {
		p := startBoskos(t, bin, "--config", cfgPath, "--store", "bolt:"+filepath.Join(dir, "boskos.db"))
		runCompat(t, p.URL, login{})
	})
}
