package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// req is one HTTP request of a golden case.
type req struct {
	method, target, body string
	header               map[string]string // request headers, optional
}

func post(target string) req { return req{method: "POST", target: target} }

// acquireA leases res-a to owner o, moving it to busy (epoch 1).
var acquireA = post("/acquire?type=t&state=free&dest=busy&owner=o")

// metricConfig reproduces upstream's TestMetric "multiple resources".
func metricConfig() *boskos.Config {
	return &boskos.Config{Resources: []boskos.ResourceEntry{
		{Type: "t", State: boskos.Free, Names: []string{"res-1", "res-2", "res-3", "res-5"}},
		{Type: "foo", State: boskos.Free, Names: []string{"res-4"}},
	}}
}

var metricSetup = []req{
	post("/acquire?type=t&state=free&dest=s&owner=merlin"), // res-1
	post("/acquire?type=t&state=free&dest=p&owner=pony"),   // res-2
	post("/acquire?type=t&state=free&dest=s&owner=pony"),   // res-3
	post("/acquire?type=t&state=free&dest=d&owner=merlin"), // res-5
	post("/acquire?type=foo&state=free&dest=s&owner=pony"), // res-4
}

// quotaConfig is defaultConfig with a quota of one t for the owners o*.
func quotaConfig() *boskos.Config {
	c := defaultConfig()
	one := 1
	c.Quotas = []boskos.QuotaEntry{{Owner: "o*", Type: "t", Max: &one}}
	return c
}

// formType is the Content-Type of an HTML form (and of curl -d).
var formType = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// goldenCases cover every success and error of boskos-api.md §1, plus this
// project's additions. Each runs in a fresh world (defaultConfig unless
// cfg is set) after its setup requests, which must all answer 200.
var goldenCases = []struct {
	name  string
	cfg   func() *boskos.Config
	setup []req
	req   req
	after []string // resources whose state after the request is recorded
}{
	// /acquire
	{name: "acquire-ok", req: acquireA},
	{name: "acquire-ok-request-id", req: post("/acquire?type=t&state=free&dest=busy&owner=o&request_id=r1")},
	{name: "acquire-first-value-wins", req: post("/acquire?type=t&type=nope&state=free&dest=busy&owner=o&owner=p")},
	{name: "acquire-method-get", req: req{method: "GET", target: "/acquire?type=t&state=free&dest=busy&owner=o"}},
	{name: "acquire-method-head", req: req{method: "HEAD", target: "/acquire?type=t&state=free&dest=busy&owner=o"}},
	{name: "acquire-method-put", req: req{method: "PUT", target: "/acquire"}},
	{name: "acquire-missing-all", req: post("/acquire")},
	{name: "acquire-missing-owner", req: post("/acquire?type=t&state=free&dest=busy")},
	{name: "acquire-empty-owner", req: post("/acquire?type=t&state=free&dest=busy&owner=")},
	// curl -d sends a form body with this Content-Type: still ignored.
	{name: "acquire-form-body-ignored", req: req{method: "POST", target: "/acquire", body: "type=t&state=free&dest=busy&owner=o", header: formType}},
	// Parameter names are case-sensitive (upstream reads Query().Get).
	{name: "acquire-param-name-case", req: post("/acquire?Type=t&state=free&dest=busy&owner=o")},
	{name: "acquire-type-not-found", req: post("/acquire?type=nope&state=free&dest=busy&owner=o")},
	{name: "acquire-none-free", setup: []req{acquireA, acquireA}, req: acquireA},
	// The same 404 body, and the place of the request_id in the queue.
	{name: "acquire-none-free-request-id", setup: []req{acquireA, acquireA}, req: post("/acquire?type=t&state=free&dest=busy&owner=o&request_id=r1")},
	{name: "acquire-wrong-state", req: post("/acquire?type=t&state=dirty&dest=busy&owner=o")},
	{name: "acquire-over-quota", cfg: quotaConfig, setup: []req{acquireA}, after: []string{"res-b"},
		req: post("/acquire?type=t&state=free&dest=busy&owner=o2&request_id=r1")},

	// /acquirebystate
	{name: "acquirebystate-ok", req: post("/acquirebystate?state=free&dest=busy&owner=o&names=res-b,res-a")},
	{name: "acquirebystate-ok-duplicate-names", req: post("/acquirebystate?state=free&dest=busy&owner=o&names=res-b,res-b")},
	{name: "acquirebystate-method-get", req: req{method: "GET", target: "/acquirebystate?state=free&dest=busy&owner=o&names=res-a"}},
	{name: "acquirebystate-method-head", req: req{method: "HEAD", target: "/acquirebystate"}},
	{name: "acquirebystate-nonames", req: post("/acquirebystate?state=state1&dest=newState&owner=owner")},
	{name: "acquirebystate-missing-all", req: post("/acquirebystate")},
	{name: "acquirebystate-unknown-name", req: post("/acquirebystate?state=free&dest=busy&owner=o&names=res-a,nope")},
	{name: "acquirebystate-wrong-state", req: post("/acquirebystate?state=dirty&dest=busy&owner=o&names=res-a")},
	{name: "acquirebystate-already-owned", setup: []req{acquireA}, req: post("/acquirebystate?state=busy&dest=x&owner=p&names=res-a")},
	{name: "acquirebystate-empty-element", req: post("/acquirebystate?state=free&dest=busy&owner=o&names=res-a,")},
	{name: "acquirebystate-over-quota", cfg: quotaConfig, after: []string{"res-a", "res-b"},
		req: post("/acquirebystate?state=free&dest=busy&owner=o&names=res-a,res-b")},
	{name: "acquirebystate-untrimmed", req: post("/acquirebystate?state=free&dest=busy&owner=o&names=res-a,%20res-b")},

	// /release
	{name: "release-ok", setup: []req{acquireA}, req: post("/release?name=res-a&dest=dirty&owner=o")},
	{name: "release-ok-epoch", setup: []req{acquireA}, req: post("/release?name=res-a&dest=dirty&owner=o&epoch=1")},
	{name: "release-stale-epoch", setup: []req{acquireA}, req: post("/release?name=res-a&dest=dirty&owner=o&epoch=7")},
	{name: "release-bad-epoch", setup: []req{acquireA}, req: post("/release?name=res-a&dest=dirty&owner=o&epoch=one")},
	{name: "release-method-get", req: req{method: "GET", target: "/release?name=res-a&dest=dirty&owner=o"}},
	{name: "release-missing-all", req: post("/release")},
	{name: "release-missing-dest", req: post("/release?name=res-a&owner=o")},
	{name: "release-not-found", req: post("/release?name=nope&dest=dirty&owner=o")},
	{name: "release-owner-mismatch", setup: []req{acquireA}, req: post("/release?name=res-a&dest=dirty&owner=p")},
	{name: "release-unowned", req: post("/release?name=res-a&dest=dirty&owner=o")},
	{name: "release-param-name-case", setup: []req{acquireA}, after: []string{"res-a"}, req: post("/release?Name=res-a&dest=dirty&owner=o")},
	{name: "release-twice", setup: []req{acquireA, post("/release?name=res-a&dest=free&owner=o")}, req: post("/release?name=res-a&dest=free&owner=o")},

	// /update
	{name: "update-ok", setup: []req{acquireA}, req: post("/update?name=res-a&owner=o&state=busy")},
	{name: "update-ok-userdata", setup: []req{acquireA}, after: []string{"res-a"}, req: req{method: "POST", target: "/update?name=res-a&owner=o&state=busy", body: `{"k":"v"}`}},
	// The request Content-Type is ignored: the body is JSON userdata
	// whatever it says, and a form type parses neither body nor query.
	{name: "update-ok-userdata-text-plain", setup: []req{acquireA}, after: []string{"res-a"}, req: req{method: "POST", target: "/update?name=res-a&owner=o&state=busy", body: `{"k":"v","a":"b=c&d"}`, header: map[string]string{"Content-Type": "text/plain"}}},
	{name: "update-ok-userdata-form-type", setup: []req{acquireA}, after: []string{"res-a"}, req: req{method: "POST", target: "/update?name=res-a&owner=o&state=busy", body: `{"k":"v","a":"b=c&d"}`, header: formType}},
	{name: "update-form-body-not-params", setup: []req{acquireA}, after: []string{"res-a"}, req: req{method: "POST", target: "/update?name=res-a&owner=o", body: "state=busy", header: formType}},
	{name: "update-form-body-is-json", setup: []req{acquireA}, after: []string{"res-a"}, req: req{method: "POST", target: "/update?name=res-a&owner=o&state=busy", body: "k=v", header: formType}},
	{name: "update-param-name-case", setup: []req{acquireA}, after: []string{"res-a"}, req: req{method: "POST", target: "/update?name=res-a&Owner=o&state=busy", body: `{"k":"v"}`}},
	{name: "update-ok-null", setup: []req{acquireA}, req: req{method: "POST", target: "/update?name=res-a&owner=o&state=busy", body: `null`}},
	{name: "update-ok-trailing", setup: []req{acquireA}, req: req{method: "POST", target: "/update?name=res-a&owner=o&state=busy", body: `{"m":"2"} trailing`}},
	{name: "update-ok-epoch", setup: []req{acquireA}, req: post("/update?name=res-a&owner=o&state=busy&epoch=1")},
	{name: "update-stale-epoch", setup: []req{acquireA}, req: post("/update?name=res-a&owner=o&state=busy&epoch=0")},
	{name: "update-bad-epoch", setup: []req{acquireA}, req: post("/update?name=res-a&owner=o&state=busy&epoch=1.5")},
	{name: "update-method-get", req: req{method: "GET", target: "/update?name=res-a&owner=o&state=busy"}},
	{name: "update-missing-all", req: post("/update")},
	{name: "update-missing-state", req: post("/update?name=res-a&owner=o")},
	{name: "update-bad-json", setup: []req{acquireA}, req: req{method: "POST", target: "/update?name=res-a&owner=o&state=busy", body: `garbage`}},
	{name: "update-number-value", setup: []req{acquireA}, req: req{method: "POST", target: "/update?name=res-a&owner=o&state=busy", body: `{"k":1}`}},
	{name: "update-not-found", req: post("/update?name=nope&owner=o&state=busy")},
	{name: "update-owner-mismatch", setup: []req{acquireA}, req: post("/update?name=res-a&owner=p&state=busy")},
	{name: "update-unowned", req: post("/update?name=res-a&owner=o&state=free")},
	{name: "update-state-mismatch", setup: []req{acquireA}, req: post("/update?name=res-a&owner=o&state=free")},

	// /reset
	{name: "reset-ok", setup: []req{acquireA}, req: post("/reset?type=t&state=busy&expire=0&dest=dirty")},
	{name: "reset-ok-negative", setup: []req{acquireA}, req: post("/reset?type=t&state=busy&expire=-1h&dest=dirty")},
	{name: "reset-empty", setup: []req{acquireA}, req: post("/reset?type=t&state=busy&expire=30m0s&dest=dirty")},
	{name: "reset-empty-unowned", req: post("/reset?type=t&state=free&expire=0&dest=dirty")},
	{name: "reset-method-get", req: req{method: "GET", target: "/reset?type=t&state=busy&expire=0&dest=dirty"}},
	{name: "reset-missing-all", req: post("/reset")},
	{name: "reset-missing-expire", req: post("/reset?type=t&state=busy&dest=dirty")},
	{name: "reset-invalid-expire", req: post("/reset?type=t&state=busy&expire=woooo&dest=dirty")},
	{name: "reset-expire-no-unit", req: post("/reset?type=t&state=busy&expire=10&dest=dirty")},

	// /metric
	{name: "metric-ok", cfg: metricConfig, setup: metricSetup, req: req{method: "GET", target: "/metric?type=t"}},
	{name: "metric-ok-unowned", req: req{method: "GET", target: "/metric?type=t"}},
	{name: "metric-not-found", req: req{method: "GET", target: "/metric?type=nope"}},
	{name: "metric-missing-type", req: req{method: "GET", target: "/metric"}},
	{name: "metric-method-post", req: post("/metric?type=t")},
	{name: "metric-method-head", req: req{method: "HEAD", target: "/metric?type=t"}},

	// catch-all, health
	{name: "default-root", req: req{method: "GET", target: "/"}},
	{name: "default-unknown-path", req: req{method: "DELETE", target: "/foo?type=t"}},
	{name: "default-trailing-slash", req: post("/acquire/?type=t&state=free&dest=busy&owner=o")},
	{name: "default-unclean-path", req: post("//acquire?type=t&state=free&dest=busy&owner=o")},
	{name: "healthz", req: req{method: "GET", target: "/healthz"}},
	{name: "healthz-method-post", req: post("/healthz")},
	{name: "healthz-ready", req: req{method: "GET", target: "/healthz/ready"}},
	{name: "healthz-ready-method-post", req: post("/healthz/ready")},
	{name: "metrics-method-post", req: post("/metrics")},
}

// format renders a response for a golden file: the request (with its
// headers, sorted), the status, the headers clients may look at, a blank
// line, then the exact body.
func format(q req, r response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", q.method, q.target)
	for _, k := range slices.Sorted(maps.Keys(q.header)) {
		fmt.Fprintf(&b, "request header: %s: %s\n", k, q.header[k])
	}
	if q.body != "" {
		fmt.Fprintf(&b, "request body: %s\n", strconv.Quote(q.body))
	}
	fmt.Fprintf(&b, "\nstatus: %d\n", r.status)
	for _, h := range []string{"Content-Type", "X-Content-Type-Options", "Location", httpapi.HeaderQueuePosition, httpapi.HeaderQueueLength, httpapi.HeaderEstimatedWait} {
		if v := r.header.Get(h); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", h, v)
		}
	}
	fmt.Fprintf(&b, "body (%d bytes):\n%s", len(r.body), r.body)
	return b.String()
}

// formatAfter renders the named resources as stored after the request (the
// effect of a request whose response does not show it). It follows the body
// after a blank line; the body's byte count in format keeps the two apart.
func formatAfter(t *testing.T, w *world, names []string) string {
	t.Helper()
	if len(names) == 0 {
		return ""
	}
	byName := map[string]boskos.Resource{}
	for _, r := range w.snapshot() {
		byName[r.Name] = r
	}
	var b strings.Builder
	b.WriteString("\n\nafter:\n")
	for _, n := range names {
		r, ok := byName[n]
		require.True(t, ok, "after: no resource %s", n)
		var ud bytes.Buffer
		enc := json.NewEncoder(&ud)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(r.UserData))
		fmt.Fprintf(&b, "%s state=%s owner=%s epoch=%d userdata=%s", r.Name, r.State, r.Owner, r.Epoch, ud.Bytes())
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range goldenCases {
		require.False(t, seen[tc.name], "duplicate case %s", tc.name)
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			o := worldOpts{}
			if tc.cfg != nil {
				o.cfg = tc.cfg()
			}
			w := newWorld(t, o)
			for _, s := range tc.setup {
				w.mustDo(s.method, s.target, s.body)
			}
			got := format(tc.req, w.doWith(tc.req.method, tc.req.target, tc.req.body, tc.req.header))
			got += formatAfter(t, w, tc.after)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "missing golden file: run go test ./core/httpapi -update")
			assert.Equal(t, string(want), got, "response differs from %s (got, want)", path)
		})
	}
	if !*update {
		// Every golden file belongs to a case: stale files fail the test.
		files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
		require.NoError(t, err)
		for _, f := range files {
			assert.True(t, seen[strings.TrimSuffix(filepath.Base(f), ".golden")], "stale golden file %s", f)
		}
	}
}
