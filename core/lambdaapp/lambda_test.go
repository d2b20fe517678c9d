package lambdaapp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echo answers "<method> <path>" with a body, or nothing at all for /quiet.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/quiet" {
		return
	}
	b, _ := io.ReadAll(r.Body)
	_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" "+string(b))
})

func event(method, path, query string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query,
		Headers: map[string]string{"host": "example.com"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
}

func TestLambdaRoutes(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name       string
		routes     []string
		method     string
		path       string
		wantStatus int
		wantBody   string
	}{
		{name: "own route", routes: []string{"/acquire"}, method: "POST", path: "/acquire", wantStatus: 200, wantBody: "POST /acquire?a=1&a=2 "},
		{name: "another function's route", routes: []string{"/acquire"}, method: "POST", path: "/release", wantStatus: 500, wantBody: "/release is not served by this function\n"},
		{name: "unknown path without catch-all", routes: []string{"/acquire"}, method: "GET", path: "/foo", wantStatus: 500, wantBody: "/foo is not served by this function\n"},
		{name: "catch-all serves unknown paths", routes: []string{"/metric", CatchAll}, method: "GET", path: "/foo", wantStatus: 200, wantBody: "GET /foo?a=1&a=2 "},
		{name: "catch-all serves a trailing slash", routes: []string{"/metric", CatchAll}, method: "POST", path: "/acquire/", wantStatus: 200, wantBody: "POST /acquire/?a=1&a=2 "},
		{name: "catch-all does not serve other functions", routes: []string{"/metric", CatchAll}, method: "POST", path: "/release", wantStatus: 500, wantBody: "/release is not served by this function\n"},
		{name: "nothing written is a 200", routes: []string{CatchAll}, method: "POST", path: "/quiet", wantStatus: 200, wantBody: ""},
		{name: "a route with a path parameter", routes: Routes["history"], method: "GET", path: "/v1/resources/p-1/history", wantStatus: 200, wantBody: "GET /v1/resources/p-1/history?a=1&a=2 "},
		{name: "a path parameter is one segment", routes: Routes["history"], method: "GET", path: "/v1/resources/a/b/history", wantStatus: 500, wantBody: "/v1/resources/a/b/history is not served by this function\n"},
		{name: "a path parameter is not empty", routes: Routes["history"], method: "GET", path: "/v1/resources//history", wantStatus: 500, wantBody: "/v1/resources//history is not served by this function\n"},
		{name: "catch-all does not serve the history", routes: []string{"/metric", CatchAll}, method: "GET", path: "/v1/resources/p-1/history", wantStatus: 500, wantBody: "/v1/resources/p-1/history is not served by this function\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fn := Lambda(echo, log, tc.routes...)
			resp, err := fn(context.Background(), event(tc.method, tc.path, "a=1&a=2"))
			require.NoError(t, err)
			assert.Equal(t, tc.wantStatus, resp.StatusCode, "status")
			assert.Equal(t, tc.wantBody, resp.Body, "body")
		})
	}
}

func TestLambdaBase64Body(t *testing.T) {
	fn := Lambda(echo, slog.New(slog.DiscardHandler), "/update")
	ev := event("POST", "/update", "")
	ev.Body, ev.IsBase64Encoded = "eyJrIjoidiJ9", true // {"k":"v"}
	resp, err := fn(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, `POST /update? {"k":"v"}`, resp.Body)
}

func TestMainReportsEveryStartProblem(t *testing.T) {
	tests := []struct {
		name     string
		fn       string
		env      map[string]string
		wantCode int
		want     []string
	}{
		{name: "unknown function", fn: "nope", wantCode: 2, want: []string{"nope: not a function of this service"}},
		{name: "bad configuration", fn: "acquire", env: map[string]string{"BOSKOS_REQUEST_TTL": "soon", "BOSKOS_LOG_LEVEL": "loud"},
			wantCode: 2, want: []string{"acquire: invalid configuration", "BOSKOS_TABLE", "BOSKOS_REQUEST_TTL", "BOSKOS_LOG_LEVEL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			code := Main(tc.fn, lookup, &stderr)
			assert.Equal(t, tc.wantCode, code)
			for _, w := range tc.want {
				assert.Contains(t, stderr.String(), w)
			}
		})
	}
}
