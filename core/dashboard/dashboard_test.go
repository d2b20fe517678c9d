package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/dashboard"
)

func serve(method, path string) *http.Response {
	rr := httptest.NewRecorder()
	dashboard.Handler().ServeHTTP(rr, httptest.NewRequest(method, path, nil))
	return rr.Result()
}

func TestHandler(t *testing.T) {
	tests := []struct {
		path, ctype, contains string
	}{
		{"/ui/", "text/html; charset=utf-8", "<title>Boskos dashboard</title>"},
		{"/ui", "text/html; charset=utf-8", "<title>Boskos dashboard</title>"},
		{"/ui/app.js", "text/javascript; charset=utf-8", "'use strict';"},
		{"/ui/style.css", "text/css; charset=utf-8", ":root"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp := serve(http.MethodGet, tc.path)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			b, _ := io.ReadAll(resp.Body)
			assert.Contains(t, string(b), tc.contains)
			assert.Equal(t, tc.ctype, resp.Header.Get("Content-Type"))
			assert.Equal(t, dashboard.ContentSecurityPolicy, resp.Header.Get("Content-Security-Policy"))
			assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
			assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
			head := serve(http.MethodHead, tc.path)
			assert.Equal(t, http.StatusOK, head.StatusCode)
			hb, _ := io.ReadAll(head.Body)
			assert.Empty(t, hb)
		})
	}
	resp := serve(http.MethodGet, "/ui/nope.js")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp = serve(http.MethodPost, "/ui/")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
}

// TestSelfContained: the files load nothing from elsewhere (no URL with a
// host, no protocol-relative URL), put no inline script or style in the
// page (the CSP forbids them) and never write HTML from data (innerHTML,
// outerHTML, insertAdjacentHTML, document.write): names, owners and reasons
// are clients' strings.
func TestSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for path := range dashboard.Files {
		b, _ := io.ReadAll(serve(http.MethodGet, path).Body)
		s := string(b)
		assert.Empty(t, external.FindAllString(s, -1), "%s refers to another host", path)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "@import", "url(http"} {
			assert.NotContains(t, s, bad, path)
		}
		if strings.HasSuffix(path, "/") || path == "/ui" {
			assert.NotRegexp(t, `<script>|<script [^>]*>[^<]`, s, "inline script")
			assert.NotContains(t, s, "<style", "inline style")
			assert.NotContains(t, s, " style=", "inline style attribute")
			assert.Contains(t, s, `<meta name="viewport" content="width=device-width, initial-scale=1">`, "readable on a phone")
			assert.Contains(t, s, `<html lang="en">`)
		}
	}
}
