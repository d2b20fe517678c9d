package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/metrics/promtext"
)

// DefaultMaxBodyBytes is the default limit of a request body (1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// Service is what the handler needs from the ranch; *ranch.Ranch satisfies
// it. Errors are *boskos.Error values (possibly wrapped): their code gives
// the HTTP status (HTTPStatus) and their message the body text.
type Service interface {
	// Acquire leases one resource of rtype in state, moving it to dest.
	// Not-found errors: boskos.ResourceNotFound(rtype), boskos.TypeNotFound.
	Acquire(ctx context.Context, rtype, state, dest, owner, requestID string) (boskos.Resource, error)
	// AcquireByState leases every named resource in state, or none
	// (boskos.ResourceNotFound(state)).
	AcquireByState(ctx context.Context, state, dest, owner string, names []string) ([]boskos.Resource, error)
	// Release hands a resource back: not found, owner mismatch, stale epoch.
	Release(ctx context.Context, name, dest, owner string, epoch *int64) error
	// Update is the heartbeat: not found, owner mismatch, state mismatch,
	// stale epoch.
	Update(ctx context.Context, name, owner, state string, ud boskos.UserData, epoch *int64) error
	// Reset frees stale owned resources; it returns name -> previous owner.
	Reset(ctx context.Context, rtype, state string, expire time.Duration, dest string) (map[string]string, error)
	// Metric counts one type's resources (boskos.ResourceNotFound(rtype)
	// when there are none).
	Metric(ctx context.Context, rtype string) (boskos.Metric, error)
	// Resources returns every resource (for the boskos_resources gauge).
	Resources(ctx context.Context) ([]boskos.Resource, error)
	// QuotaUsage returns the quotas in force and what each counts (for
	// the quota gauges of /metrics).
	QuotaUsage(ctx context.Context) ([]boskos.QuotaUsage, error)
}

// Options tune the handler. The zero value of each field means its default.
type Options struct {
	// Logger receives request errors (default slog.Default()).
	Logger *slog.Logger
	// MaxBodyBytes limits the /update body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Metrics serves GET and HEAD /metrics. Nil means boskos_resources,
	// boskos_owner_resources and the quota gauges alone, computed from svc
	// at every request, in the Prometheus text format (package promtext):
	// what the Lambda functions serve. The
	// local server passes package metrics' Prometheus registry
	// (metrics.NewAPI).
	Metrics http.Handler
	// ObserveRequest, if set, is called after every request with its path,
	// method, status and duration (metrics.NewAPI's Observe records
	// boskos_http_request_duration_seconds).
	ObserveRequest func(path, method string, status int, d time.Duration)
	// Now is the clock used to time requests (default time.Now).
	Now func() time.Time
	// Middleware, if set, wraps the endpoints, inside the request timing
	// and panic recovery (so its refusals are counted in
	// boskos_http_request_duration_seconds): package auth's Guard.Wrap.
	Middleware func(http.Handler) http.Handler
}

type handler struct {
	svc     Service
	log     *slog.Logger
	maxBody int64
	now     func() time.Time
	mux     http.Handler
	observe func(path, method string, status int, d time.Duration) // nil: none
}

// New returns the Boskos API handler over svc.
func New(svc Service, opts Options) http.Handler {
	h := &handler{svc: svc, log: opts.Logger, maxBody: opts.MaxBodyBytes, now: opts.Now, observe: opts.ObserveRequest}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.now == nil {
		h.now = time.Now
	}
	metricsHandler := opts.Metrics
	if metricsHandler == nil {
		metricsHandler = promtext.Handler(svc, 0, h.log)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(http.ResponseWriter, *http.Request) {}) // upstream's catch-all: 200, empty
	mux.HandleFunc("/acquire", h.acquire)
	mux.HandleFunc("/acquirebystate", h.acquireByState)
	mux.HandleFunc("/release", h.release)
	mux.HandleFunc("/update", h.update)
	mux.HandleFunc("/reset", h.reset)
	mux.HandleFunc("/metric", h.metric)
	mux.HandleFunc("/healthz", h.healthz)
	mux.HandleFunc("/healthz/ready", h.healthz) // upstream's readiness probe
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("Method %v, /metrics only accepts GET.", r.Method))
			return
		}
		metricsHandler.ServeHTTP(w, r)
	})
	if hs, ok := svc.(HistoryService); ok {
		h.historyRoutes(mux, hs)
	}
	h.routesV1(mux) // the read API (/v1/) and the dashboard (/ui/): v1.go
	h.mux = mux
	if opts.Middleware != nil {
		h.mux = opts.Middleware(mux)
	}
	return h
}

// ServeHTTP dispatches the request, times it and recovers from panics.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("httpapi: panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			if !sw.wrote {
				http.Error(sw, "internal error", http.StatusInternalServerError)
			}
		}
		if h.observe != nil {
			h.observe(r.URL.Path, r.Method, sw.status(), h.now().Sub(start))
		}
	}()
	h.mux.ServeHTTP(sw, r)
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// fail writes msg like http.Error and logs it (5xx at error level, others
// at debug level).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "httpapi: request failed", "method", r.Method, "path", r.URL.Path, "status", status, "msg", msg)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	http.Error(w, msg, status)
}

// failErr writes a service error: its status from HTTPStatus, its
// body "<prefix>: <message>" (just the message when prefix is "").
func (h *handler) failErr(w http.ResponseWriter, r *http.Request, prefix string, err error) {
	msg := errMessage(err)
	if prefix != "" {
		msg = prefix + ": " + msg
	}
	h.fail(w, r, HTTPStatus(err), msg)
}

// errMessage is the message of the first *boskos.Error in err's chain (the
// text clients know), or err's own text when there is none.
func errMessage(err error) string {
	var e *boskos.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// field is a named request parameter, for validation.
type field struct{ name, value string }

// validate checks parameters with boskos.ValidateField; optional ones that
// are empty are skipped by the callers.
func validate(fields ...field) error {
	for _, f := range fields {
		if err := boskos.ValidateField(f.name, f.value); err != nil {
			return err
		}
	}
	return nil
}

// parseEpoch reads the optional epoch parameter.
func parseEpoch(q map[string][]string) (*int64, error) {
	v := first(q, "epoch")
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, boskos.Invalid("invalid epoch: must be an integer, got %q", v)
	}
	return &n, nil
}

// first is url.Values.Get without the type.
func first(q map[string][]string, key string) string {
	if vs := q[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func (h *handler) acquire(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("Method %v, /acquire only accepts POST.", r.Method))
		return
	}
	q := r.URL.Query()
	rtype, state, dest, owner, requestID := q.Get("type"), q.Get("state"), q.Get("dest"), q.Get("owner"), q.Get("request_id")
	if rtype == "" || state == "" || dest == "" || owner == "" {
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Bad request: Type: %v, state: %v, dest: %v, owner: %v, all of them must be set in the request.", rtype, state, dest, owner))
		return
	}
	fs := []field{{"type", rtype}, {"state", state}, {"dest", dest}, {"owner", owner}}
	if requestID != "" {
		fs = append(fs, field{"request_id", requestID})
	}
	if err := validate(fs...); err != nil {
		h.failErr(w, r, "", err)
		return
	}
	res, err := h.svc.Acquire(r.Context(), rtype, state, dest, owner, requestID)
	if err != nil {
		if place, ok := boskos.QueueOf(err); ok && requestID != "" && HTTPStatus(err) == http.StatusNotFound {
			setQueueHeaders(w.Header(), place)
		}
		h.failErr(w, r, "Acquire failed", err)
		return
	}
	b, err := json.Marshal(res)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		// As upstream: hand the resource back, it cannot be reported.
		if rerr := h.svc.Release(context.WithoutCancel(r.Context()), res.Name, state, owner, &res.Epoch); rerr != nil {
			h.log.Error("httpapi: releasing unreportable resource failed", "name", res.Name, "err", rerr)
		}
		return
	}
	_, _ = w.Write(b)
}

func (h *handler) acquireByState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		// Upstream's text says /acquire here; kept.
		h.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("Method %v, /acquire only accepts POST.", r.Method))
		return
	}
	q := r.URL.Query()
	state, dest, owner, names := q.Get("state"), q.Get("dest"), q.Get("owner"), q.Get("names")
	if state == "" || dest == "" || owner == "" || names == "" {
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("state: %v, dest: %v, owner: %v, names: %v - all of them must be set in the request.", state, dest, owner, names))
		return
	}
	fs := []field{{"state", state}, {"dest", dest}, {"owner", owner}}
	// Split without trimming, as upstream; duplicates collapse (upstream
	// uses a set). An empty element is left for the service to not find.
	var list []string
	seen := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		if seen[n] {
			continue
		}
		seen[n] = true
		list = append(list, n)
		if n != "" {
			fs = append(fs, field{"names", n})
		}
	}
	if err := validate(fs...); err != nil {
		h.failErr(w, r, "", err)
		return
	}
	res, err := h.svc.AcquireByState(r.Context(), state, dest, owner, list)
	if err != nil {
		h.failErr(w, r, "AcquireByState", err)
		return
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(res); err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		for _, x := range res {
			if rerr := h.svc.Release(context.WithoutCancel(r.Context()), x.Name, state, owner, &x.Epoch); rerr != nil {
				h.log.Error("httpapi: releasing unreportable resource failed", "name", x.Name, "err", rerr)
			}
		}
		return
	}
	_, _ = w.Write(buf.Bytes())
}

func (h *handler) release(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("Method %v, /release only accepts POST.", r.Method))
		return
	}
	q := r.URL.Query()
	name, dest, owner := q.Get("name"), q.Get("dest"), q.Get("owner")
	if name == "" || dest == "" || owner == "" {
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Name: %v, dest: %v, owner: %v, all of them must be set in the request.", name, dest, owner))
		return
	}
	if err := validate(field{"name", name}, field{"dest", dest}, field{"owner", owner}); err != nil {
		h.failErr(w, r, "", err)
		return
	}
	epoch, err := parseEpoch(q)
	if err != nil {
		h.failErr(w, r, "", err)
		return
	}
	if err := h.svc.Release(r.Context(), name, dest, owner, epoch); err != nil {
		h.failErr(w, r, fmt.Sprintf("Done failed: %v - %v (from %v)", name, dest, owner), err)
		return
	}
}

func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("Method %v, /update only accepts POST.", r.Method))
		return
	}
	q := r.URL.Query()
	name, owner, state := q.Get("name"), q.Get("owner"), q.Get("state")
	if name == "" || owner == "" || state == "" {
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Name: %v, owner: %v, state : %v, all of them must be set in the request.", name, owner, state))
		return
	}
	if err := validate(field{"name", name}, field{"owner", owner}, field{"state", state}); err != nil {
		h.failErr(w, r, "", err)
		return
	}
	epoch, err := parseEpoch(q)
	if err != nil {
		h.failErr(w, r, "", err)
		return
	}
	ud, status, msg := h.readUserData(w, r)
	if status != 0 {
		h.fail(w, r, status, msg)
		return
	}
	if err := h.svc.Update(r.Context(), name, owner, state, ud, epoch); err != nil {
		h.failErr(w, r, fmt.Sprintf("Update failed: %v - %v (%v)", name, state, owner), err)
		return
	}
}

// readUserData reads the optional userdata delta of /update: the first JSON
// value of the body, as upstream (empty body and null mean no change). It
// returns a non-zero status and its message when the body is too large or
// not a JSON object of strings. The message never quotes the body.
func (h *handler) readUserData(w http.ResponseWriter, r *http.Request) (boskos.UserData, int, string) {
	if r.Body == nil {
		return nil, 0, ""
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: the limit is %d bytes", mbe.Limit)
		}
		return nil, http.StatusBadRequest, "reading request body: " + err.Error()
	}
	var ud boskos.UserData
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&ud); err != nil && err != io.EOF {
		return nil, http.StatusBadRequest, err.Error()
	}
	return ud, 0, ""
}

func (h *handler) reset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("Method %v, /reset only accepts POST.", r.Method))
		return
	}
	q := r.URL.Query()
	rtype, state, expireStr, dest := q.Get("type"), q.Get("state"), q.Get("expire"), q.Get("dest")
	if rtype == "" || state == "" || expireStr == "" || dest == "" {
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Type: %v, state: %v, expire: %v, dest: %v, all of them must be set in the request.", rtype, state, expireStr, dest))
		return
	}
	expire, err := time.ParseDuration(expireStr)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if err := validate(field{"type", rtype}, field{"state", state}, field{"dest", dest}); err != nil {
		h.failErr(w, r, "", err)
		return
	}
	rmap, err := h.svc.Reset(r.Context(), rtype, state, expire, dest)
	if err != nil {
		h.failErr(w, r, "could not reset states", err)
		return
	}
	if rmap == nil {
		rmap = map[string]string{}
	}
	b, err := json.Marshal(rmap)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	_, _ = w.Write(b)
}

func (h *handler) metric(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		h.fail(w, r, http.StatusMethodNotAllowed, "/metric only accepts GET")
		return
	}
	rtype := r.URL.Query().Get("type")
	if rtype == "" {
		h.fail(w, r, http.StatusBadRequest, "Type must be set in the request.")
		return
	}
	if err := validate(field{"type", rtype}); err != nil {
		h.failErr(w, r, "", err)
		return
	}
	m, err := h.svc.Metric(r.Context(), rtype)
	if err != nil {
		h.failErr(w, r, "", err) // upstream: no prefix
		return
	}
	if m.Current == nil {
		m.Current = map[string]int{}
	}
	if m.Owners == nil {
		m.Owners = map[string]int{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("Method %v, %s only accepts GET.", r.Method, r.URL.Path))
		return
	}
	_, _ = io.WriteString(w, "OK")
}
