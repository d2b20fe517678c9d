package compat

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/tests/compat/lambdarun"
)

// buildLambdas builds every function for the host with
// scripts/build-lambdas.sh and returns the bootstrap paths by name.
func buildLambdas(t *testing.T) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bins, err := lambdarun.Build(ctx, filepath.Join("..", ".."), t.TempDir())
	require.NoError(t, err)
	for name := range lambdaapp.Routes {
		require.Contains(t, bins, name, "function %s was not built", name)
	}
	return bins
}

// startAPI runs every function against table (instances[name] processes,
// default 1) and returns the URL of an API Gateway-like front that routes
// to them as the SAM template does.
func startAPI(t *testing.T, bins map[string]string, table, endpoint string, instances map[string]int) string {
	t.Helper()
	gw := &lambdarun.Gateway{Routes: map[string]lambdarun.Invoker{}, Timeout: 20 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	for name, routes := range lambdaapp.Routes {
		fn, err := lambdarun.StartFunction(name, bins[name], lambdarun.Options{
			Env: []string{
				"BOSKOS_TABLE=" + table,
				"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
				"BOSKOS_LOG_LEVEL=warn",
			},
			Instances: instances[name],
		})
		require.NoError(t, err)
		t.Cleanup(func() {
			require.NoError(t, fn.Stop())
			if t.Failed() {
				t.Logf("logs of %s:\n%s", name, fn.Logs())
			}
		})
		for _, r := range routes {
			if r == lambdaapp.CatchAll {
				gw.Default = fn
			} else {
				gw.Routes[r] = fn
			}
		}
	}
	require.NotNil(t, gw.Default, "one function must take the $default route")
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv.URL
}

// seedTable syncs a config into table, as `boskos` does before serving.
func seedTable(t *testing.T, client dynamostore.API, table, config string) {
	t.Helper()
	cfg, err := boskos.ParseConfig([]byte(config))
	require.NoError(t, err)
	r := ranch.New(dynamostore.New(client, table, dynamostore.Options{}),
		ranch.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, r.SyncConfig(context.Background(), cfg))
}

// TestCompatLambda runs the real Lambda bootstrap binaries (built for the
// host with scripts/build-lambdas.sh) under a fake Lambda Runtime API: a
// function given a bad environment must refuse to start, and the functions
// behind an API Gateway-like front, on a DynamoDB Local table, must pass the
// end-to-end checks (the upstream-client suite and a stale lease reaped by
// the reaper function: e2eLambda).
func TestCompatLambda(t *testing.T) {
	bins := buildLambdas(t)

	t.Run("bad environment", func(t *testing.T) {
		code, out, err := lambdarun.RunOnce(bins["acquire"], []string{
			"BOSKOS_REQUEST_TTL=soon", "BOSKOS_LOG_LEVEL=chatty",
		}, time.Minute)
		require.NoError(t, err)
		assert.NotEqual(t, 0, code, "exit code; output:\n%s", out)
		for _, want := range []string{"BOSKOS_TABLE", "BOSKOS_REQUEST_TTL", "BOSKOS_LOG_LEVEL"} {
			assert.Contains(t, out, want)
		}
	})

	t.Run("e2e", func(t *testing.T) { e2eLambda(t, bins) })
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
