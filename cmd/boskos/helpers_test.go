package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/client"
	"github.com/boskos-serverless/boskos/core/testkit"
)

type syncBuffer = testkit.SyncBuffer

// isStatus reports whether err is an answer of the server with the code.
var isStatus = client.IsStatus

// testServer is a `boskos serve` running in this process on a free port.
type testServer struct {
	URL      string
	Stderr   *syncBuffer
	Reloaded chan error // one value per config reload attempt
	cancel   context.CancelFunc
	exit     chan int
	stopped  bool
}

// startServe runs `boskos serve --port 0 args...` until the test ends (or
// stop is called) and waits until it serves.
func startServe(t *testing.T, args ...string) *testServer {
	t.Helper()
	return startServeHooks(t, nil, args...)
}

// startServeHooks is startServe with more hooks: set, if not nil, fills in
// the fields other than ready and reloaded.
func startServeHooks(t *testing.T, set func(*serveHooks), args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{Stderr: &syncBuffer{}, Reloaded: make(chan error, 16), cancel: cancel, exit: make(chan int, 1)}
	ready := make(chan string, 1)
	hooks := &serveHooks{
		ready:    func(addr string) { ready <- addr },
		reloaded: func(err error) { s.Reloaded <- err },
	}
	if set != nil {
		set(hooks)
	}
	var stdout syncBuffer
	go func() {
		s.exit <- cmdServe(ctx, append([]string{"--port", "0", "--log-level", "debug"}, args...), &stdout, s.Stderr, hooks)
	}()
	select {
	case addr := <-ready:
		s.URL = "http://" + addr
	case code := <-s.exit:
		cancel()
		t.Fatalf("serve exited with %d before serving:\n%s", code, s.Stderr)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("serve did not start:\n%s", s.Stderr)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the server down gracefully and returns its exit status.
func (s *testServer) stop(t *testing.T) int {
	t.Helper()
	if s.stopped {
		return 0
	}
	s.stopped = true
	s.cancel()
	select {
	case code := <-s.exit:
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop:\n%s", s.Stderr)
	}
	return -1
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// runCmd runs one command line in process and returns its status and output.
func runCmd(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var o, e syncBuffer
	code = run(ctx, args, &o, &e)
	return code, o.String(), e.String()
}

// storeSpecs are the stores the server tests run on.
func storeSpecs(t *testing.T) []struct{ name, spec string } {
	return []struct{ name, spec string }{
		{name: "memory", spec: "memory"},
		{name: "bolt", spec: "bolt:" + filepath.Join(t.TempDir(), "boskos.db")},
	}
}
