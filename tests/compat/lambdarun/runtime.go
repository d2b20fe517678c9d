package lambdarun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// apiPrefix is the path prefix of the Lambda Runtime API.
const apiPrefix = "/2018-06-01/runtime/"

// ErrStopped is returned by Invoke once the Runtime is closed or every
// process of its function has exited.
var ErrStopped = errors.New("lambdarun: runtime stopped")

// InvokeError is the error a function reported through
// POST .../invocation/{id}/error (the handler returned an error or panicked).
type InvokeError struct {
	// Payload is the body the function posted, usually
	// {"errorMessage":...,"errorType":...}.
	Payload string
}

func (e *InvokeError) Error() string { return "lambdarun: function error: " + e.Payload }

// invocation is one queued event and where its answer goes.
type invocation struct {
	id      string
	payload []byte
	result  chan result
}

type result struct {
	body []byte
	err  error
}

// Runtime is a fake Lambda Runtime API. Any number of bootstrap processes may
// poll it: each event goes to exactly one of them, as Lambda does with the
// execution environments of one function.
type Runtime struct {
	srv     *httptest.Server
	queue   chan *invocation
	done    chan struct{}
	once    sync.Once
	seq     atomic.Int64
	timeout time.Duration

	mu       sync.Mutex
	inflight map[string]*invocation
	fatal    error // set when the function can no longer answer
}

// NewRuntime starts a fake Runtime API on a loopback port. timeout is the
// deadline each invocation's context gets inside the function (Lambda's
// function timeout); 0 means 10 seconds.
func NewRuntime(timeout time.Duration) *Runtime {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	rt := &Runtime{
		queue:    make(chan *invocation),
		done:     make(chan struct{}),
		timeout:  timeout,
		inflight: map[string]*invocation{},
	}
	rt.srv = httptest.NewServer(http.HandlerFunc(rt.serve))
	return rt
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (rt *Runtime) Addr() string { return strings.TrimPrefix(rt.srv.URL, "http://") }

// Close fails pending and future invocations with ErrStopped and stops the
// server. Stop the function's processes first (or after: they then fail to
// poll and exit).
func (rt *Runtime) Close() {
	rt.fail(ErrStopped)
	rt.srv.CloseClientConnections()
	rt.srv.Close()
}

// fail makes every in-flight and future invocation fail with err.
func (rt *Runtime) fail(err error) {
	rt.once.Do(func() {
		rt.mu.Lock()
		rt.fatal = err
		rt.mu.Unlock()
		close(rt.done)
	})
}

// Invoke hands payload to the next polling process and returns the bytes the
// function posted as its response. A function error is an *InvokeError.
func (rt *Runtime) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	inv := &invocation{
		id:      "req-" + strconv.FormatInt(rt.seq.Add(1), 10),
		payload: payload,
		result:  make(chan result, 1),
	}
	select {
	case rt.queue <- inv:
	case <-rt.done:
		return nil, rt.fatalErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-inv.result:
		return r.body, r.err
	case <-rt.done:
		select {
		case r := <-inv.result:
			return r.body, r.err
		default:
			return nil, rt.fatalErr()
		}
	case <-ctx.Done():
		rt.mu.Lock()
		delete(rt.inflight, inv.id)
		rt.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (rt *Runtime) fatalErr() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.fatal != nil {
		return rt.fatal
	}
	return ErrStopped
}

func (rt *Runtime) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok {
		http.Error(w, "unknown path", http.StatusNotFound)
		return
	}
	switch {
	case path == "invocation/next" && r.Method == http.MethodGet:
		rt.next(w, r)
	case strings.HasPrefix(path, "invocation/") && r.Method == http.MethodPost:
		rest := strings.TrimPrefix(path, "invocation/")
		id, kind, ok := strings.Cut(rest, "/")
		if !ok || (kind != "response" && kind != "error") {
			http.Error(w, "unknown path", http.StatusNotFound)
			return
		}
		rt.answer(w, r, id, kind == "error")
	case path == "init/error" && r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		rt.fail(fmt.Errorf("lambdarun: function init error: %s", body))
		w.WriteHeader(http.StatusAccepted)
	default:
		http.Error(w, "unknown path", http.StatusNotFound)
	}
}

// next blocks until an event is queued, like the real Runtime API.
func (rt *Runtime) next(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-rt.queue:
		rt.mu.Lock()
		rt.inflight[inv.id] = inv
		rt.mu.Unlock()
		deadline := time.Now().Add(rt.timeout)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:local")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-rt.done:
		// The process sees a failed poll and exits, as after a Lambda shutdown.
		http.Error(w, "runtime stopped", http.StatusGone)
	case <-r.Context().Done():
	}
}

func (rt *Runtime) answer(w http.ResponseWriter, r *http.Request, id string, isErr bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rt.mu.Lock()
	inv, ok := rt.inflight[id]
	delete(rt.inflight, id)
	rt.mu.Unlock()
	if !ok {
		http.Error(w, "unknown invocation "+id, http.StatusBadRequest)
		return
	}
	if isErr {
		inv.result <- result{err: &InvokeError{Payload: string(body)}}
	} else {
		inv.result <- result{body: body}
	}
	w.WriteHeader(http.StatusAccepted)
}
