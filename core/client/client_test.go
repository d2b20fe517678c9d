package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/client"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

const testConfig = `resources:
- type: t
  state: free
  names: [a, b]
- type: d
  state: dirty
  names: [d-1]
`

// server is the real API (core/httpapi over core/ranch over memstore)
// behind an httptest server. acquires counts the /acquire requests it
// received and refusals its 404 answers to them, each before the client can
// see the answer; byOwner counts the /acquire requests of each owner (a
// request a test gave up on may still arrive after it ended: a test that
// counts uses an owner of its own).
type server struct {
	*httptest.Server
	acquires atomic.Int64
	refusals atomic.Int64
	mu       sync.Mutex
	byOwner  map[string]int
}

func (s *server) acquiresOf(owner string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byOwner[owner]
}

func newServer(t *testing.T, cfg string) *server {
	t.Helper()
	c, err := boskos.ParseConfig([]byte(cfg))
	require.NoError(t, err)
	r := ranch.New(memstore.New(), ranch.Options{Logger: testkit.Quiet()})
	require.NoError(t, r.SyncConfig(context.Background(), c))
	s := &server{byOwner: map[string]int{}}
	h := httpapi.New(r, httpapi.Options{Logger: testkit.Quiet()})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/acquire" {
			s.acquires.Add(1)
			s.mu.Lock()
			s.byOwner[req.URL.Query().Get("owner")]++
			s.mu.Unlock()
			w = &refusalCounter{ResponseWriter: w, n: &s.refusals}
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(s.Close)
	return s
}

// refusalCounter counts 404 answers when their header is written.
type refusalCounter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *refusalCounter) WriteHeader(code int) {
	if code == http.StatusNotFound {
		w.n.Add(1)
	}
	w.ResponseWriter.WriteHeader(code)
}

func newClient(t *testing.T, url, owner string) *client.Client {
	t.Helper()
	c, err := client.New(url, owner, client.Options{})
	require.NoError(t, err)
	return c
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, url, owner, wantErr string
	}{
		{name: "http", url: "http://127.0.0.1:8080", owner: "o"},
		{name: "https with a path (ignored)", url: "https://boskos.example/some/prefix", owner: "o"},
		{name: "no scheme", url: "localhost:8080", owner: "o", wantErr: `invalid server URL "localhost:8080"`},
		{name: "other scheme", url: "ftp://host", owner: "o", wantErr: "want http(s)://host[:port]"},
		{name: "no host", url: "http://", owner: "o", wantErr: "want http(s)://host[:port]"},
		{name: "unparsable", url: "http://%zz", owner: "o", wantErr: "invalid server URL"},
		{name: "empty owner", url: "http://h", owner: "", wantErr: "owner must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(tc.url, tc.owner, client.Options{})
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.owner, c.Owner())
		})
	}
}

// TestAcquireErrors: the 404s of /acquire and /acquirebystate match
// ErrNotFound (and an unknown type ErrTypeNotFound too); other failures
// are status errors that match neither.
func TestAcquireErrors(t *testing.T) {
	srv := newServer(t, testConfig)
	ctx := context.Background()
	alice := newClient(t, srv.URL, "alice")
	_, err := alice.Acquire(ctx, "d", "dirty", "busy", "") // d-1 is taken from now on
	require.NoError(t, err)

	tests := []struct {
		name         string
		call         func() error
		wantCode     int
		wantNotFound bool
		wantType     bool
		wantText     string
	}{
		{name: "nothing free", call: func() error { _, err := alice.Acquire(ctx, "d", "dirty", "busy", ""); return err },
			wantCode: 404, wantNotFound: true, wantText: "status 404 Not Found: Acquire failed: no available resource d, try again later."},
		{name: "unknown type", call: func() error { _, err := alice.Acquire(ctx, "nope", "free", "busy", ""); return err },
			wantCode: 404, wantNotFound: true, wantType: true, wantText: `status 404 Not Found: Acquire failed: resource type "nope" does not exist`},
		{name: "acquirebystate of a taken name", call: func() error {
			_, err := alice.AcquireByState(ctx, "dirty", "busy", []string{"d-1"})
			return err
		}, wantCode: 404, wantNotFound: true},
		{name: "acquirebystate without names", call: func() error { _, err := alice.AcquireByState(ctx, "free", "busy", nil); return err },
			wantCode: 400},
		{name: "release of an unknown name", call: func() error { return alice.Release(ctx, "zzz", "free", 0) }, wantCode: 404},
		{name: "release of another owner's", call: func() error { return newClient(t, srv.URL, "bob").Release(ctx, "d-1", "free", 0) },
			wantCode: 401, wantText: "status 401 Unauthorized: Done failed: d-1 - free (from bob): owner mismatch request by bob, currently owned by alice"},
		{name: "update in another state", call: func() error { return alice.Update(ctx, "d-1", "free", nil, 0) }, wantCode: 409},
		{name: "stale epoch", call: func() error { return alice.Update(ctx, "d-1", "busy", nil, 99) }, wantCode: 409},
		{name: "metric of an unknown type", call: func() error { _, err := alice.Metric(ctx, "nope"); return err }, wantCode: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.Error(t, err)
			var se *client.StatusError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.wantCode, se.Code)
			assert.True(t, client.IsStatus(err, tc.wantCode))
			assert.Equal(t, tc.wantNotFound, errors.Is(err, client.ErrNotFound), "errors.Is(%v, ErrNotFound)", err)
			assert.Equal(t, tc.wantType, errors.Is(err, client.ErrTypeNotFound), "errors.Is(%v, ErrTypeNotFound)", err)
			if tc.wantText != "" {
				assert.Equal(t, tc.wantText, err.Error())
			}
		})
	}
}

// TestLeaseCycle: acquire, heartbeat with user data, release with the
// epoch, acquirebystate, reset and metric against the real server.
func TestLeaseCycle(t *testing.T) {
	srv := newServer(t, testConfig)
	ctx := context.Background()
	alice, bob := newClient(t, srv.URL, "alice"), newClient(t, srv.URL, "bob")

	r, err := alice.Acquire(ctx, "t", "free", "busy", "")
	require.NoError(t, err)
	assert.Equal(t, "alice", r.Owner)
	assert.Equal(t, "busy", r.State)
	require.Positive(t, r.Epoch)

	require.NoError(t, alice.Update(ctx, r.Name, "busy", boskos.UserData{"k": "v"}, r.Epoch))
	require.NoError(t, alice.Update(ctx, r.Name, "busy", nil, 0))
	require.NoError(t, alice.Release(ctx, r.Name, "used", r.Epoch))

	got, err := bob.AcquireByState(ctx, "used", "busy", []string{r.Name})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, r.Name, got[0].Name)
	assert.Equal(t, "bob", got[0].Owner)
	assert.Equal(t, boskos.UserData{"k": "v"}, got[0].UserData, "user data survives the release")
	assert.Equal(t, r.Epoch+1, got[0].Epoch)
	// The old epoch is fenced out even for the same resource and state.
	assert.True(t, client.IsStatus(bob.Release(ctx, r.Name, "free", r.Epoch), http.StatusConflict))

	reset, err := alice.Reset(ctx, "t", "busy", 0, "dirty")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{r.Name: "bob"}, reset)
	reset, err = alice.Reset(ctx, "t", "busy", time.Hour, "dirty")
	require.NoError(t, err)
	assert.Empty(t, reset)

	m, err := alice.Metric(ctx, "t")
	require.NoError(t, err)
	assert.Equal(t, boskos.Metric{Type: "t", Current: map[string]int{"dirty": 1, "free": 1}, Owners: map[string]int{"": 2}}, m)
}

// TestRequestQueue: a request_id keeps its place; an anonymous caller is
// behind it.
func TestRequestQueue(t *testing.T) {
	srv := newServer(t, testConfig)
	ctx := context.Background()
	holder, q, anon := newClient(t, srv.URL, "holder"), newClient(t, srv.URL, "q"), newClient(t, srv.URL, "anon")
	r, err := holder.Acquire(ctx, "d", "dirty", "busy", "")
	require.NoError(t, err)
	_, err = q.Acquire(ctx, "d", "dirty", "busy", "req-1")
	require.ErrorIs(t, err, client.ErrNotFound)
	require.NoError(t, holder.Release(ctx, r.Name, "dirty", r.Epoch))
	_, err = anon.Acquire(ctx, "d", "dirty", "busy", "")
	require.ErrorIs(t, err, client.ErrNotFound, "req-1 is ahead of an anonymous caller")
	got, err := q.Acquire(ctx, "d", "dirty", "busy", "req-1")
	require.NoError(t, err)
	assert.Equal(t, "q", got.Owner)
}

// TestQueueInfo: a refused /acquire with a request_id says where the id
// waits (the server's X-Boskos-Queue-* headers), on the error and to
// Options.OnQueue; an anonymous refusal and upstream-style answers
// without the headers carry none.
func TestQueueInfo(t *testing.T) {
	srv := newServer(t, testConfig)
	ctx := context.Background()
	holder := newClient(t, srv.URL, "holder")
	_, err := holder.Acquire(ctx, "d", "dirty", "busy", "")
	require.NoError(t, err)
	var seen []client.QueueInfo
	c, err := client.New(srv.URL, "q", client.Options{OnQueue: func(p client.QueueInfo) { seen = append(seen, p) }})
	require.NoError(t, err)
	tests := []struct {
		name string
		id   string
		want *client.QueueInfo
	}{
		{name: "first in line", id: "req-1", want: &client.QueueInfo{Position: 1, Length: 1}},
		{name: "second", id: "req-2", want: &client.QueueInfo{Position: 2, Length: 2}},
		{name: "anonymous", id: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			_, err := c.Acquire(ctx, "d", "dirty", "busy", tc.id)
			require.ErrorIs(t, err, client.ErrNotFound)
			got, ok := client.QueueOf(err)
			if tc.want == nil {
				assert.False(t, ok, "no place: got %+v", got)
				assert.Empty(t, seen, "OnQueue not called")
				return
			}
			require.True(t, ok)
			assert.Equal(t, *tc.want, got)
			assert.Equal(t, []client.QueueInfo{*tc.want}, seen, "OnQueue")
		})
	}

	// Headers of another server's making: read as given, an estimate in
	// seconds; malformed ones are ignored.
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    *client.QueueInfo
	}{
		{name: "with an estimate", headers: map[string]string{"X-Boskos-Queue-Position": "3", "X-Boskos-Queue-Length": "7", "X-Boskos-Estimated-Wait": "42"},
			want: &client.QueueInfo{Position: 3, Length: 7, EstimatedWait: 42 * time.Second}},
		{name: "malformed position", headers: map[string]string{"X-Boskos-Queue-Position": "x", "X-Boskos-Queue-Length": "7"}},
		{name: "none (upstream)", headers: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tc.headers {
					w.Header().Set(k, v)
				}
				http.Error(w, "Acquire failed: no available resource d, try again later.", http.StatusNotFound)
			}))
			defer fake.Close()
			_, err := newClient(t, fake.URL, "q").Acquire(ctx, "d", "dirty", "busy", "req-1")
			require.ErrorIs(t, err, client.ErrNotFound)
			got, ok := client.QueueOf(err)
			if tc.want == nil {
				assert.False(t, ok, "got %+v", got)
				return
			}
			require.True(t, ok)
			assert.Equal(t, *tc.want, got)
		})
	}
}

func TestAcquireWait(t *testing.T) {
	srv := newServer(t, testConfig)
	ctx := context.Background()
	holder, waiter := newClient(t, srv.URL, "holder"), newClient(t, srv.URL, "waiter")
	r, err := holder.Acquire(ctx, "d", "dirty", "busy", "")
	require.NoError(t, err)

	t.Run("gets the resource once released", func(t *testing.T) {
		before := srv.refusals.Load()
		var wg sync.WaitGroup
		var got boskos.Resource
		var werr error
		wg.Go(func() {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			got, werr = waiter.AcquireWait(wctx, "d", "dirty", "busy", "req-w", time.Millisecond)
		})
		// Release once the waiter was turned away at least once.
		require.Eventually(t, func() bool { return srv.refusals.Load() > before }, 10*time.Second, time.Millisecond)
		require.NoError(t, holder.Release(ctx, r.Name, "dirty", r.Epoch))
		wg.Wait()
		require.NoError(t, werr)
		assert.Equal(t, "waiter", got.Owner)
	})
	t.Run("the last refusal when the context ends", func(t *testing.T) {
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := holder.AcquireWait(wctx, "d", "dirty", "busy", "", time.Millisecond)
		require.ErrorIs(t, err, client.ErrNotFound)
		assert.True(t, client.IsStatus(err, 404))
	})
	t.Run("other failures end the wait at once", func(t *testing.T) {
		lonely := newClient(t, srv.URL, "lonely")
		_, err := lonely.AcquireWait(ctx, "", "dirty", "busy", "", time.Hour)
		assert.True(t, client.IsStatus(err, 400), "got %v, want 400", err)
		assert.Equal(t, 1, srv.acquiresOf("lonely"), "one request")
	})
	t.Run("non-positive interval", func(t *testing.T) {
		_, err := holder.AcquireWait(ctx, "d", "dirty", "busy", "", 0)
		assert.ErrorContains(t, err, "interval must be positive")
	})
}

// TestWire pins the requests: query strings (keys sorted, as upstream's
// client), the epoch only when set, the update body, Basic credentials,
// the server URL's path dropped, and exactly one request per call (no
// hidden retries, even of a 500).
func TestWire(t *testing.T) {
	type request struct{ line, auth, contentType, body string }
	var mu sync.Mutex
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 1024)
		n, _ := r.Body.Read(b)
		req := request{line: r.Method + " " + r.URL.RequestURI(), contentType: r.Header.Get("Content-Type"), body: string(b[:n])}
		if u, p, ok := r.BasicAuth(); ok {
			req.auth = u + ":" + p
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		switch r.URL.Path {
		case "/acquire":
			_, _ = w.Write([]byte(`{"type":"t","name":"n","state":"busy","owner":"o","lastupdate":"2006-01-02T15:04:05Z","userdata":{},"epoch":3}`))
		case "/acquirebystate":
			_, _ = w.Write([]byte(`[{"type":"t","name":"n","state":"busy","owner":"o","lastupdate":"2006-01-02T15:04:05Z","userdata":{}}]` + "\n"))
		case "/reset":
			_, _ = w.Write([]byte(`{}`))
		case "/metric":
			_, _ = w.Write([]byte(`{"type":"t","current":{},"owner":{}}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	anon, err := client.New(srv.URL+"/ignored/prefix", "o", client.Options{})
	require.NoError(t, err)
	authed, err := client.New(srv.URL, "o", client.Options{Username: "u", Password: "p"})
	require.NoError(t, err)

	tests := []struct {
		name string
		call func() error
		want request
	}{
		{name: "acquire", call: func() error { _, err := anon.Acquire(ctx, "t", "free", "busy", ""); return err },
			want: request{line: "POST /acquire?dest=busy&owner=o&state=free&type=t"}},
		{name: "acquire with request_id and auth", call: func() error { _, err := authed.Acquire(ctx, "t", "free", "busy", "r1"); return err },
			want: request{line: "POST /acquire?dest=busy&owner=o&request_id=r1&state=free&type=t", auth: "u:p"}},
		{name: "acquirebystate", call: func() error { _, err := anon.AcquireByState(ctx, "s", "busy", []string{"a", "b"}); return err },
			want: request{line: "POST /acquirebystate?dest=busy&names=a%2Cb&owner=o&state=s"}},
		{name: "release", call: func() error { return anon.Release(ctx, "n", "dirty", 0) },
			want: request{line: "POST /release?dest=dirty&name=n&owner=o"}},
		{name: "release with epoch", call: func() error { return anon.Release(ctx, "n", "dirty", 3) },
			want: request{line: "POST /release?dest=dirty&epoch=3&name=n&owner=o"}},
		{name: "update without user data", call: func() error { return anon.Update(ctx, "n", "busy", nil, 0) },
			want: request{line: "POST /update?name=n&owner=o&state=busy"}},
		{name: "update with user data and epoch", call: func() error { return anon.Update(ctx, "n", "busy", boskos.UserData{"k": "v"}, 3) },
			want: request{line: "POST /update?epoch=3&name=n&owner=o&state=busy", contentType: "application/json", body: `{"k":"v"}` + "\n"}},
		{name: "reset", call: func() error { _, err := anon.Reset(ctx, "t", "busy", 30*time.Minute, "dirty"); return err },
			want: request{line: "POST /reset?dest=dirty&expire=30m0s&state=busy&type=t"}},
		{name: "metric", call: func() error { _, err := anon.Metric(ctx, "t"); return err },
			want: request{line: "GET /metric?type=t"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			require.NoError(t, tc.call())
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []request{tc.want}, got)
		})
	}

	t.Run("a 500 is returned, not retried", func(t *testing.T) {
		var n atomic.Int64
		failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			http.Error(w, "boom", http.StatusInternalServerError)
		}))
		defer failing.Close()
		_, err := newClient(t, failing.URL, "o").Acquire(ctx, "t", "free", "busy", "")
		require.Error(t, err)
		assert.Equal(t, "status 500 Internal Server Error: boom", err.Error())
		assert.NotErrorIs(t, err, client.ErrNotFound)
		assert.Equal(t, int64(1), n.Load(), "requests sent")
	})
}
