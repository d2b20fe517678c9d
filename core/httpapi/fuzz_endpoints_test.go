package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// fuzzEndpoints are the endpoints FuzzEndpoints aims at, by index.
var fuzzEndpoints = []string{"/acquire", "/acquirebystate", "/release", "/update", "/reset", "/metric"}

// fuzzEndpointMethods are the methods it sends: mostly the right one.
var fuzzEndpointMethods = []string{"POST", "POST", "GET", "HEAD", "PUT"}

// fuzzSetups put the world in a state before an input: nothing, res-a
// leased to o, res-a released by o, u-1 taken from dirty by o.
var fuzzSetups = []string{
	"",
	"/acquire?type=t&state=free&dest=busy&owner=o",
	"/release?name=res-a&dest=free&owner=o",
	"/acquire?type=u&state=dirty&dest=cleaning&owner=o",
}

// goldenSeeds reads the request of every golden file under testdata/ aimed
// at one of fuzzEndpoints: its endpoint index, method index, query and body.
func goldenSeeds(t testing.TB) []struct {
	ep, method uint8
	query      string
	body       []byte
} {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []struct {
		ep, method uint8
		query      string
		body       []byte
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(bytes.NewReader(data))
		require.True(t, sc.Scan(), f)
		method, target, ok := strings.Cut(sc.Text(), " ")
		require.True(t, ok, "%s: first line %q", f, sc.Text())
		path, query, _ := strings.Cut(target, "?")
		ep := slices.Index(fuzzEndpoints, path)
		if ep < 0 {
			continue
		}
		var body []byte
		for sc.Scan() {
			if q, ok := strings.CutPrefix(sc.Text(), "request body: "); ok {
				s, err := strconv.Unquote(q)
				require.NoError(t, err, f)
				body = []byte(s)
			}
			if sc.Text() == "" {
				break
			}
		}
		m := slices.Index(fuzzEndpointMethods, method)
		if m < 0 {
			m = len(fuzzEndpointMethods) - 1
		}
		out = append(out, struct {
			ep, method uint8
			query      string
			body       []byte
		}{uint8(ep), uint8(m), query, body})
	}
	return out
}

// storeImage is every item of the store, for "nothing changed" checks.
func storeImage(t testing.TB, s store.Store, prefixes ...string) []store.Item {
	t.Helper()
	var out []store.Item
	for _, p := range prefixes {
		cursor := ""
		for {
			page, err := s.List(context.Background(), p, cursor, 0)
			require.NoError(t, err)
			out = append(out, page.Items...)
			if cursor = page.Next; cursor == "" {
				break
			}
		}
	}
	return out
}

var allPrefixes = []string{"resource/", "queue/", "typecount/", "drlc/"}

// FuzzEndpoints sends each endpoint arbitrary query strings and bodies,
// seeded from the golden files' requests, after one of fuzzSetups. On the
// real ranch over memstore it checks: no panic and no 5xx (the handler
// turns panics into 500s); every rejection (4xx) leaves the store exactly
// as it was (except the queue place a refused /acquire with a request_id
// takes, as upstream); a successful /update stores the old user data
// merged with the body by upstream's rule. FuzzHandler (fuzz_test.go)
// covers arbitrary paths and methods; this one aims at the endpoints and
// the store. `make fuzz` explores further.
func FuzzEndpoints(f *testing.F) {
	for _, s := range goldenSeeds(f) {
		for setup := range fuzzSetups {
			f.Add(s.ep, s.method, s.query, s.body, uint8(setup))
		}
	}
	fw := newWorld(f, worldOpts{})
	f.Fuzz(func(t *testing.T, ep, method uint8, query string, body []byte, setup uint8) {
		if s := fuzzSetups[int(setup)%len(fuzzSetups)]; s != "" {
			rec := httptest.NewRecorder()
			fw.h.ServeHTTP(rec, httptest.NewRequest("POST", s, nil))
			require.Less(t, rec.Code, 500, "setup %s: %q", s, rec.Body.String())
		}
		path := fuzzEndpoints[int(ep)%len(fuzzEndpoints)]
		before := storeImage(t, fw.store, allPrefixes...)
		resBefore := resources(t, fw)

		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Method = fuzzEndpointMethods[int(method)%len(fuzzEndpointMethods)]
		req.URL = &url.URL{Path: path, RawQuery: query}
		rec := httptest.NewRecorder()
		fw.h.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		msg := func() string {
			return req.Method + " " + path + "?" + query + " body " + strconv.Quote(string(body)) + ": " + strconv.Itoa(rec.Code) + " " + strconv.Quote(string(b))
		}

		require.Less(t, rec.Code, 500, "a client's request must never be a server error: %s", msg())
		if rec.Code >= 400 {
			prefixes := allPrefixes
			q, _ := url.ParseQuery(query)
			if path == "/acquire" && rec.Code == http.StatusNotFound && q.Get("request_id") != "" {
				prefixes = []string{"resource/", "typecount/", "drlc/"} // the queue place is the point
			}
			require.Equal(t, storeImage(t, fw.store, prefixes...), filterImage(before, prefixes), "a rejection changed the store: %s", msg())
			return
		}
		if path == "/update" && rec.Code == http.StatusOK {
			q, _ := url.ParseQuery(query)
			var delta boskos.UserData
			if err := json.NewDecoder(bytes.NewReader(body)).Decode(&delta); err != nil && err != io.EOF {
				t.Fatalf("update accepted a body that is not user data: %s", msg())
			}
			name := q.Get("name")
			old, now := findResource(resBefore, name), findResource(resources(t, fw), name)
			require.NotNil(t, old, msg())
			require.NotNil(t, now, msg())
			want := old.UserData.Merge(delta)
			if len(want) == 0 {
				want = nil
			}
			got := now.UserData
			if len(got) == 0 {
				got = nil
			}
			require.Equal(t, want, got, "user data after the update: %s", msg())
		}
	})
}

// resources is world.snapshot for a fuzz input's t (world.t is the F).
func resources(t *testing.T, w *world) []boskos.Resource {
	res, err := w.ranch.Resources(context.Background())
	require.NoError(t, err)
	return res
}

func filterImage(items []store.Item, prefixes []string) []store.Item {
	var out []store.Item
	for _, it := range items {
		for _, p := range prefixes {
			if strings.HasPrefix(it.Key, p) {
				out = append(out, it)
				break
			}
		}
	}
	return out
}

func findResource(rs []boskos.Resource, name string) *boskos.Resource {
	for i := range rs {
		if rs[i].Name == name {
			return &rs[i]
		}
	}
	return nil
}
