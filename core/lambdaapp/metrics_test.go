package lambdaapp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// emfLines parses the EMF lines of out: metric name -> the values emitted,
// with each line's type ("" without one) and function.
type emfValue struct {
	Type, Function string
	Value          float64
}

func emfLines(t *testing.T, out []byte) map[string][]emfValue {
	t.Helper()
	got := map[string][]emfValue{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace string `json:"Namespace"`
					Metrics   []struct {
						Name string `json:"Name"`
					} `json:"Metrics"`
				} `json:"CloudWatchMetrics"`
			} `json:"_aws"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "got %q, want an EMF line", sc.Text())
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		require.Len(t, l.AWS.CloudWatchMetrics, 1)
		require.Equal(t, emf.Namespace, l.AWS.CloudWatchMetrics[0].Namespace)
		typ, _ := m[emf.DimType].(string)
		for _, d := range l.AWS.CloudWatchMetrics[0].Metrics {
			got[d.Name] = append(got[d.Name], emfValue{Type: typ, Function: m[emf.DimFunction].(string), Value: m[d.Name].(float64)})
		}
	}
	return got
}

// TestHandlerEmitsEMF: an API function's handler emits Acquires and
// AcquireLatency for each successful acquire (none for a refused one) as
// EMF lines on MetricsOut, with its function name as dimension.
func TestHandlerEmitsEMF(t *testing.T) {
	var out testkit.SyncBuffer
	h := seededHandler(t, func(c *Config) { c.Function, c.MetricsOut = "boskos-test-acquire", &out })
	for _, want := range []int{http.StatusOK, http.StatusNotFound} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/acquire?type=solo&state=free&dest=busy&owner=o", nil))
		require.Equal(t, want, rec.Code, "body %q", rec.Body.String())
	}
	got := emfLines(t, []byte(out.String()))
	assert.Equal(t, []emfValue{{Type: "solo", Function: "boskos-test-acquire", Value: 1}}, got[emf.Acquires])
	assert.Equal(t, []emfValue{{Type: "solo", Function: "boskos-test-acquire", Value: 0}}, got[emf.AcquireLatency])
}

// TestConflictsCounted: failed conditional writes through the wrapped store
// (a stale version, a create of an existing key, in a transaction too) are
// counted and emitted once per flush; successful writes and other errors
// are not.
func TestConflictsCounted(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	c := &conflicts{em: emf.New(&out, emf.Options{Function: "f"})}
	st := c.wrap(memstore.New())
	it, err := st.Create(ctx, store.Item{Key: "resource/a", Str: map[string]string{"x": "1"}})
	require.NoError(t, err)
	_, err = st.Create(ctx, store.Item{Key: "resource/a", Str: map[string]string{"x": "1"}})
	require.ErrorIs(t, err, store.ErrExists)
	_, err = st.Update(ctx, store.Update{Key: "resource/a", Set: map[string]string{"x": "2"}, Cond: []store.Cond{store.VersionIs(it.Version + 1)}})
	require.ErrorIs(t, err, store.ErrConflict)
	require.ErrorIs(t, st.Delete(ctx, "resource/a", store.VersionIs(it.Version+1)), store.ErrConflict)
	require.ErrorIs(t, st.Delete(ctx, "resource/nope"), store.ErrNotFound)
	c.flush()
	c.flush() // nothing new: no line
	assert.Equal(t, map[string][]emfValue{emf.Conflicts: {{Function: "f", Value: 3}}}, emfLines(t, out.Bytes()))
}

func TestJanitorResult(t *testing.T) {
	tests := []struct {
		name   string
		status janitor.Status
		want   string
	}{
		{name: "cleaned", status: janitor.StatusCleaned, want: emf.JanitorCleaned},
		{name: "failed", status: janitor.StatusFailed, want: emf.JanitorFailed},
		{name: "quarantined is a failure", status: janitor.StatusQuarantined, want: emf.JanitorFailed},
		{name: "dispatched counts nothing yet", status: janitor.StatusDispatched},
		{name: "lost counts nothing", status: janitor.StatusLost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			janitorResult(emf.New(&out, emf.Options{Function: "j"}))(janitor.Result{Type: "t", Status: tc.status, Err: errors.New("x")})
			got := emfLines(t, out.Bytes())
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, map[string][]emfValue{tc.want: {{Type: "t", Function: "j", Value: 1}}}, got)
		})
	}
}

func TestFunctionName(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "deployed name", env: map[string]string{EnvFunctionName: "boskos-dev-acquire"}, want: "boskos-dev-acquire"},
		{name: "outside Lambda", env: map[string]string{}, want: "acquire"},
		{name: "blank", env: map[string]string{EnvFunctionName: " "}, want: "acquire"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := functionName("acquire", func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			assert.Equal(t, tc.want, got)
		})
	}
}
