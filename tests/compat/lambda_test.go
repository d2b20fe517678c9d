package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
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
	"github.com/boskos-serverless/boskos/core/testkit/moto"
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

// TestCompatLambdaCredentials: the real Lambda binaries with their
// credentials in BOSKOS_CREDENTIALS_FILE, or in a Secrets Manager secret
// (BOSKOS_CREDENTIALS_SECRET, on moto_server: the API mains' option
// lambdacreds.Source at work), serve the upstream Go client with a username
// and password file; a wrong password, and an owner outside the principal's
// ci-a-*, fail. An API function given BOSKOS_CREDENTIALS_PARAMETER (SSM, no
// longer a source) refuses to start, naming it, instead of serving without
// credentials.
func TestCompatLambdaCredentials(t *testing.T) {
	bins := buildLambdas(t)
	t.Run("an SSM parameter refuses the start", func(t *testing.T) {
		code, out, err := lambdarun.RunOnce(bins["acquire"], []string{
			"BOSKOS_TABLE=boskos", "BOSKOS_CREDENTIALS_PARAMETER=/boskos/credentials",
		}, time.Minute)
		require.NoError(t, err)
		assert.NotEqual(t, 0, code, "exit code; output:\n%s", out)
		assert.Contains(t, out, "BOSKOS_CREDENTIALS_PARAMETER: is no longer supported")
		assert.Contains(t, out, "BOSKOS_CREDENTIALS_SECRET", "the message says what to set instead")
	})
	dir := t.TempDir()
	doc := authtest.Credentials(t)
	creds := filepath.Join(dir, "credentials.yaml")
	require.NoError(t, os.WriteFile(creds, []byte(doc), 0o600))
	tests := []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{name: "file", env: func(*testing.T) []string { return []string{"BOSKOS_CREDENTIALS_FILE=" + creds} }},
		{name: "secret", env: func(t *testing.T) []string {
			url := moto.Endpoint(t)
			name := "boskos-compat-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			createMotoSecret(t, url, name, doc)
			return []string{"BOSKOS_CREDENTIALS_SECRET=" + name, "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + url}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runLambdaCredentials(t, bins, dir, tc.env(t)) })
	}
}

// createMotoSecret creates secret name with value on moto_server, with
// Secrets Manager's JSON protocol (this module does not link the SDK's
// Secrets Manager client). moto routes a request by the service of its
// Authorization header's credential scope (without one, to S3) and checks
// no signature: the header names the service, region and the functions'
// access key, and signs nothing.
func createMotoSecret(t *testing.T, url, name, value string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"Name": name, "SecretString": value})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.CreateSecret")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "CreateSecret: %s", out)
	require.Contains(t, string(out), `"ARN"`, "CreateSecret answered: %s", out)
}

func runLambdaCredentials(t *testing.T, bins map[string]string, dir string, env []string) {
	pw, wrong := filepath.Join(dir, "pw"), filepath.Join(dir, "wrong")
	require.NoError(t, os.WriteFile(pw, []byte(authtest.ClientPassword+"\n"), 0o600))
	require.NoError(t, os.WriteFile(wrong, []byte("guess\n"), 0o600))
	endpoint := dynamotest.Endpoint(t)
	client, table := dynamotest.NewTable(t)
	seedTable(t, client, table, authConfig)
	url := startAPIEnv(t, bins, table, endpoint, nil, env...)

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
