package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// historyServer is a server over a ranch on a memstore with its history
// hook, with a few transitions of h-1 (acquire by o, userdata, release)
// and h-2 (created).
func historyServer(t *testing.T) (*httptest.Server, *testkit.Clock) {
	t.Helper()
	ctx := t.Context()
	c := testkit.NewClock()
	st := memstore.NewWithOptions(memstore.Options{OnWrite: ranch.HistoryHook(ranch.HistoryOptions{Now: c.Now})})
	r := ranch.New(st, ranch.Options{Now: c.Now, Logger: testkit.Quiet()})
	cost := 0.5
	_, err := r.Sync(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "h", Names: []string{"h-1", "h-2"}, CostPerHour: &cost}}}, ranch.Origin{})
	require.NoError(t, err)
	c.Add(time.Minute)
	res, err := r.Acquire(ctx, "h", boskos.Free, boskos.Busy, "o", "rid-7")
	require.NoError(t, err)
	require.Equal(t, "h-1", res.Name)
	c.Add(time.Minute)
	require.NoError(t, r.Update(ctx, "h-1", "o", boskos.Busy, boskos.UserData{"token": "secret"}, nil))
	c.Add(time.Hour)
	require.NoError(t, r.Release(ctx, "h-1", boskos.Dirty, "o", nil))
	srv := httptest.NewServer(httpapi.New(r, httpapi.Options{Logger: testkit.Quiet(), Now: c.Now}))
	t.Cleanup(srv.Close)
	return srv, c
}

func get(t *testing.T, srv *httptest.Server, method, target string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+target, nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// TestHistoryGolden pins the exact JSON of each endpoint (the dashboard
// and the CLI read it): regenerate with -update.
func TestHistoryGolden(t *testing.T) {
	srv, _ := historyServer(t)
	tests := []struct {
		name, target string
	}{
		{"v1-resource-history", "/v1/resources/h-1/history"},
		{"v1-resource-history-page", "/v1/resources/h-1/history?limit=2"},
		{"v1-history-owner", "/v1/history?type=h&owner=o"},
		{"v1-usage", "/v1/usage?since=2100-01-02T15:00:00Z&until=2100-01-02T17:00:00Z"},
		{"v1-history-bad-since", "/v1/history?since=yesterday"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := get(t, srv, http.MethodGet, tc.target)
			assert.Equal(t, "application/json", h.Get("Content-Type"))
			path := filepath.Join("testdata", "v1history", tc.name+".golden")
			got := http.StatusText(status) + "\n" + body
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
}

func TestHistoryEndpoints(t *testing.T) {
	srv, _ := historyServer(t)
	tests := []struct {
		name, method, target string
		status               int
		check                func(t *testing.T, body string)
	}{
		{"resource history newest first", "GET", "/v1/resources/h-1/history", 200, func(t *testing.T, body string) {
			var p boskos.HistoryPage
			require.NoError(t, json.Unmarshal([]byte(body), &p))
			var events []string
			for _, r := range p.Items {
				events = append(events, r.Event)
			}
			assert.Equal(t, []string{"release", "update", "acquire", "create"}, events)
			assert.Empty(t, p.Cursor, "no cursor on the last page")
			assert.NotContains(t, body, `"cursor"`)
			assert.NotContains(t, body, "secret", "userdata values are never recorded")
		}},
		{"pages", "GET", "/v1/resources/h-1/history?limit=3", 200, func(t *testing.T, body string) {
			var p boskos.HistoryPage
			require.NoError(t, json.Unmarshal([]byte(body), &p))
			require.Len(t, p.Items, 3)
			require.NotEmpty(t, p.Cursor)
			status, _, next := get(t, srv, "GET", "/v1/resources/h-1/history?limit=3&cursor="+p.Cursor)
			require.Equal(t, 200, status)
			var p2 boskos.HistoryPage
			require.NoError(t, json.Unmarshal([]byte(next), &p2))
			require.Len(t, p2.Items, 1)
			assert.Equal(t, "create", p2.Items[0].Event)
			assert.Empty(t, p2.Cursor)
			status, _, other := get(t, srv, "GET", "/v1/resources/h-2/history?cursor="+p.Cursor)
			assert.Equal(t, 400, status, "another resource's cursor: %s", other)
		}},
		{"unknown resource", "GET", "/v1/resources/nope/history", 200, func(t *testing.T, body string) {
			assert.Equal(t, "{\"items\":[]}\n", body)
		}},
		{"history of every type", "GET", "/v1/history", 200, func(t *testing.T, body string) {
			var p boskos.HistoryPage
			require.NoError(t, json.Unmarshal([]byte(body), &p))
			assert.Len(t, p.Items, 5)
		}},
		{"history range", "GET", "/v1/history?type=h&since=2100-01-02T15:05:05Z&until=2100-01-02T15:06:05Z", 200, func(t *testing.T, body string) {
			var p boskos.HistoryPage
			require.NoError(t, json.Unmarshal([]byte(body), &p))
			require.Len(t, p.Items, 2)
			assert.Equal(t, "update", p.Items[0].Event)
			assert.Equal(t, "acquire", p.Items[1].Event)
		}},
		{"usage", "GET", "/v1/usage?since=2100-01-02T15:00:00Z&until=2100-01-02T17:00:00Z", 200, func(t *testing.T, body string) {
			var u boskos.UsageReport
			require.NoError(t, json.Unmarshal([]byte(body), &u))
			require.Len(t, u.Items, 1)
			assert.Equal(t, "o", u.Items[0].Owner)
			assert.InDelta(t, 61.0/60, u.Items[0].ResourceHours, 1e-6)
			require.NotNil(t, u.Items[0].Cost)
			assert.InDelta(t, 61.0/120, *u.Items[0].Cost, 1e-6)
		}},
	}
	bad := []struct{ name, target, param string }{
		{"limit zero", "/v1/resources/h-1/history?limit=0", "invalid limit"},
		{"limit too big", "/v1/history?limit=1001", "invalid limit"},
		{"limit not a number", "/v1/usage?limit=ten", "invalid limit"},
		{"unknown parameter", "/v1/history?ownr=o", `invalid parameter \"ownr\"`},
		{"owner on usage", "/v1/usage?owner=o", `invalid parameter \"owner\"`},
		{"repeated", "/v1/history?type=h&type=i", "invalid type: given 2 times"},
		{"since", "/v1/history?since=yesterday", "invalid since"},
		{"until", "/v1/usage?until=2100-13-01T00:00:00Z", "invalid until"},
		{"since after until", "/v1/history?since=2100-01-03T00:00:00Z&until=2100-01-02T00:00:00Z", "invalid since: after until"},
		{"cursor", "/v1/history?cursor=nonsense", "invalid cursor"},
		{"usage cursor", "/v1/usage?cursor=" + "aDpz", "invalid cursor"},
		{"type", "/v1/history?type=%01", "invalid type"},
		{"owner", "/v1/history?owner=%01", "invalid owner"},
	}
	for _, b := range bad {
		tests = append(tests, struct {
			name, method, target string
			status               int
			check                func(t *testing.T, body string)
		}{"bad " + b.name, "GET", b.target, 400, func(t *testing.T, body string) {
			assert.True(t, strings.HasPrefix(body, `{"error":"`+b.param), "body %s, want it to name %s", body, b.param)
		}})
	}
	for _, m := range []string{"POST", "DELETE", "HEAD"} {
		tests = append(tests, struct {
			name, method, target string
			status               int
			check                func(t *testing.T, body string)
		}{"method " + m, m, "/v1/history", 405, nil})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := get(t, srv, tc.method, tc.target)
			assert.Equal(t, tc.status, status, "body %s", body)
			assert.Equal(t, "application/json", h.Get("Content-Type"))
			if tc.status == 405 {
				assert.Equal(t, "GET", h.Get("Allow"))
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}

func TestIsHistoryPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/v1/history": true, "/v1/usage": true, "/v1/resources/a/history": true,
		"/v1/resources//history": false, "/v1/resources/a/b/history": false, "/v1/resources": false, "/acquire": false,
	} {
		assert.Equal(t, want, httpapi.IsHistoryPath(p), p)
	}
}
