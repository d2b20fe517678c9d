package lambdaapp

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatchRoute(t *testing.T) {
	tests := []struct {
		route, path string
		want        bool
	}{
		{"/ui", "/ui", true},
		{"/ui", "/ui/", false},
		{"/ui/{proxy+}", "/ui/", true},
		{"/ui/{proxy+}", "/ui/app.js", true},
		{"/ui/{proxy+}", "/ui/a/b", true},
		{"/ui/{proxy+}", "/ui", false},
		{"/ui/{proxy+}", "/uix/app.js", false},
		{"/v1/resources", "/v1/resources/", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, MatchRoute(tc.route, tc.path), "%s %s", tc.route, tc.path)
	}
}

// TestLambdaGreedyRoutes: the read function serves its paths and the
// dashboard's files under /ui/; the catch-all function does not serve them.
func TestLambdaGreedyRoutes(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		routes     []string
		path       string
		wantStatus int
	}{
		{Routes["read"], "/ui/", 200},
		{Routes["read"], "/ui/app.js", 200},
		{Routes["read"], "/ui", 200},
		{Routes["read"], "/v1/types", 200},
		{Routes["read"], "/v1/history", 500},
		{Routes["read"], "/metric", 500},
		{Routes["metric"], "/ui/app.js", 500},
		{Routes["metric"], "/v1/queue", 500},
		{Routes["metric"], "/v1/history", 500},
		{Routes["history"], "/v1/history", 200},
		{Routes["history"], "/v1/resources/p-1/history", 200},
		{Routes["read"], "/v1/resources/p-1/history", 500},
	}
	for _, tc := range tests {
		fn := Lambda(echo, log, tc.routes...)
		resp, err := fn(context.Background(), event("GET", tc.path, ""))
		require.NoError(t, err)
		assert.Equal(t, tc.wantStatus, resp.StatusCode, "%v %s: %s", tc.routes, tc.path, resp.Body)
	}
}
