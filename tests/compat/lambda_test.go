package compat

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	upstream "sigs.k8s.io/boskos/client"
	"sigs.k8s.io/boskos/common"

	"github.com/boskos-serverless/boskos/core/auth/authtest"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
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
	return startAPIEnv(t, bins, table, endpoint, instances)
}

// startAPIEnv is startAPI with more environment variables for every
// function.
func startAPIEnv(t *testing.T, bins map[string]string, table, endpoint string, instances map[string]int, env ...string) string {
	t.Helper()
	gw := &lambdarun.Gateway{Routes: map[string]lambdarun.Invoker{}, Timeout: 20 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	for name, routes := range lambdaapp.Routes {
		fn, err := lambdarun.StartFunction(name, bins[name], lambdarun.Options{
			Env: append([]string{
				"BOSKOS_TABLE=" + table,
				"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
				"BOSKOS_LOG_LEVEL=warn",
			}, env...),
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

// TestCompatLambdaCredentials: the real Lambda binaries with
// BOSKOS_CREDENTIALS_FILE serve the upstream Go client with a username and
// password file; a wrong password, and an owner outside the principal's
// ci-a-*, fail.
func TestCompatLambdaCredentials(t *testing.T) {
	bins := buildLambdas(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.yaml")
	require.NoError(t, os.WriteFile(creds, []byte(authtest.Credentials(t)), 0o600))
	pw, wrong := filepath.Join(dir, "pw"), filepath.Join(dir, "wrong")
	require.NoError(t, os.WriteFile(pw, []byte(authtest.ClientPassword+"\n"), 0o600))
	require.NoError(t, os.WriteFile(wrong, []byte("guess\n"), 0o600))
	endpoint := dynamotest.Endpoint(t)
	client, table := dynamotest.NewTable(t)
	seedTable(t, client, table, authConfig)
	url := startAPIEnv(t, bins, table, endpoint, nil, "BOSKOS_CREDENTIALS_FILE="+creds)

	suiteMu.Lock()
	defer suiteMu.Unlock()
	saved := upstream.SleepFunc
	upstream.SleepFunc = func(time.Duration) {}
	defer func() { upstream.SleepFunc = saved }()
	newClient := func(owner, pwFile string) *upstream.Client {
		c, err := upstream.NewClient(owner, url, authtest.Client, pwFile)
		require.NoError(t, err)
		return c
	}
	a := newClient("ci-a-1", pw)
	res, err := a.Acquire("aws-account", common.Free, common.Busy)
	require.NoError(t, err)
	require.NoError(t, a.UpdateOne(res.Name, common.Busy, nil))
	_, err = newClient("ci-a-1", wrong).Metric("aws-account")
	require.Error(t, err, "a wrong password fails")
	b := newClient("ci-b-1", pw)
	_, err = b.Acquire("aws-account", common.Free, common.Busy)
	require.Error(t, err)
	require.Error(t, b.Release(res.Name, common.Dirty))
	require.Error(t, b.Update(res.Name, common.Busy, nil))
	m, err := a.Metric("aws-account")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"ci-a-1": 1, "": 2}, m.Owners, "the refusals changed nothing")
	require.NoError(t, a.ReleaseOne(res.Name, common.Dirty))
}
