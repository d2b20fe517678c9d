package emf_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/metrics/emf"
)

var t0 = time.Date(2100, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

// line is one EMF line as CloudWatch reads it.
type line struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	Members map[string]any `json:"-"`
}

// parse reads every line of out, checking each is one JSON object with the
// envelope, and each declared metric and dimension has a top-level member.
func parse(t *testing.T, out []byte) []line {
	t.Helper()
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l line
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "got %q, want a JSON object", sc.Text())
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l.Members))
		require.Len(t, l.AWS.CloudWatchMetrics, 1, "one directive")
		d := l.AWS.CloudWatchMetrics[0]
		for _, set := range d.Dimensions {
			for _, k := range set {
				assert.IsType(t, "", l.Members[k], "dimension %s is a string member", k)
			}
		}
		for _, m := range d.Metrics {
			assert.IsType(t, 0.0, l.Members[m.Name], "metric %s is a number member", m.Name)
		}
		lines = append(lines, l)
	}
	return lines
}

func TestHooks(t *testing.T) {
	both := [][]string{{emf.DimFunction, emf.DimType}, {emf.DimFunction}}
	tests := []struct {
		name   string
		emit   func(e *emf.Emitter)
		lines  int
		dims   [][]string
		typ    string
		step   string
		values map[string]float64
		units  map[string]string
	}{
		{name: "acquire", emit: func(e *emf.Emitter) { e.OnAcquire("gce-project", "free", "busy", true, 1500*time.Microsecond) },
			lines: 1, dims: both, typ: "gce-project",
			values: map[string]float64{emf.Acquires: 1, emf.AcquireLatency: 1.5},
			units:  map[string]string{emf.Acquires: "Count", emf.AcquireLatency: "Milliseconds"}},
		{name: "reaped", emit: func(e *emf.Emitter) { e.OnReaped("t", 3) },
			lines: 1, dims: both, typ: "t", values: map[string]float64{emf.Reaped: 3}, units: map[string]string{emf.Reaped: "Count"}},
		{name: "quarantined", emit: func(e *emf.Emitter) { e.OnQuarantined("t", 2) },
			lines: 1, dims: both, typ: "t", values: map[string]float64{emf.Quarantined: 2}, units: map[string]string{emf.Quarantined: "Count"}},
		{name: "quarantined none is a zero, not nothing", emit: func(e *emf.Emitter) { e.OnQuarantined("t", 0) },
			lines: 1, dims: both, typ: "t", values: map[string]float64{emf.Quarantined: 0}, units: map[string]string{emf.Quarantined: "Count"}},
		{name: "cleaned", emit: func(e *emf.Emitter) { e.OnCleanup("t", true) },
			lines: 1, dims: both, typ: "t", values: map[string]float64{emf.JanitorCleaned: 1}, units: map[string]string{emf.JanitorCleaned: "Count"}},
		{name: "failed cleanup", emit: func(e *emf.Emitter) { e.OnCleanup("t", false) },
			lines: 1, dims: both, typ: "t", values: map[string]float64{emf.JanitorFailed: 1}, units: map[string]string{emf.JanitorFailed: "Count"}},
		{name: "conflicts have no type", emit: func(e *emf.Emitter) { e.OnConflicts(4) },
			lines: 1, dims: [][]string{{emf.DimFunction}}, values: map[string]float64{emf.Conflicts: 4}, units: map[string]string{emf.Conflicts: "Count"}},
		{name: "mason constructed", emit: func(e *emf.Emitter) { e.OnMasonConstructed("cluster") },
			lines: 1, dims: both, typ: "cluster", values: map[string]float64{emf.MasonConstructed: 1}, units: map[string]string{emf.MasonConstructed: "Count"}},
		{name: "mason failure by type and step", emit: func(e *emf.Emitter) { e.OnMasonFailed("cluster", "construct") },
			lines: 1, dims: [][]string{{emf.DimFunction, emf.DimType, emf.DimStep}, {emf.DimFunction}}, typ: "cluster", step: "construct",
			values: map[string]float64{emf.MasonFailures: 1}, units: map[string]string{emf.MasonFailures: "Count"}},
		{name: "no conflicts write nothing", emit: func(e *emf.Emitter) { e.OnConflicts(0) }},
		{name: "a failed credentials refresh", emit: func(e *emf.Emitter) { e.OnCredentialsRefresh(errors.New("access denied")) },
			lines: 1, dims: [][]string{{emf.DimFunction}}, values: map[string]float64{emf.CredentialsRefreshFailures: 1}, units: map[string]string{emf.CredentialsRefreshFailures: "Count"}},
		{name: "a good credentials refresh writes nothing", emit: func(e *emf.Emitter) { e.OnCredentialsRefresh(nil) }},
		{name: "no values write nothing", emit: func(e *emf.Emitter) { require.NoError(t, e.Emit("t")) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.emit(emf.New(&buf, emf.Options{Function: "boskos-dev-acquire", Now: func() time.Time { return t0 }}))
			lines := parse(t, buf.Bytes())
			require.Len(t, lines, tc.lines, "got output %q", buf.String())
			if tc.lines == 0 {
				return
			}
			l := lines[0]
			assert.Equal(t, t0.UnixMilli(), l.AWS.Timestamp)
			d := l.AWS.CloudWatchMetrics[0]
			assert.Equal(t, emf.Namespace, d.Namespace)
			assert.Equal(t, tc.dims, d.Dimensions)
			assert.Equal(t, "boskos-dev-acquire", l.Members[emf.DimFunction])
			if tc.typ != "" {
				assert.Equal(t, tc.typ, l.Members[emf.DimType])
			} else {
				assert.NotContains(t, l.Members, emf.DimType)
			}
			if tc.step != "" {
				assert.Equal(t, tc.step, l.Members[emf.DimStep])
			} else {
				assert.NotContains(t, l.Members, emf.DimStep)
			}
			units := map[string]string{}
			for _, m := range d.Metrics {
				units[m.Name] = m.Unit
			}
			assert.Equal(t, tc.units, units)
			for name, want := range tc.values {
				assert.Equal(t, want, l.Members[name], "got %s %v, want %v", name, l.Members[name], want)
			}
		})
	}
}

func TestEmitNamespaceAndDuplicates(t *testing.T) {
	var buf bytes.Buffer
	e := emf.New(&buf, emf.Options{Namespace: "Other", Function: "f"})
	require.NoError(t, e.Emit("t", emf.Value{Name: "A", Unit: emf.Count, Value: 1}, emf.Value{Name: "A", Unit: emf.Count, Value: 2},
		emf.Value{Name: emf.DimType, Unit: emf.Count, Value: 3}))
	l := parse(t, buf.Bytes())
	require.Len(t, l, 1)
	d := l[0].AWS.CloudWatchMetrics[0]
	assert.Equal(t, "Other", d.Namespace)
	require.Len(t, d.Metrics, 1, "a name once per line, never a dimension's")
	assert.Equal(t, 1.0, l[0].Members["A"])
	assert.Equal(t, "t", l[0].Members[emf.DimType])
}

// TestEmitDims: the dimensions given, in order, besides the function's;
// one named like the function's or an earlier one is dropped.
func TestEmitDims(t *testing.T) {
	var buf bytes.Buffer
	e := emf.New(&buf, emf.Options{Function: "f"})
	require.NoError(t, e.EmitDims([]emf.Dim{{"a", "1"}, {emf.DimFunction, "g"}, {"b", "2"}, {"a", "3"}}, emf.Value{Name: "M", Unit: emf.Count, Value: 1}))
	l := parse(t, buf.Bytes())
	require.Len(t, l, 1)
	assert.Equal(t, [][]string{{emf.DimFunction, "a", "b"}, {emf.DimFunction}}, l[0].AWS.CloudWatchMetrics[0].Dimensions)
	assert.Equal(t, "f", l[0].Members[emf.DimFunction])
	assert.Equal(t, "1", l[0].Members["a"])
	assert.Equal(t, "2", l[0].Members["b"])
}

// TestConcurrentLinesStayWhole: lines written at once never interleave.
func TestConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	e := emf.New(&buf, emf.Options{Function: "f"})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			for range 50 {
				e.OnReaped("type-"+string(rune('a'+i)), 1)
			}
		})
	}
	wg.Wait()
	assert.Len(t, parse(t, buf.Bytes()), 1000)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestEmitReturnsWriteError(t *testing.T) {
	e := emf.New(failWriter{}, emf.Options{Function: "f"})
	require.EqualError(t, e.Emit("t", emf.Value{Name: emf.Reaped, Unit: emf.Count, Value: 1}), "closed")
	e.OnReaped("t", 1) // hooks drop the error: metrics never fail a request
}
