package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/metrics"
)

// lister is a fake metrics.ResourceLister.
type lister struct {
	res    []boskos.Resource
	err    error
	quotas []boskos.QuotaUsage
	qerr   error
}

func (l *lister) Resources(context.Context) ([]boskos.Resource, error) { return l.res, l.err }

func (l *lister) QuotaUsage(context.Context) ([]boskos.QuotaUsage, error) { return l.quotas, l.qerr }

// series flattens a gathered family into "label=value,... value" lines
// (histograms: the sample count), sorted.
func series(t *testing.T, g prometheus.Gatherer, name string) []string {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			out = append(out, line(m))
		}
	}
	sort.Strings(out)
	return out
}

func line(m *dto.Metric) string {
	var ls []string
	for _, l := range m.GetLabel() {
		ls = append(ls, l.GetName()+"="+l.GetValue())
	}
	v := m.GetGauge().GetValue()
	if h := m.GetHistogram(); h != nil {
		return fmt.Sprintf("%s count=%d sum=%g", strings.Join(ls, ","), h.GetSampleCount(), h.GetSampleSum())
	}
	return fmt.Sprintf("%s %g", strings.Join(ls, ","), v)
}

func res(rtype, state string) boskos.Resource { return boskos.Resource{Type: rtype, State: state} }

func TestCountByTypeAndState(t *testing.T) {
	zeros := func(rtype string, set map[string]int) []metrics.Sample {
		var out []metrics.Sample
		for _, s := range boskos.KnownStates {
			out = append(out, metrics.Sample{Type: rtype, State: s, Count: set[s]})
		}
		if n, ok := set[boskos.Other]; ok {
			out = append(out, metrics.Sample{Type: rtype, State: boskos.Other, Count: n})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].State < out[j].State })
		return out
	}
	cases := []struct {
		name string
		in   []boskos.Resource
		want []metrics.Sample
	}{
		{name: "no resources, no samples", in: nil, want: []metrics.Sample{}},
		{
			name: "known states get zero defaults",
			in:   []boskos.Resource{res("t", boskos.Free), res("t", boskos.Free), res("t", boskos.Busy)},
			want: zeros("t", map[string]int{boskos.Free: 2, boskos.Busy: 1}),
		},
		{
			name: "unknown states bucket into other",
			in:   []boskos.Resource{res("t", "weird"), res("t", "odd"), res("t", boskos.Dirty)},
			want: zeros("t", map[string]int{boskos.Dirty: 1, boskos.Other: 2}),
		},
		{
			name: "types sorted, each complete",
			in:   []boskos.Resource{res("b", boskos.Leased), res("a", boskos.Tombstone)},
			want: append(zeros("a", map[string]int{boskos.Tombstone: 1}), zeros("b", map[string]int{boskos.Leased: 1})...),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, metrics.CountByTypeAndState(tc.in))
		})
	}
}

func TestResourcesCollector(t *testing.T) {
	l := &lister{res: []boskos.Resource{res("t", boskos.Free), res("t", "custom")}}
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, metrics.RegisterResources(reg, l, nil))

	got := series(t, reg, metrics.ResourcesName)
	assert.Equal(t, []string{
		"state=busy,type=t 0", "state=cleaning,type=t 0", "state=dirty,type=t 0", "state=free,type=t 1",
		"state=leased,type=t 0", "state=other,type=t 1", "state=quarantined,type=t 0", "state=toBeDeleted,type=t 0", "state=tombstone,type=t 0",
	}, sortedLabels(got))

	// Computed at scrape time: a change shows at the next gather.
	l.res = append(l.res, res("t", boskos.Free))
	assert.Contains(t, sortedLabels(series(t, reg, metrics.ResourcesName)), "state=free,type=t 2")

	// A failed listing is a gather error, not a panic or stale data.
	l.err = errors.New("store down")
	_, err := reg.Gather()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "store down")
}

// TestOwnerAndQuotaGauges: the collector reports the holdings per owner
// from the same listing as boskos_resources, and each quota's max and use.
func TestOwnerAndQuotaGauges(t *testing.T) {
	held := func(name, rtype, owner string) boskos.Resource {
		return boskos.Resource{Name: name, Type: rtype, State: boskos.Busy, Owner: owner}
	}
	l := &lister{
		res: []boskos.Resource{res("t", boskos.Free), held("a", "t", "ci-a"), held("b", "t", "ci-a"), held("c", "u", "ci-b")},
		quotas: []boskos.QuotaUsage{
			{Quota: boskos.Quota{Owner: "ci-*", Type: "t", Max: 3}, Used: 2},
			{Quota: boskos.Quota{Owner: "ci-b", Type: "u", Max: 1}, Used: 1},
		},
	}
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, metrics.RegisterResources(reg, l, nil))
	tests := []struct {
		name string
		want []string
	}{
		{"boskos_owner_resources", []string{"owner=ci-a,type=t 2", "owner=ci-b,type=u 1"}},
		{"boskos_quota_max", []string{"owner=ci-*,type=t 3", "owner=ci-b,type=u 1"}},
		{"boskos_quota_used", []string{"owner=ci-*,type=t 2", "owner=ci-b,type=u 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, sortedLabels(series(t, reg, tc.name)))
		})
	}

	// A failed quota listing is a gather error too.
	l.qerr = errors.New("quotas down")
	_, err := reg.Gather()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "quotas down")
}

func TestAcquireObserver(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	obs, err := metrics.AcquireObserver(reg)
	require.NoError(t, err)
	obs("t", "free", "busy", true, 2*time.Second)
	obs("t", "free", "busy", true, 3*time.Second)
	obs("t", "free", "busy", false, time.Second)

	// A second observer on the same registry feeds the same histogram.
	obs2, err := metrics.AcquireObserver(reg)
	require.NoError(t, err)
	obs2("t", "free", "busy", false, time.Second)

	assert.Equal(t, []string{
		"dest=busy,has_request_id=false,state=free,type=t count=2 sum=2",
		"dest=busy,has_request_id=true,state=free,type=t count=2 sum=5",
	}, sortedLabels(series(t, reg, metrics.AcquireDurationName)))

	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == metrics.AcquireDurationName {
			var bounds []float64
			for _, b := range mf.GetMetric()[0].GetHistogram().GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
			}
			assert.Equal(t, []float64{1, 10, 100, 500, 1000, 1500, 2000}, bounds)
		}
	}
}

// sortedLabels sorts the labels inside each line (dto orders them by name
// already; this keeps the expectation independent of that).
func sortedLabels(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		lbl, rest, _ := strings.Cut(l, " ")
		parts := strings.Split(lbl, ",")
		sort.Strings(parts)
		out[i] = strings.Join(parts, ",") + " " + rest
	}
	sort.Strings(out)
	return out
}

func TestAcquireObserverNameClash(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: metrics.AcquireDurationName, Help: "x"}))
	_, err := metrics.AcquireObserver(reg)
	require.Error(t, err)
}

func TestHTTPObserve(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.NewHTTP(reg)
	require.NoError(t, err)
	m.Observe("/acquire", "POST", 200, time.Second)
	m.Observe("/acquire/", "POST", 200, time.Second)
	m.Observe("/random/thing", "BREW", 200, time.Second)
	m.Observe("/metric", "GET", 404, time.Second)

	assert.Equal(t, []string{
		"method=GET,path=/metric,status=404 count=1 sum=1",
		"method=POST,path=/acquire,status=200 count=1 sum=1",
		"method=POST,path=unmatched,status=200 count=1 sum=1",
		"method=other,path=unmatched,status=200 count=1 sum=1",
	}, sortedLabels(series(t, reg, metrics.HTTPDurationName)))
}

func TestSimplifyPath(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"acquire", "/acquire", "/acquire"},
		{"acquirebystate", "/acquirebystate", "/acquirebystate"},
		{"release", "/release", "/release"},
		{"reset", "/reset", "/reset"},
		{"update", "/update", "/update"},
		{"metric", "/metric", "/metric"},
		{"trailing slash", "/metric/", metrics.Unmatched},
		{"metrics", "/metrics", metrics.Unmatched},
		{"root", "/", metrics.Unmatched},
		{"empty", "", metrics.Unmatched},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, metrics.SimplifyPath(tc.in))
		})
	}
}

func TestHTTPBuckets(t *testing.T) {
	b := metrics.HTTPBuckets
	require.Len(t, b, 20)
	assert.Equal(t, 0.005, b[0])
	assert.Equal(t, 1.0/128, b[1])
	assert.Equal(t, 1.0, b[8])
	assert.Equal(t, 1024.0, b[18])
	assert.Equal(t, 1200.0, b[19])
}
