package httpapi_test

import (
	"bytes"
	"io"
	"net/http/httptest"
	"net/url"
	"testing"
)

var fuzzMethods = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"}

// FuzzHandler throws arbitrary methods, paths, queries and bodies at the
// handler over the real ranch: it must never answer 5xx nor panic. The
// seeds run as a normal test; `go test ./core/httpapi -fuzz FuzzHandler`
// explores further.
func FuzzHandler(f *testing.F) {
	seeds := []struct {
		m           byte
		path, query string
		body        []byte
	}{
		{1, "/acquire", "type=t&state=free&dest=busy&owner=o", nil},
		{1, "/acquire", "type=t&state=free&dest=busy&owner=o&request_id=r", nil},
		{1, "/acquire", "type=%00&state=free&dest=busy&owner=o", nil},
		{1, "/acquirebystate", "state=free&dest=busy&owner=o&names=res-a,res-b", nil},
		{1, "/acquirebystate", "state=free&dest=busy&owner=o&names=,,,", nil},
		{1, "/acquirebystate", "state=free&dest=busy&owner=o&names=a/b,res-a/../x", nil},
		{1, "/release", "name=res-a&dest=free&owner=o&epoch=-1", nil},
		{1, "/release", "name=../../x&dest=free&owner=o", nil},
		{1, "/update", "name=res-a&owner=o&state=busy", []byte(`{"a":"b"}`)},
		{1, "/update", "name=res-a&owner=o&state=busy", []byte(`{"a":""}`)},
		{1, "/update", "name=res-a&owner=o&state=busy&epoch=9223372036854775807", []byte(`[`)},
		{1, "/reset", "type=t&state=busy&expire=-9223372036854775808ns&dest=free", nil},
		{1, "/reset", "type=t&state=busy&expire=1e400h&dest=free", nil},
		{0, "/metric", "type=t", nil},
		{0, "/metric", "type=%zz", nil},
		{0, "/metrics", "", nil},
		{0, "/healthz", "", nil},
		{7, "//acquire/../x", "a=b;c", []byte("\xff")},
		{3, "", "", nil},
	}
	for _, s := range seeds {
		f.Add(s.m, s.path, s.query, s.body)
	}
	// One world for all inputs: state left by one input is more ground for
	// the next. The handler recovers panics as 500s, so the 5xx check
	// catches them too.
	fw := newWorld(f, worldOpts{})
	f.Fuzz(func(t *testing.T, m byte, path, query string, body []byte) {
		req := httptest.NewRequest("GET", "/", bytes.NewReader(body))
		req.Method = fuzzMethods[int(m)%len(fuzzMethods)]
		req.URL = &url.URL{Path: path, RawQuery: query}
		rec := httptest.NewRecorder()
		fw.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			b, _ := io.ReadAll(rec.Body)
			t.Fatalf("%s %q?%q body %q: got %d %q, want < 500", req.Method, path, query, body, rec.Code, b)
		}
	})
}
