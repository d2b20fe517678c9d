package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// TestMain stops the DynamoDB Local that the read API tests may start.
func TestMain(m *testing.M) { dynamotest.Main(m) }

// The real ranch serves the read API too.
var _ httpapi.ReadService = (*ranch.Ranch)(nil)

// TestQuarantineReasonKey: the read API shows the janitor's reason under
// the key the janitor writes.
func TestQuarantineReasonKey(t *testing.T) {
	assert.Equal(t, janitor.KeyReason, boskos.QuarantineReasonKey)
}

// v1World is a ranch on one backend behind the real handler and server.
type v1World struct {
	t       *testing.T
	ctx     context.Context
	clock   *testkit.Clock
	ranch   *ranch.Ranch
	srv     *httptest.Server
	queries *dynamotest.Counter // DynamoDB requests (dynamostore only)
}

// v1Backends are testkit.Backends, the DynamoDB one with a request counter.
func v1Backends() []struct {
	name string
	open func(t *testing.T) (store.Store, *dynamotest.Counter)
} {
	var out []struct {
		name string
		open func(t *testing.T) (store.Store, *dynamotest.Counter)
	}
	for _, b := range testkit.Backends {
		b := b
		open := func(t *testing.T) (store.Store, *dynamotest.Counter) { return b.Open(t), nil }
		if b.Name == "dynamostore" {
			open = func(t *testing.T) (store.Store, *dynamotest.Counter) {
				var n dynamotest.Counter
				return dynamotest.NewStore(t, dynamostore.Options{}, n.Option), &n
			}
		}
		out = append(out, struct {
			name string
			open func(t *testing.T) (store.Store, *dynamotest.Counter)
		}{b.Name, open})
	}
	return out
}

func newV1World(t *testing.T, open func(t *testing.T) (store.Store, *dynamotest.Counter), cfg string) *v1World {
	t.Helper()
	s, n := open(t)
	w := &v1World{t: t, ctx: context.Background(), clock: testkit.NewClock(), queries: n}
	w.ranch = ranch.New(s, ranch.Options{Now: w.clock.Now, Logger: testkit.Quiet(), DRLCCacheTTL: -1})
	c, err := boskos.ParseValidConfig([]byte(cfg))
	require.NoError(t, err)
	require.NoError(t, w.ranch.SyncConfig(w.ctx, c))
	w.srv = httptest.NewServer(httpapi.New(w.ranch, httpapi.Options{Logger: testkit.Quiet(), Now: w.clock.Now}))
	t.Cleanup(w.srv.Close)
	return w
}

// get sends GET target and returns the status, the raw body and the
// decoded JSON object.
func (w *v1World) get(target string) (int, string, map[string]any) {
	w.t.Helper()
	return w.send(http.MethodGet, target)
}

func (w *v1World) send(method, target string) (int, string, map[string]any) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+target, nil)
	require.NoError(w.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(w.t, err)
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && len(b) > 0 {
		require.NoError(w.t, json.Unmarshal(b, &m), "%s %s: body %q", method, target, b)
	}
	return resp.StatusCode, string(b), m
}

// resources follows every cursor of GET /v1/resources?query (with limit)
// and returns the names in order, checking each page's shape.
func (w *v1World) resources(query string, limit int) []string {
	w.t.Helper()
	names := []string{}
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(w.t, pages, 1000, "too many pages")
		q, err := url.ParseQuery(query)
		require.NoError(w.t, err)
		if limit > 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		status, raw, _ := w.get("/v1/resources?" + q.Encode())
		require.Equal(w.t, http.StatusOK, status, raw)
		var page boskos.Page[boskos.ResourceInfo]
		require.NoError(w.t, json.Unmarshal([]byte(raw), &page))
		require.NotNil(w.t, page.Items, "items is never null: %s", raw)
		if limit > 0 {
			require.LessOrEqual(w.t, len(page.Items), limit)
		}
		for _, r := range page.Items {
			names = append(names, r.Name)
		}
		if page.Cursor == "" {
			assert.NotContains(w.t, raw, `"cursor"`, "no cursor on the last page")
			return names
		}
		cursor = page.Cursor
	}
}

const v1Config = `resources:
- type: a
  state: free
  names: [a-1, a-2, a-3, a-4, a-5, a-6]
- type: b
  state: dirty
  names: [b-1, b-2, b-3]
`

// seedV1 leases a-1, a-2 to alice and a-3 to bob (a second apart), and
// quarantines b-1 with a reason, as the janitor leaves it; request_ids r1
// and r2 wait for an a in state cleaning.
func (w *v1World) seedV1() {
	w.t.Helper()
	for _, owner := range []string{"alice", "alice", "bob"} {
		w.clock.Add(time.Second)
		_, err := w.ranch.Acquire(w.ctx, "a", "free", "busy", owner, "")
		require.NoError(w.t, err)
	}
	w.clock.Add(time.Second)
	got, err := w.ranch.Acquire(w.ctx, "b", "dirty", "cleaning", "janitor", "")
	require.NoError(w.t, err)
	require.Equal(w.t, "b-1", got.Name)
	require.NoError(w.t, w.ranch.Update(w.ctx, "b-1", "janitor", "cleaning", boskos.UserData{boskos.QuarantineReasonKey: "cleanup failed 3 times: exit status 1", "token": "s3cret"}, nil))
	require.NoError(w.t, w.ranch.Release(w.ctx, "b-1", boskos.Quarantined, "janitor", nil))
	for _, id := range []string{"r1", "r2"} {
		w.clock.Add(time.Second)
		_, err := w.ranch.Acquire(w.ctx, "a", "cleaning", "busy", "carol", id)
		require.Equal(w.t, boskos.ENotFound, boskos.ErrorCode(err), "%v", err)
	}
}

// TestV1 is the read API's table test on every backend: filters,
// pagination with cursors round trip at several page sizes, bad requests.
func TestV1(t *testing.T) {
	for _, b := range v1Backends() {
		t.Run(b.name, func(t *testing.T) {
			w := newV1World(t, b.open, v1Config)
			w.seedV1()
			t.Run("resources", func(t *testing.T) { v1Resources(t, w) })
			t.Run("fields", func(t *testing.T) { v1Fields(t, w) })
			t.Run("queue", func(t *testing.T) { v1Queue(t, w) })
			t.Run("types", func(t *testing.T) { v1Types(t, w) })
			t.Run("bad requests", func(t *testing.T) { v1BadRequests(t, w) })
		})
	}
}

func v1Resources(t *testing.T, w *v1World) {
	all := []string{"a-1", "a-2", "a-3", "a-4", "a-5", "a-6", "b-2", "b-3", "b-1"}
	tests := []struct {
		name, query string
		want        []string
	}{
		{"everything: by type, state, unowned first, least recently updated", "", all},
		{"type", "type=a", all[:6]},
		{"state", "state=busy", []string{"a-1", "a-2", "a-3"}},
		{"state across types", "state=dirty", []string{"b-2", "b-3"}},
		{"owner", "owner=alice", []string{"a-1", "a-2"}},
		{"state and owner", "state=busy&owner=bob", []string{"a-3"}},
		{"type, state and owner", "type=a&state=busy&owner=alice", []string{"a-1", "a-2"}},
		{"quarantined", "type=b&state=quarantined", []string{"b-1"}},
		{"unknown type", "type=nope", []string{}},
		{"unknown owner", "owner=nobody", []string{}},
		{"empty filters are no filters", "type=&state=&owner=", all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, w.resources(tc.query, 0), "default page")
			for _, limit := range []int{1, 2, 4, 1000} {
				assert.Equal(t, tc.want, w.resources(tc.query, limit), "pages of %d", limit)
			}
		})
	}
}

func v1Fields(t *testing.T, w *v1World) {
	status, raw, _ := w.get("/v1/resources?type=b&state=quarantined")
	require.Equal(t, http.StatusOK, status, raw)
	var page boskos.Page[boskos.ResourceInfo]
	require.NoError(t, json.Unmarshal([]byte(raw), &page))
	require.Len(t, page.Items, 1)
	q := page.Items[0]
	assert.Equal(t, "cleanup failed 3 times: exit status 1", q.QuarantineReason)
	assert.Equal(t, []string{boskos.QuarantineReasonKey, "token"}, q.UserDataKeys)
	assert.NotContains(t, raw, "s3cret", "user data values are not listed")
	assert.Equal(t, "", q.Owner)
	assert.Nil(t, q.HeldSeconds)

	_, raw, _ = w.get("/v1/resources?owner=bob")
	page = boskos.Page[boskos.ResourceInfo]{}
	require.NoError(t, json.Unmarshal([]byte(raw), &page))
	require.Len(t, page.Items, 1)
	a3 := page.Items[0]
	acquired := testkit.T0.Add(3 * time.Second)
	assert.Equal(t, boskos.ResourceInfo{
		Name: "a-3", Type: "a", State: "busy", Owner: "bob", Epoch: 1,
		LastUpdate: acquired, IdleSeconds: 3, AcquiredAt: &acquired, HeldSeconds: ptrInt64(3),
		UserDataKeys: []string{},
	}, a3)
}

func ptrInt64(n int64) *int64 { return &n }

func v1Queue(t *testing.T, w *v1World) {
	type entry struct {
		Type, State, RequestID string
		Rank                   int
		Age                    int64
	}
	list := func(query string, limit int) []entry {
		t.Helper()
		out := []entry{}
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			q, _ := url.ParseQuery(query)
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			status, raw, _ := w.get("/v1/queue?" + q.Encode())
			require.Equal(t, http.StatusOK, status, raw)
			var page boskos.Page[boskos.QueueEntry]
			require.NoError(t, json.Unmarshal([]byte(raw), &page))
			for _, e := range page.Items {
				out = append(out, entry{e.Type, e.State, e.RequestID, e.Rank, e.AgeSeconds})
			}
			if page.Cursor == "" {
				return out
			}
			cursor = page.Cursor
		}
		t.Fatal("too many pages")
		return nil
	}
	want := []entry{{"a", "cleaning", "r1", 1, 1}, {"a", "cleaning", "r2", 2, 0}}
	for _, limit := range []int{0, 1, 2} {
		assert.Equal(t, want, list("", limit), "limit %d", limit)
		assert.Equal(t, want, list("type=a&state=cleaning", limit), "limit %d", limit)
	}
	assert.Equal(t, []entry{}, list("type=a&state=free", 0))
	assert.Equal(t, []entry{}, list("type=b", 0))
}

func v1Types(t *testing.T, w *v1World) {
	want := []boskos.TypeSummary{
		{Type: "a", Total: 6, States: map[string]int{"busy": 3, "free": 3}, Owners: map[string]int{"alice": 2, "bob": 1}},
		{Type: "b", Total: 3, States: map[string]int{"dirty": 2, "quarantined": 1}, Owners: map[string]int{}},
	}
	for _, limit := range []int{0, 1, 2} {
		var got []boskos.TypeSummary
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			target := "/v1/types?cursor=" + url.QueryEscape(cursor)
			if limit > 0 {
				target += "&limit=" + strconv.Itoa(limit)
			}
			status, raw, _ := w.get(target)
			require.Equal(t, http.StatusOK, status, raw)
			var page boskos.Page[boskos.TypeSummary]
			require.NoError(t, json.Unmarshal([]byte(raw), &page))
			got = append(got, page.Items...)
			if page.Cursor == "" {
				break
			}
			cursor = page.Cursor
		}
		assert.Equal(t, want, got, "limit %d", limit)
	}
	// The counts are /metric's.
	for _, s := range want {
		m, err := w.ranch.Metric(w.ctx, s.Type)
		require.NoError(t, err)
		assert.Equal(t, m.Current, s.States)
	}
}

func v1BadRequests(t *testing.T, w *v1World) {
	_, raw, _ := w.get("/v1/resources?type=a&limit=2")
	var page boskos.Page[boskos.ResourceInfo]
	require.NoError(t, json.Unmarshal([]byte(raw), &page))
	aCursor := page.Cursor
	require.NotEmpty(t, aCursor)
	_, raw, _ = w.get("/v1/queue?limit=1")
	var qpage boskos.Page[boskos.QueueEntry]
	require.NoError(t, json.Unmarshal([]byte(raw), &qpage))
	require.NotEmpty(t, qpage.Cursor)

	tests := []struct {
		name, target string
		status       int
		param, msg   string
	}{
		{"limit zero", "/v1/resources?limit=0", 400, "limit", "invalid limit: must be between 1 and 1000, got 0"},
		{"limit negative", "/v1/resources?limit=-1", 400, "limit", "invalid limit: must be between 1 and 1000, got -1"},
		{"limit too large", "/v1/resources?limit=1001", 400, "limit", "invalid limit: must be between 1 and 1000, got 1001"},
		{"limit not a number", "/v1/resources?limit=ten", 400, "limit", `invalid limit: must be an integer between 1 and 1000, got "ten"`},
		{"limit twice", "/v1/resources?limit=1&limit=2", 400, "limit", "invalid limit: given 2 times, at most once allowed"},
		{"limit of the queue", "/v1/queue?limit=5000", 400, "limit", "invalid limit: must be between 1 and 1000, got 5000"},
		{"limit of the types", "/v1/types?limit=x", 400, "limit", `invalid limit: must be an integer between 1 and 1000, got "x"`},
		{"garbage cursor", "/v1/resources?cursor=bm90IGEgY3Vyc29y", 400, "cursor", "invalid cursor: not a cursor of this list (pass the cursor of the previous page unchanged)"},
		{"cursor of other filters", "/v1/resources?type=b&limit=2&cursor=" + aCursor, 400, "cursor", "invalid cursor: it belongs to a request with other filters (keep the filters of the first page)"},
		{"cursor of another list", "/v1/resources?cursor=" + qpage.Cursor, 400, "cursor", "invalid cursor: not a cursor of this list (pass the cursor of the previous page unchanged)"},
		{"cursor of the resources to the queue", "/v1/queue?cursor=" + aCursor, 400, "cursor", "invalid cursor: not a cursor of this list (pass the cursor of the previous page unchanged)"},
		{"unknown parameter", "/v1/resources?typ=a", 400, "typ", "invalid typ: unknown parameter (this endpoint takes type, state, owner, limit, cursor)"},
		{"owner is no queue filter", "/v1/queue?owner=a", 400, "owner", "invalid owner: unknown parameter (this endpoint takes type, state, limit, cursor)"},
		{"types take no filter", "/v1/types?type=a", 400, "type", "invalid type: unknown parameter (this endpoint takes limit, cursor)"},
		{"control character in type", "/v1/resources?type=a%01", 400, "type", "invalid type: must not contain control characters"},
		{"too long state", "/v1/resources?state=" + strings.Repeat("s", 254), 400, "state", "invalid state: must be no more than 253 bytes (got 254)"},
		{"bad owner", "/v1/resources?owner=%ff", 400, "owner", "invalid owner: must be valid UTF-8"},
		{"bad queue type", "/v1/queue?type=%00", 400, "type", "invalid type: must not contain control characters"},
		{"unknown path", "/v1/nope", 404, "", "/v1/nope: no such endpoint of the read API"},
		{"trailing slash", "/v1/resources/", 404, "", "/v1/resources/: no such endpoint of the read API"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, raw, body := w.get(tc.target)
			assert.Equal(t, tc.status, status, raw)
			assert.Equal(t, tc.msg, body["error"], raw)
			if tc.param == "" {
				assert.NotContains(t, body, "parameter")
			} else {
				assert.Equal(t, tc.param, body["parameter"], raw)
			}
		})
	}
	for _, path := range httpapi.V1Paths {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			status, raw, body := w.send(m, path)
			assert.Equal(t, http.StatusMethodNotAllowed, status, "%s %s: %s", m, path, raw)
			assert.Equal(t, "method "+m+" not allowed: "+path+" only accepts GET", body["error"])
		}
		status, _, _ := w.send(http.MethodHead, path)
		assert.Equal(t, http.StatusOK, status, "HEAD %s", path)
	}
}

// TestV1PastOneDynamoDBPage: a type whose resources hold more than 1 MB
// (DynamoDB's page) is listed whole in one request, and page by page, on
// every backend; on DynamoDB the one request took several Query pages.
func TestV1PastOneDynamoDBPage(t *testing.T) {
	const n = 14
	blob := strings.Repeat("x", 100<<10) // 100 KiB of user data each: 1.4 MB
	var want []string
	for i := range n {
		want = append(want, "big-"+strconv.Itoa(10+i))
	}
	cfg := "resources:\n- type: big\n  state: free\n  names: [" + strings.Join(want, ", ") + "]\n"
	for _, b := range v1Backends() {
		t.Run(b.name, func(t *testing.T) {
			w := newV1World(t, b.open, cfg)
			for range n {
				w.clock.Add(time.Second) // each lease takes the next resource
				got, err := w.ranch.Acquire(w.ctx, "big", "free", "busy", "o", "")
				require.NoError(t, err)
				require.NoError(t, w.ranch.Update(w.ctx, got.Name, "o", "busy", boskos.UserData{"blob": blob}, nil))
				require.NoError(t, w.ranch.Release(w.ctx, got.Name, "free", "o", nil))
			}
			if w.queries != nil {
				w.queries.Reset()
			}
			assert.Equal(t, want, w.resources("type=big", 1000))
			if w.queries != nil {
				assert.GreaterOrEqual(t, w.queries.Count("Query"), 2, "1.4 MB in one DynamoDB page")
			}
			assert.Equal(t, want, w.resources("", 1000))
			assert.Equal(t, want, w.resources("state=free", 5))
			assert.Equal(t, want, w.resources("", 3))
			status, raw, _ := w.get("/v1/resources?type=big&limit=1000")
			require.Equal(t, http.StatusOK, status)
			assert.Less(t, len(raw), 20000, "user data values are not listed")
		})
	}
}
