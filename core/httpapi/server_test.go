package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/metrics"
	"github.com/boskos-serverless/boskos/core/ranch"
)

func TestMetricsEndpoint(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=o", "")
	w.mustDo("POST", "/acquire?type=t&state=free&dest=leased&owner=o&request_id=r1", "")
	w.do("GET", "/nowhere", "")
	w.do("BREW", "/acquire", "")
	w.do("POST", "/acquire?type=nope&state=free&dest=busy&owner=o", "")

	r := w.mustDo("GET", "/metrics", "")
	assert.Contains(t, r.header.Get("Content-Type"), "text/plain")
	for _, want := range []string{
		`boskos_resources{state="busy",type="t"} 1`,
		`boskos_resources{state="leased",type="t"} 1`,
		`boskos_resources{state="free",type="t"} 0`,
		`boskos_resources{state="dirty",type="u"} 1`,
		`boskos_resources{state="tombstone",type="u"} 0`,
		`boskos_acquire_duration_seconds_count{dest="busy",has_request_id="false",state="free",type="t"} 1`,
		`boskos_acquire_duration_seconds_count{dest="leased",has_request_id="true",state="free",type="t"} 1`,
		`boskos_http_request_duration_seconds_count{method="POST",path="/acquire",status="200"} 2`,
		`boskos_http_request_duration_seconds_count{method="POST",path="/acquire",status="404"} 1`,
		`boskos_http_request_duration_seconds_count{method="GET",path="unmatched",status="200"} 1`,
		`boskos_http_request_duration_seconds_count{method="other",path="/acquire",status="405"} 1`,
	} {
		assert.Contains(t, r.body, want+"\n")
	}
	assert.NotContains(t, r.body, `state="other"`)
	assert.NotContains(t, r.body, "user_agent")

	head := w.do("HEAD", "/metrics", "")
	assert.Equal(t, http.StatusOK, head.status)
}

// acquireDurations scrapes /metrics and returns boskos_acquire_duration_seconds
// by label set: "count=<n> sum=<seconds>" per set of {type,state,dest,has_request_id}.
func acquireDurations(t *testing.T, w *world) map[string]string {
	t.Helper()
	r := w.mustDo("GET", "/metrics", "")
	count, sum := map[string]string{}, map[string]string{}
	for _, line := range strings.Split(r.body, "\n") {
		for suffix, m := range map[string]map[string]string{"_count": count, "_sum": sum} {
			rest, ok := strings.CutPrefix(line, "boskos_acquire_duration_seconds"+suffix)
			if !ok {
				continue
			}
			labels, value, ok := strings.Cut(rest, " ")
			require.True(t, ok, "unparsable line %q", line)
			m[labels] = value
		}
	}
	got := map[string]string{}
	for labels, c := range count {
		got[labels] = "count=" + c + " sum=" + sum[labels]
	}
	require.Len(t, sum, len(count), "every _count has a _sum")
	return got
}

// TestAcquireDurationOnlySuccess: boskos_acquire_duration_seconds is
// observed once per successful /acquire, as upstream (boskos-api.md §2.4),
// labelled with the request's type, state, dest and whether it had a
// request_id, and measured from the request_id's first poll. Failed
// acquires of every kind, and /acquirebystate, add nothing.
func TestAcquireDurationOnlySuccess(t *testing.T) {
	w := newWorld(t, worldOpts{})
	failures := []struct {
		name, method, target string
		status               int
	}{
		{"missing owner", "POST", "/acquire?type=t&state=free&dest=busy", http.StatusBadRequest},
		{"param name case", "POST", "/acquire?Type=t&state=free&dest=busy&owner=o", http.StatusBadRequest},
		{"invalid field", "POST", "/acquire?type=t&state=free&dest=busy&owner=o&request_id=" + strings.Repeat("r", 4096), http.StatusBadRequest},
		{"method", "GET", "/acquire?type=t&state=free&dest=busy&owner=o", http.StatusMethodNotAllowed},
		{"unknown type", "POST", "/acquire?type=nope&state=free&dest=busy&owner=o", http.StatusNotFound},
		{"none free", "POST", "/acquire?type=u&state=free&dest=busy&owner=o", http.StatusNotFound},
		{"none free request id", "POST", "/acquire?type=u&state=free&dest=busy&owner=o&request_id=r0", http.StatusNotFound},
	}
	for _, tc := range failures {
		r := w.do(tc.method, tc.target, "")
		require.Equal(t, tc.status, r.status, "%s: body %q", tc.name, r.body)
	}
	w.store.fail.Store(true)
	r := w.do("POST", "/acquire?type=t&state=free&dest=busy&owner=o", "")
	require.Equal(t, http.StatusInternalServerError, r.status, "store failure: body %q", r.body)
	w.store.fail.Store(false)
	w.mustDo("POST", "/acquirebystate?state=free&dest=busy&owner=p&names=res-b", "")
	assert.Empty(t, acquireDurations(t, w), "after failed acquires and an acquirebystate")

	// One success, no request_id: waited from the start of the call (the
	// clock does not move, so 0).
	w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=o", "") // res-a
	assert.Equal(t, map[string]string{
		`{dest="busy",has_request_id="false",state="free",type="t"}`: "count=1 sum=0",
	}, acquireDurations(t, w))

	// With a request_id: the miss adds nothing; the success 20s later is
	// one observation of 20s.
	const withID = "/acquire?type=t&state=free&dest=leased&owner=q&request_id=r1"
	r = w.do("POST", withID, "")
	require.Equal(t, http.StatusNotFound, r.status, "body %q", r.body)
	w.clock.advance(20 * time.Second)
	w.mustDo("POST", "/release?name=res-a&dest=free&owner=o", "")
	w.mustDo("POST", withID, "")
	assert.Equal(t, map[string]string{
		`{dest="busy",has_request_id="false",state="free",type="t"}`:  "count=1 sum=0",
		`{dest="leased",has_request_id="true",state="free",type="t"}`: "count=1 sum=20",
	}, acquireDurations(t, w))
}

// TestDefaultMetrics: without Options.Metrics, /metrics serves
// boskos_resources alone, computed from the store (what the Lambda
// functions serve), and no Prometheus client's metrics.
func TestDefaultMetrics(t *testing.T) {
	w := newWorld(t, worldOpts{})
	srv := httptest.NewServer(httpapi.New(w.ranch, httpapi.Options{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(b), `boskos_resources{state="free",type="t"} 2`)
	assert.NotContains(t, string(b), "go_goroutines")
	assert.NotContains(t, string(b), "boskos_http_request_duration_seconds")
}

func TestTwoHandlersOneRegistry(t *testing.T) {
	w := newWorld(t, worldOpts{})
	// A second handler on the same registry must not break either.
	m := metrics.NewAPI(w.reg, w.reg, w.ranch, nil)
	h2 := httpapi.New(w.ranch, httpapi.Options{Metrics: m.Handler, ObserveRequest: m.Observe})
	srv := httptest.NewServer(h2)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	mfs, err := w.reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	assert.Contains(t, names, "boskos_http_request_duration_seconds")
	assert.Contains(t, names, "boskos_resources")
}

func TestNameClashIsLoggedNotFatal(t *testing.T) {
	w := newWorld(t, worldOpts{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "boskos_http_request_duration_seconds", Help: "x"}))
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	m := metrics.NewAPI(reg, reg, w.ranch, log)
	srv := httptest.NewServer(httpapi.New(w.ranch, httpapi.Options{Metrics: m.Handler, ObserveRequest: m.Observe, Logger: log}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, buf.String(), "HTTP metrics disabled")
}

// TestUpdateUserDataReachesStore: the body is the delta, merged by the
// ranch ("" deletes), and the query's epoch is honoured.
func TestUpdateUserDataReachesStore(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=o", "")
	w.mustDo("POST", "/update?name=res-a&owner=o&state=busy&epoch=1", `{"a":"1","b":"2"}`)
	w.mustDo("POST", "/update?name=res-a&owner=o&state=busy", `{"a":""}`)
	w.mustDo("POST", "/update?name=res-a&owner=o&state=busy", ``)
	var got boskos.UserData
	for _, r := range w.snapshot() {
		if r.Name == "res-a" {
			got = r.UserData
		}
	}
	assert.Equal(t, boskos.UserData{"b": "2"}, got)

	// It comes back on the next acquire, as upstream (never cleared).
	w.mustDo("POST", "/release?name=res-a&dest=free&owner=o&epoch=1", "")
	r := w.mustDo("POST", "/acquirebystate?state=free&dest=busy&owner=p&names=res-a", "")
	assert.Contains(t, r.body, `"userdata":{"b":"2"}`)
	assert.True(t, strings.HasSuffix(r.body, "]\n"))
}

// TestStoreFailures: write failures in the store are 500s with upstream's
// prefixes, and the body is still written like http.Error.
func TestStoreFailures(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=o", "")
	w.store.fail.Store(true)
	cases := []struct{ name, target, prefix string }{
		{"acquire", "/acquire?type=t&state=free&dest=busy&owner=o", "Acquire failed: "},
		{"acquirebystate", "/acquirebystate?state=free&dest=busy&owner=o&names=res-b", "AcquireByState: "},
		{"release", "/release?name=res-a&dest=free&owner=o", "Done failed: res-a - free (from o): "},
		{"update", "/update?name=res-a&owner=o&state=busy", "Update failed: res-a - busy (o): "},
		{"reset", "/reset?type=t&state=busy&expire=0&dest=free", "could not reset states: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do("POST", tc.target, "")
			assert.Equal(t, http.StatusInternalServerError, r.status, "body %q", r.body)
			assert.True(t, strings.HasPrefix(r.body, tc.prefix), "got body %q, want prefix %q", r.body, tc.prefix)
			assert.True(t, strings.HasSuffix(r.body, "\n"))
			assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
		})
	}
}

// TestStoreThrottled: a write the store refused for lack of capacity
// (nothing applied) answers 503 with Retry-After and a body that says what
// failed; the same write failing otherwise answers 500 without it.
func TestStoreThrottled(t *testing.T) {
	tests := []struct {
		name       string
		throttle   bool
		status     int
		retryAfter string
	}{
		{"throttled", true, http.StatusServiceUnavailable, "1"},
		{"failed", false, http.StatusInternalServerError, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldOpts{})
			w.store.fail.Store(true)
			w.store.throttle.Store(tc.throttle)
			r := w.do("POST", "/acquire?type=t&state=free&dest=busy&owner=o", "")
			assert.Equal(t, tc.status, r.status, "body %q", r.body)
			assert.Equal(t, tc.retryAfter, r.header.Get("Retry-After"))
			assert.True(t, strings.HasPrefix(r.body, "Acquire failed: ranch: acquire "), "got body %q", r.body)
		})
	}
}

// panicky is the ranch with a Metric that panics.
type panicky struct{ *ranch.Ranch }

func (panicky) Metric(context.Context, string) (boskos.Metric, error) { panic("boom") }

func TestPanicIsRecovered(t *testing.T) {
	w := newWorld(t, worldOpts{svc: func(r *ranch.Ranch) httpapi.Service { return panicky{r} }})
	r := w.do("GET", "/metric?type=t", "")
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Equal(t, "internal error\n", r.body)
	assert.Equal(t, http.StatusOK, w.do("GET", "/healthz", "").status)
	m := w.mustDo("GET", "/metrics", "")
	assert.Contains(t, m.body, `boskos_http_request_duration_seconds_count{method="GET",path="/metric",status="500"} 1`)
}

// TestQuotaMetrics: the holdings per owner and the quotas are on /metrics,
// alike from the Prometheus registry (the local server) and from the
// store-computed default (the Lambda functions).
func TestQuotaMetrics(t *testing.T) {
	w := newWorld(t, worldOpts{cfg: quotaConfig()})
	w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=o1", "")
	r := w.do("POST", "/acquire?type=t&state=free&dest=busy&owner=o2", "")
	require.Equal(t, http.StatusTooManyRequests, r.status, "body %q", r.body)
	w.mustDo("POST", "/acquire?type=u&state=dirty&dest=busy&owner=bot", "")
	want := []string{
		`boskos_owner_resources{owner="bot",type="u"} 1`,
		`boskos_owner_resources{owner="o1",type="t"} 1`,
		`boskos_quota_max{owner="o*",type="t"} 1`,
		`boskos_quota_used{owner="o*",type="t"} 1`,
	}
	lambda := httptest.NewServer(httpapi.New(w.ranch, httpapi.Options{}))
	defer lambda.Close()
	for name, url := range map[string]string{"prometheus registry": w.srv.URL, "store-computed default": lambda.URL} {
		t.Run(name, func(t *testing.T) {
			resp, err := http.Get(url + "/metrics")
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			var got []string
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "boskos_owner_resources{") || strings.HasPrefix(line, "boskos_quota_") {
					got = append(got, line)
				}
			}
			assert.Equal(t, want, got)
		})
	}
}
