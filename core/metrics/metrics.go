package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/metrics/promtext"
)

// Metric names.
const (
	ResourcesName       = promtext.ResourcesName
	AcquireDurationName = "boskos_acquire_duration_seconds"
	HTTPDurationName    = "boskos_http_request_duration_seconds"
)

// Unmatched is the path label of requests outside the six API endpoints.
const Unmatched = "unmatched"

// AcquireBuckets are the buckets (seconds) of boskos_acquire_duration_seconds,
// as upstream.
var AcquireBuckets = []float64{1, 10, 100, 500, 1000, 1500, 2000}

// HTTPBuckets are the buckets (seconds) of boskos_http_request_duration_seconds,
// as upstream (prow): 0.005, the powers of two from 2^-7 to 2^10, then 1200.
var HTTPBuckets = httpBuckets()

func httpBuckets() []float64 {
	b := []float64{0.005}
	for e := -7; e <= 10; e++ {
		b = append(b, pow2(e))
	}
	return append(b, 1200)
}

func pow2(e int) float64 {
	v := 1.0
	for ; e > 0; e-- {
		v *= 2
	}
	for ; e < 0; e++ {
		v /= 2
	}
	return v
}

// endpoints are the paths that keep their own path label.
var endpoints = map[string]bool{
	"/acquire": true, "/acquirebystate": true, "/release": true,
	"/reset": true, "/update": true, "/metric": true,
}

// resourceHistoryPath labels every /v1/resources/{name}/history request.
const resourceHistoryPath = "/v1/resources/{name}/history"

// SimplifyPath returns p when it is one of the six API endpoints or a
// history read (a resource's history under one label), else Unmatched.
func SimplifyPath(p string) string {
	if endpoints[p] || p == "/v1/history" || p == "/v1/usage" {
		return p
	}
	if name, ok := strings.CutPrefix(p, "/v1/resources/"); ok {
		if name, ok = strings.CutSuffix(name, "/history"); ok && name != "" && !strings.Contains(name, "/") {
			return resourceHistoryPath
		}
	}
	return Unmatched
}

var methods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodConnect: true,
	http.MethodOptions: true, http.MethodTrace: true,
}

// NormalizeMethod returns m when it is a standard HTTP method, else "other"
// (clients may send any token as a method).
func NormalizeMethod(m string) string {
	if methods[m] {
		return m
	}
	return boskos.Other
}

// register registers c on reg. When an equal collector is already
// registered it returns that one instead, so that building two handlers on
// one registry shares the metrics rather than failing.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("metrics: register: %w", err)
}

// AcquireFunc is the shape of ranch.Options.OnAcquire.
type AcquireFunc = func(rtype, state, dest string, hasRequestID bool, waited time.Duration)

// AcquireObserver registers boskos_acquire_duration_seconds on reg and
// returns the callback to set as ranch.Options.OnAcquire. Calling it twice on
// one registry returns callbacks that feed the same histogram. It fails only
// when reg holds a different metric of the same name.
func AcquireObserver(reg prometheus.Registerer) (AcquireFunc, error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    AcquireDurationName,
		Help:    "Histogram of waiting in seconds for a Boskos' client to acquire a resource.",
		Buckets: AcquireBuckets,
	}, []string{"type", "state", "dest", "has_request_id"})
	h, err := register(reg, h)
	if err != nil {
		return nil, err
	}
	return func(rtype, state, dest string, hasRequestID bool, waited time.Duration) {
		h.WithLabelValues(rtype, state, dest, strconv.FormatBool(hasRequestID)).Observe(waited.Seconds())
	}, nil
}

// HTTP records boskos_http_request_duration_seconds.
type HTTP struct {
	h *prometheus.HistogramVec
}

// NewHTTP registers boskos_http_request_duration_seconds on reg. It fails
// only when reg holds a different metric of the same name.
func NewHTTP(reg prometheus.Registerer) (*HTTP, error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    HTTPDurationName,
		Help:    "Latency of HTTP requests to the Boskos API, by simplified path, method and status code.",
		Buckets: HTTPBuckets,
	}, []string{"path", "method", "status"})
	h, err := register(reg, h)
	if err != nil {
		return nil, err
	}
	return &HTTP{h: h}, nil
}

// Observe records one request. path and method are reduced with
// SimplifyPath and NormalizeMethod, so callers may pass raw values.
func (m *HTTP) Observe(path, method string, status int, d time.Duration) {
	m.h.WithLabelValues(SimplifyPath(path), NormalizeMethod(method), strconv.Itoa(status)).Observe(d.Seconds())
}

// ResourceLister is what the resources collector reads (every resource,
// and the quotas in force with their usage): ranch.Ranch satisfies it.
type ResourceLister = promtext.Lister

// ResourcesCollector is the prometheus.Collector of boskos_resources,
// boskos_owner_resources (from the same listing of every resource, at each
// scrape) and boskos_quota_max and boskos_quota_used (one listing of the
// quota counters).
type ResourcesCollector struct {
	lister                    ResourceLister
	desc, owners, qmax, qused *prometheus.Desc
	timeout                   time.Duration
	log                       *slog.Logger
}

var _ prometheus.Collector = (*ResourcesCollector)(nil)

// NewResourcesCollector returns the collector of boskos_resources over l.
// Each scrape lists the resources within timeout (0 = 10s); a failed listing
// is logged and reported to the registry as an invalid metric. log may be
// nil (slog.Default()).
func NewResourcesCollector(l ResourceLister, timeout time.Duration, log *slog.Logger) *ResourcesCollector {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &ResourcesCollector{
		lister:  l,
		desc:    prometheus.NewDesc(ResourcesName, promtext.ResourcesHelp, []string{"type", "state"}, nil),
		owners:  prometheus.NewDesc(promtext.OwnerResourcesName, promtext.OwnerResourcesHelp, []string{"type", "owner"}, nil),
		qmax:    prometheus.NewDesc(promtext.QuotaMaxName, promtext.QuotaMaxHelp, []string{"type", "owner"}, nil),
		qused:   prometheus.NewDesc(promtext.QuotaUsedName, promtext.QuotaUsedHelp, []string{"type", "owner"}, nil),
		timeout: timeout,
		log:     log,
	}
}

// RegisterResources registers a ResourcesCollector over l on reg.
func RegisterResources(reg prometheus.Registerer, l ResourceLister, log *slog.Logger) error {
	_, err := register(reg, NewResourcesCollector(l, 0, log))
	return err
}

// Describe implements prometheus.Collector.
func (c *ResourcesCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.desc, c.owners, c.qmax, c.qused} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *ResourcesCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	res, err := c.lister.Resources(ctx)
	if err != nil {
		c.log.Error("metrics: listing resources failed", "err", err)
		ch <- prometheus.NewInvalidMetric(c.desc, err)
	} else {
		for _, s := range CountByTypeAndState(res) {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(s.Count), s.Type, s.State)
		}
		for _, s := range promtext.CountOwners(res) {
			ch <- prometheus.MustNewConstMetric(c.owners, prometheus.GaugeValue, float64(s.Count), s.Type, s.Owner)
		}
	}
	quotas, err := c.lister.QuotaUsage(ctx)
	if err != nil {
		c.log.Error("metrics: listing quotas failed", "err", err)
		ch <- prometheus.NewInvalidMetric(c.qused, err)
		return
	}
	for _, q := range quotas {
		ch <- prometheus.MustNewConstMetric(c.qmax, prometheus.GaugeValue, float64(q.Max), q.Type, q.Owner)
		ch <- prometheus.MustNewConstMetric(c.qused, prometheus.GaugeValue, float64(q.Used), q.Type, q.Owner)
	}
}

// Sample is one value of boskos_resources.
type Sample = promtext.Sample

// CountByTypeAndState computes boskos_resources from a list of resources:
// for every type present, one sample per boskos.KnownStates state (0 when
// none) plus an "other" sample when some resource is in an unknown state.
// Samples are sorted by type, then state. It is promtext.Count, so the
// Lambda functions' /metrics (promtext) and this collector agree.
func CountByTypeAndState(res []boskos.Resource) []Sample { return promtext.Count(res) }

// API is the Prometheus instrumentation of the Boskos HTTP handler: set
// httpapi.Options.Metrics to Handler and ObserveRequest to Observe.
type API struct {
	// Handler serves the registry's metrics (GET /metrics).
	Handler http.Handler
	// Observe records one request in
	// boskos_http_request_duration_seconds (nil when that metric could not
	// be registered).
	Observe func(path, method string, status int, d time.Duration)
}

// NewAPI registers boskos_resources, boskos_owner_resources and the quota
// gauges (over l) and boskos_http_request_duration_seconds on reg and
// serves gat. It never
// fails: a metric that cannot be registered (a different metric of the same
// name is already in reg) is logged and left out. log may be nil
// (slog.Default()).
func NewAPI(reg prometheus.Registerer, gat prometheus.Gatherer, l ResourceLister, log *slog.Logger) API {
	if log == nil {
		log = slog.Default()
	}
	var a API
	if m, err := NewHTTP(reg); err != nil {
		log.Warn("metrics: HTTP metrics disabled", "err", err)
	} else {
		a.Observe = m.Observe
	}
	if err := RegisterResources(reg, l, log); err != nil {
		log.Warn("metrics: boskos_resources disabled", "err", err)
	}
	a.Handler = promhttp.HandlerFor(gat, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{log},
		ErrorHandling: promhttp.ContinueOnError,
	})
	return a
}

// slogPrinter adapts a slog.Logger to promhttp.Logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Error("metrics: /metrics: " + fmt.Sprint(v...)) }
