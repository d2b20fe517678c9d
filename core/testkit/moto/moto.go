// Package moto gives tests an AWS emulator: moto_server (Python moto,
// preinstalled in this project's machine image; it emulates Secrets
// Manager, SSM and others), started once per test binary on a free
// loopback port, or the one $MOTO_ENDPOINT names. Without either, tests
// that need it are skipped, saying why. Call Main from TestMain so the
// server stops with the tests.
package moto

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvEndpoint names a running moto_server to use instead of starting one.
const EnvEndpoint = "MOTO_ENDPOINT"

// Region is the region tests use with it.
const Region = "us-east-1"

var server struct {
	once sync.Once
	url  string
	err  error
	cmd  *exec.Cmd
	log  *os.File
}

// Endpoint returns the URL of moto_server, starting it on first use; it
// skips tb when moto_server is not installed, and fails it when it does
// not start.
func Endpoint(tb testing.TB) string {
	tb.Helper()
	server.once.Do(start)
	var missing *notInstalled
	switch {
	case errors.As(server.err, &missing):
		tb.Skipf("moto: %v: this test needs the AWS emulator moto_server (preinstalled in the project's machine image), or %s", server.err, EnvEndpoint)
	case server.err != nil:
		tb.Fatalf("moto: %v", server.err)
	}
	return server.url
}

type notInstalled struct{ why string }

func (e *notInstalled) Error() string { return e.why }

// binary returns the path of the moto_server program itself: pyenv's
// shim would be a parent process of the server, whose PID Stop could not
// stop.
func binary() (string, error) {
	if out, err := exec.Command("pyenv", "which", "moto_server").Output(); err == nil {
		if p := strings.TrimSpace(string(out)); p != "" {
			return p, nil
		}
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	return "", &notInstalled{"moto_server not found (neither pyenv which moto_server nor PATH)"}
}

func start() {
	if u := os.Getenv(EnvEndpoint); u != "" {
		server.url = strings.TrimRight(u, "/")
		return
	}
	bin, err := binary()
	if err != nil {
		server.err = err
		return
	}
	port, err := freePort()
	if err != nil {
		server.err = err
		return
	}
	log, err := os.CreateTemp("", "moto-server-*.log")
	if err != nil {
		server.err = err
		return
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = log, log
	setParentDeath(cmd)
	if err := cmd.Start(); err != nil {
		server.err = fmt.Errorf("start %s: %v", bin, err)
		return
	}
	server.cmd, server.log = cmd, log
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(log.Name())
			server.err = fmt.Errorf("moto_server exited: %v: %s", err, b)
			server.cmd = nil
			return
		default:
		}
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			server.url = url
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	Stop()
	server.err = errors.New("moto_server did not answer within 30 s")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Stop stops the moto_server this process started, if any.
func Stop() {
	if server.cmd != nil && server.cmd.Process != nil {
		_ = server.cmd.Process.Kill()
		server.cmd = nil
	}
	if server.log != nil {
		server.log.Close()
		_ = os.Remove(server.log.Name())
		server.log = nil
	}
}

// Main runs the tests and stops moto_server afterwards. Call it from
// TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}
