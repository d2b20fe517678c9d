package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/metrics"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// The real ranch is the service the handler is written for.
var _ httpapi.Service = (*ranch.Ranch)(nil)

// fixedTime is the clock of every golden file.
var fixedTime = time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)

// clock is an injectable clock that tests may move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// advance moves the clock forward by d.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// failingStore is memstore with writes that fail on demand (a fake, not a
// mock: reads still work).
type failingStore struct {
	store.Store
	fail atomic.Bool
	// throttle makes the injected failures refusals for lack of capacity
	// (store.ErrUnavailable).
	throttle atomic.Bool
}

// injected is the error of a failing write.
func (s *failingStore) injected() error {
	if s.throttle.Load() {
		return fmt.Errorf("injected throttling: %w", store.ErrUnavailable)
	}
	return errInjected
}

var errInjected = &injectedError{}

type injectedError struct{}

func (*injectedError) Error() string { return "injected write failure" }

func (s *failingStore) Create(ctx context.Context, it store.Item) (store.Item, error) {
	if s.fail.Load() {
		return store.Item{}, s.injected()
	}
	return s.Store.Create(ctx, it)
}

func (s *failingStore) Update(ctx context.Context, u store.Update) (store.Item, error) {
	if s.fail.Load() {
		return store.Item{}, s.injected()
	}
	return s.Store.Update(ctx, u)
}

func (s *failingStore) Delete(ctx context.Context, key string, conds ...store.Cond) error {
	if s.fail.Load() {
		return s.injected()
	}
	return s.Store.Delete(ctx, key, conds...)
}

func (s *failingStore) Transact(ctx context.Context, ops []store.Op) error {
	if s.fail.Load() {
		return s.injected()
	}
	return s.Store.Transact(ctx, ops)
}

// world is one real ranch on memstore behind a real HTTP server.
type world struct {
	t     testing.TB
	store *failingStore
	ranch *ranch.Ranch
	clock *clock
	reg   *prometheus.Registry
	h     http.Handler
	srv   *httptest.Server
}

type worldOpts struct {
	cfg    *boskos.Config
	logger *slog.Logger
	svc    func(*ranch.Ranch) httpapi.Service // wraps the ranch, optional
	// history: the memstore records the lease history (ranch.HistoryHook).
	history bool
}

// defaultConfig: type t has res-a, res-b (free); type u has u-1 (dirty).
func defaultConfig() *boskos.Config {
	return &boskos.Config{Resources: []boskos.ResourceEntry{
		{Type: "t", State: boskos.Free, Names: []string{"res-a", "res-b"}},
		{Type: "u", State: boskos.Dirty, Names: []string{"u-1"}},
	}}
}

func newWorld(t testing.TB, o worldOpts) *world {
	t.Helper()
	if o.cfg == nil {
		o.cfg = defaultConfig()
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &world{t: t, clock: &clock{t: fixedTime}, reg: prometheus.NewRegistry()}
	var mo memstore.Options
	if o.history {
		mo.OnWrite = ranch.HistoryHook(ranch.HistoryOptions{Now: w.clock.Now})
	}
	w.store = &failingStore{Store: memstore.NewWithOptions(mo)}
	onAcquire, err := metrics.AcquireObserver(w.reg)
	require.NoError(t, err)
	// The ranch logs elsewhere: log assertions are about the handler.
	w.ranch = ranch.New(w.store, ranch.Options{Now: w.clock.Now, OnAcquire: onAcquire, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, w.ranch.SyncConfig(context.Background(), o.cfg))
	var svc httpapi.Service = w.ranch
	if o.svc != nil {
		svc = o.svc(w.ranch)
	}
	m := metrics.NewAPI(w.reg, w.reg, svc, o.logger)
	w.h = httpapi.New(svc, httpapi.Options{Logger: o.logger, Metrics: m.Handler, ObserveRequest: m.Observe, Now: w.clock.Now})
	w.srv = httptest.NewServer(w.h)
	t.Cleanup(w.srv.Close)
	return w
}

// response is what a test looks at.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends one request through the real server. target is the path and
// query, already encoded.
func (w *world) do(method, target, body string) response {
	w.t.Helper()
	return w.doWith(method, target, body, nil)
}

// doWith is do with request headers (Content-Type, for instance).
func (w *world) doWith(method, target, body string, header map[string]string) response {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.srv.URL+target, rd)
	require.NoError(w.t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(w.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// mustDo sends a request that must succeed.
func (w *world) mustDo(method, target, body string) response {
	w.t.Helper()
	r := w.do(method, target, body)
	require.Equal(w.t, http.StatusOK, r.status, "setup %s %s: got %d %q", method, target, r.status, r.body)
	return r
}

// snapshot is every resource, for "nothing changed" checks.
func (w *world) snapshot() []boskos.Resource {
	w.t.Helper()
	res, err := w.ranch.Resources(context.Background())
	require.NoError(w.t, err)
	return res
}
