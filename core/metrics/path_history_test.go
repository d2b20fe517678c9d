package metrics_test

import (
	"testing"

	"github.com/boskos-serverless/boskos/core/metrics"
)

// TestSimplifyHistoryPaths: every resource's history is one label.
func TestSimplifyHistoryPaths(t *testing.T) {
	for p, want := range map[string]string{
		"/v1/history":               "/v1/history",
		"/v1/usage":                 "/v1/usage",
		"/v1/resources/a/history":   "/v1/resources/{name}/history",
		"/v1/resources/b/history":   "/v1/resources/{name}/history",
		"/v1/resources/a/b/history": metrics.Unmatched,
	} {
		if got := metrics.SimplifyPath(p); got != want {
			t.Errorf("SimplifyPath(%q) = %q, want %q", p, got, want)
		}
	}
}
