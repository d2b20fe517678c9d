package lambdarun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Options configure the processes of a Function.
type Options struct {
	// Env is added to the minimal Lambda-like environment every process gets
	// (AWS_LAMBDA_RUNTIME_API, AWS_REGION, dummy credentials, function name).
	// The caller's own environment is not inherited, so a developer's AWS
	// profile cannot leak into a test.
	Env []string
	// Instances is how many processes poll the Runtime (Lambda's concurrent
	// execution environments); 0 means 1.
	Instances int
	// Timeout is the per-invocation deadline handed to the function; 0 means
	// 10 seconds.
	Timeout time.Duration
	// Output, if set, also receives everything the processes write to stdout
	// and stderr (their logs), besides Logs.
	Output io.Writer
}

// Function is one Lambda function: a Runtime and the bootstrap processes
// that poll it.
type Function struct {
	Name string

	rt    *Runtime
	cmds  []*exec.Cmd
	logs  *SyncBuffer
	wg    sync.WaitGroup
	mu    sync.Mutex
	alive int
	stop  bool
}

// StartFunction starts opts.Instances processes of the bootstrap binary at
// path, each polling a new Runtime. It returns once they are started (not
// necessarily polling yet: the first Invoke waits for one to poll).
func StartFunction(name, path string, opts Options) (*Function, error) {
	n := opts.Instances
	if n <= 0 {
		n = 1
	}
	f := &Function{Name: name, rt: NewRuntime(opts.Timeout), logs: &SyncBuffer{}}
	var out io.Writer = f.logs
	if opts.Output != nil {
		out = io.MultiWriter(f.logs, opts.Output)
	}
	for i := range n {
		cmd := exec.Command(path)
		cmd.Env = append([]string{
			"AWS_LAMBDA_RUNTIME_API=" + f.rt.Addr(),
			"AWS_LAMBDA_FUNCTION_NAME=" + name,
			"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
			"AWS_LAMBDA_LOG_STREAM_NAME=local/" + strconv.Itoa(i),
			"AWS_REGION=us-east-1",
			"AWS_DEFAULT_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=local",
			"AWS_SECRET_ACCESS_KEY=local",
			"AWS_EC2_METADATA_DISABLED=true",
			"TZ=UTC",
		}, opts.Env...)
		cmd.Stdout = out
		cmd.Stderr = out
		DieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			_ = f.Stop()
			return nil, fmt.Errorf("lambdarun: start %s: %w", name, err)
		}
		f.cmds = append(f.cmds, cmd)
		f.alive++
		f.wg.Add(1)
		go f.wait(cmd)
	}
	return f, nil
}

// wait reaps one process; when the last one dies unexpectedly the Runtime
// fails every invocation with the exit status and the logs, so tests do not
// hang on a crashed function.
func (f *Function) wait(cmd *exec.Cmd) {
	defer f.wg.Done()
	err := cmd.Wait()
	f.mu.Lock()
	f.alive--
	last, stopping := f.alive == 0, f.stop
	f.mu.Unlock()
	if last && !stopping {
		f.rt.fail(fmt.Errorf("lambdarun: every process of %s exited (last: %v); output:\n%s", f.Name, err, f.logs.String()))
	}
}

// Invoke runs one event through the function and returns its response.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f.rt.Invoke(ctx, payload)
}

// Logs returns everything the processes wrote so far.
func (f *Function) Logs() string { return f.logs.String() }

// Exited reports whether every process has exited.
func (f *Function) Exited() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.alive == 0
}

// Stop sends SIGTERM to the processes (Lambda's shutdown signal), kills
// those still running after two seconds, waits for them and closes the
// Runtime.
func (f *Function) Stop() error {
	f.mu.Lock()
	f.stop = true
	f.mu.Unlock()
	for _, c := range f.cmds {
		if c.Process != nil {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
	}
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		for _, c := range f.cmds {
			if c.Process != nil {
				_ = c.Process.Kill()
			}
		}
		<-done
	}
	f.rt.Close()
	return nil
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (process output).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ErrStillRunning is wrapped by RunOnce when the process did not exit in
// time.
var ErrStillRunning = errors.New("process still running")

// RunOnce starts the bootstrap at path with env (and no Runtime API
// traffic), waits up to timeout for it to exit and returns its exit code and
// output. It is for checking that a function refuses a bad configuration:
// a function that keeps running is killed and reported with code -1.
func RunOnce(path string, env []string, timeout time.Duration) (code int, output string, err error) {
	rt := NewRuntime(0)
	defer rt.Close()
	var buf SyncBuffer
	cmd := exec.Command(path)
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + rt.Addr(), "AWS_REGION=us-east-1"}, env...)
	cmd.Stdout, cmd.Stderr = &buf, &buf
	DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return 0, "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), buf.String(), nil
		}
		if err != nil {
			return 0, buf.String(), err
		}
		return 0, buf.String(), nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return -1, buf.String(), fmt.Errorf("lambdarun: %s still running after %v: %w", path, timeout, ErrStillRunning)
	}
}
