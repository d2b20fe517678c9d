package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/testkit"
)

// source is a credentials source whose document and error tests change,
// counting reads; block, when set, holds each read until it is closed.
type source struct {
	mu    sync.Mutex
	doc   []byte
	err   error
	block chan struct{}
	reads atomic.Int64
}

func (s *source) set(doc string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.doc, s.err = []byte(doc), err
}

func (s *source) fetch(ctx context.Context) ([]byte, error) {
	s.reads.Add(1)
	s.mu.Lock()
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.doc), s.err
}

func docOf(t *testing.T, principals ...string) string {
	t.Helper()
	out := "principals:\n"
	for _, p := range principals {
		out += fmt.Sprintf("- {name: %s, password_hash: %q, owners: [%s-*], role: client}\n", p, minHash(t, p+"-pw"), p)
	}
	return out
}

// syncLog is a concurrency-safe log buffer.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

type refreshFixture struct {
	src     *source
	clk     *testkit.Clock
	holder  *Holder
	r       *Refresher
	log     *syncLog
	results chan error
}

func newRefreshFixture(t *testing.T, doc string) *refreshFixture {
	f := &refreshFixture{src: &source{}, clk: testkit.NewClock(), holder: &Holder{}, log: &syncLog{}, results: make(chan error, 16)}
	f.src.set(doc, nil)
	f.r = NewRefresher(f.holder, f.src.fetch, RefreshOptions{
		Source: "secret test", TTL: time.Minute, Now: f.clk.Now,
		Logger:    slog.New(slog.NewTextHandler(f.log, nil)),
		OnRefresh: func(err error) { f.results <- err },
	})
	return f
}

func TestRefresherLoad(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		err     error
		wantErr string
	}{
		{name: "valid", doc: docOf(t, "ci")},
		{name: "unreadable", err: errors.New("access denied"), wantErr: "read credentials from secret test: access denied"},
		{name: "empty", doc: "", wantErr: "empty document"},
		{name: "invalid", doc: "principals: []\n", wantErr: "secret test: principals: none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newRefreshFixture(t, tc.doc)
			f.src.set(tc.doc, tc.err)
			err := f.r.Load(context.Background())
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Nil(t, f.holder.Load(), "a failed load puts nothing in force")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, f.holder.Load().Lookup("ci"))
		})
	}
}

// TestRefresherTTL: nothing is read again within the TTL; the first call
// after it reads once and puts a changed document in force; an unchanged
// one is not stored again; a failed read or an invalid document keeps the
// credentials in force (logged, reported to OnRefresh) and is retried one
// TTL later.
func TestRefresherTTL(t *testing.T) {
	ctx := context.Background()
	f := newRefreshFixture(t, docOf(t, "ci"))
	require.NoError(t, f.r.Load(ctx))
	reads := func() int64 { return f.src.reads.Load() }

	f.clk.Add(59 * time.Second)
	f.r.Refresh(ctx)
	assert.EqualValues(t, 1, reads(), "within the TTL: no read")

	steps := []struct {
		name      string
		doc       string
		err       error
		wantErr   string // in OnRefresh's error and the log
		wantNames []string
		wantSame  bool // the holder keeps the very same *Credentials
	}{
		{name: "same principals, new bytes (a new hash)", doc: docOf(t, "ci"), wantNames: []string{"ci"}},
		{name: "changed document", doc: docOf(t, "ci", "bot"), wantNames: []string{"ci", "bot"}},
		{name: "failed read keeps the old ones", err: errors.New("ThrottlingException: rate exceeded"), wantErr: "rate exceeded", wantNames: []string{"ci", "bot"}, wantSame: true},
		{name: "invalid document keeps the old ones", doc: "principals:\n- {name: x, role: client, owners: [x]}\n", wantErr: "password_hash or iam must be set", wantNames: []string{"ci", "bot"}, wantSame: true},
		{name: "fixed document", doc: docOf(t, "new"), wantNames: []string{"new"}},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := f.holder.Load()
			f.src.set(st.doc, st.err)
			f.clk.Add(time.Minute)
			f.r.Refresh(ctx)
			f.r.Refresh(ctx) // once per TTL
			assert.EqualValues(t, i+2, reads(), "one read per TTL")
			err := <-f.results
			if st.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), st.wantErr)
				assert.Contains(t, f.log.String(), "credentials refresh: keeping the current credentials")
			} else {
				require.NoError(t, err)
			}
			var names []string
			for _, p := range f.holder.Load().Principals() {
				names = append(names, p.Name)
			}
			assert.Equal(t, st.wantNames, names)
			if st.wantSame {
				assert.Same(t, before, f.holder.Load())
			}
		})
	}
	assert.NotContains(t, f.log.String(), "pw", "the log shows no password or hash")
	assert.NotContains(t, f.log.String(), "$2a$")
}

func TestRefresherUnchangedKeepsCredentials(t *testing.T) {
	ctx := context.Background()
	doc := docOf(t, "ci")
	f := newRefreshFixture(t, doc)
	require.NoError(t, f.r.Load(ctx))
	first := f.holder.Load()
	f.clk.Add(time.Minute)
	f.r.Refresh(ctx)
	require.NoError(t, <-f.results)
	assert.EqualValues(t, 2, f.src.reads.Load())
	assert.Same(t, first, f.holder.Load(), "an unchanged document is not stored again")
}

// TestRefresherSingleFlight: while one request's read is blocked, other
// requests past the TTL neither read nor wait: they are served at once with
// the credentials in force; after the read, the new ones are in force.
func TestRefresherSingleFlight(t *testing.T) {
	ctx := context.Background()
	f := newRefreshFixture(t, docOf(t, "ci"))
	require.NoError(t, f.r.Load(ctx))
	guard := NewGuard(f.holder, Options{Logger: testkit.Quiet()})
	var served atomic.Int64
	h := f.r.Wrap(guard.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) })))
	do := func(user, pass string) int {
		r := httptest.NewRequest("GET", "/metric?type=x", nil)
		r.SetBasicAuth(user, pass)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}

	block := make(chan struct{})
	f.src.mu.Lock()
	f.src.block = block
	f.src.mu.Unlock()
	f.src.set(docOf(t, "bot"), nil)
	f.clk.Add(time.Minute)

	first := make(chan int)
	go func() { first <- do("ci", "ci-pw") }() // takes the read and blocks in it
	require.Eventually(t, func() bool { return f.src.reads.Load() == 2 }, 5*time.Second, time.Millisecond)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { assert.Equal(t, 200, do("ci", "ci-pw"), "served with the old credentials") })
	}
	wg.Wait() // without waiting for the blocked read
	assert.EqualValues(t, 2, f.src.reads.Load(), "one read in flight")
	assert.EqualValues(t, 16, served.Load())

	close(block)
	assert.Equal(t, 401, <-first, "the reading request is served with the new credentials")
	require.NoError(t, <-f.results)
	assert.Equal(t, 200, do("bot", "bot-pw"))
	assert.Equal(t, 401, do("ci", "ci-pw"))
	assert.EqualValues(t, 2, f.src.reads.Load())
}

// TestRefresherTimeout: a read that hangs is abandoned after Timeout, the
// credentials in force are kept, and the request is served.
func TestRefresherTimeout(t *testing.T) {
	ctx := context.Background()
	f := newRefreshFixture(t, docOf(t, "ci"))
	require.NoError(t, f.r.Load(ctx))
	f.r.o.Timeout = 20 * time.Millisecond
	f.src.mu.Lock()
	f.src.block = make(chan struct{}) // never closed
	f.src.mu.Unlock()
	f.clk.Add(time.Minute)
	start := time.Now()
	cctx, cancel := context.WithCancel(ctx)
	cancel() // a client that went away does not cancel the read: only the timeout does
	f.r.Refresh(cctx)
	assert.Less(t, time.Since(start), 2*time.Second)
	err := <-f.results
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotNil(t, f.holder.Load().Lookup("ci"))
}
