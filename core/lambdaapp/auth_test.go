package lambdaapp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/auth"
	"github.com/boskos-serverless/boskos/core/auth/authtest"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// TestLambdaAuthMatrix runs the authentication matrix through the Lambda
// handler (API Gateway v2 events, httpadapter, the Boskos handler behind
// the guard, dynamostore on DynamoDB Local), with the credentials file
// named by BOSKOS_CREDENTIALS_FILE.
func TestLambdaAuthMatrix(t *testing.T) {
	credsPath := filepath.Join(t.TempDir(), "credentials.yaml")
	require.NoError(t, os.WriteFile(credsPath, []byte(authtest.Credentials(t)), 0o600))
	env := map[string]string{EnvTable: "unused", EnvCredentialsFile: credsPath}
	cfg, err := FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.Equal(t, credsPath, cfg.CredentialsFile)

	client, table := dynamotest.NewTable(t)
	cfg.Table, cfg.Client, cfg.Logger = table, client, testkit.Quiet()
	rc, err := boskos.ParseValidConfig([]byte(authtest.Config))
	require.NoError(t, err)
	reader := ranch.New(dynamostore.New(client, table, dynamostore.Options{}), ranch.Options{})
	require.NoError(t, reader.SyncConfig(context.Background(), rc))

	h, err := NewHandler(context.Background(), cfg)
	require.NoError(t, err)
	fn := Lambda(h, cfg.Logger, append(APIPaths, CatchAll)...)
	send := func(t *testing.T, method, target, user, password string) authtest.Response {
		t.Helper()
		u, err := url.Parse(target)
		require.NoError(t, err)
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "$default", RawPath: u.Path, RawQueryString: u.RawQuery,
			Headers: map[string]string{"host": "example.com"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: u.Path, SourceIP: "192.0.2.7"},
			},
		}
		if user != "" {
			ev.Headers["authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
		}
		resp, err := fn(context.Background(), ev)
		require.NoError(t, err)
		hdr := http.Header{}
		for k, v := range resp.Headers {
			hdr.Set(k, v)
		}
		for k, vs := range resp.MultiValueHeaders {
			for _, v := range vs {
				hdr.Add(k, v)
			}
		}
		return authtest.Response{Status: resp.StatusCode, Header: hdr, Body: resp.Body}
	}
	snapshot := func(t *testing.T) string {
		t.Helper()
		res, err := reader.Resources(context.Background())
		require.NoError(t, err)
		b, err := json.Marshal(res)
		require.NoError(t, err)
		return string(b)
	}
	authtest.Run(t, send, snapshot)
}

func TestAuthFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{name: "no credentials", env: map[string]string{}},
		{name: "credentials and anonymous metrics", env: map[string]string{EnvCredentialsFile: "/opt/creds.yaml", EnvAnonymousMetrics: "true"},
			want: Config{CredentialsFile: "/opt/creds.yaml", AnonymousMetrics: true}},
		{name: "anonymous metrics without credentials", env: map[string]string{EnvAnonymousMetrics: "true"}, wantErr: "BOSKOS_ANONYMOUS_METRICS: needs BOSKOS_CREDENTIALS_FILE"},
		{name: "not a boolean", env: map[string]string{EnvCredentialsFile: "/c", EnvAnonymousMetrics: "yes please"}, wantErr: `BOSKOS_ANONYMOUS_METRICS: "yes please" is not a boolean`},
		{name: "a secret, the default TTL", env: map[string]string{EnvCredentialsSecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:boskos-AbCdEf"},
			want: Config{CredentialsSecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:boskos-AbCdEf", CredentialsTTL: auth.DefaultRefreshTTL}},
		{name: "a secret, a TTL, an endpoint", env: map[string]string{EnvCredentialsSecret: "boskos/credentials", EnvCredentialsTTL: "5m",
			EnvSecretsEndpoint: "http://localhost:4567", EnvAnonymousMetrics: "true"},
			want: Config{CredentialsSecret: "boskos/credentials", CredentialsTTL: 5 * time.Minute, SecretsEndpoint: "http://localhost:4567", AnonymousMetrics: true}},
		{name: "an SSM endpoint is the SDK's, not ours", env: map[string]string{"AWS_ENDPOINT_URL_SSM": "localhost:4566"}},
		{name: "an SSM parameter is refused, naming it", env: map[string]string{"BOSKOS_CREDENTIALS_PARAMETER": "/boskos/credentials"},
			wantErr: "BOSKOS_CREDENTIALS_PARAMETER: is no longer supported (SSM parameters are not a credentials source): put the credentials file in a Secrets Manager secret and set BOSKOS_CREDENTIALS_SECRET"},
		{name: "an SSM parameter is refused next to a secret", env: map[string]string{"BOSKOS_CREDENTIALS_PARAMETER": "/boskos/credentials", EnvCredentialsSecret: "boskos"},
			wantErr: "BOSKOS_CREDENTIALS_PARAMETER: is no longer supported"},
		{name: "anonymous metrics with a secret", env: map[string]string{EnvCredentialsSecret: "boskos", EnvAnonymousMetrics: "true"},
			want: Config{CredentialsSecret: "boskos", CredentialsTTL: auth.DefaultRefreshTTL, AnonymousMetrics: true}},
		{name: "two sources", env: map[string]string{EnvCredentialsFile: "/c", EnvCredentialsSecret: "boskos"},
			wantErr: "BOSKOS_CREDENTIALS_FILE, BOSKOS_CREDENTIALS_SECRET: set at most one of"},
		{name: "a TTL for a file", env: map[string]string{EnvCredentialsFile: "/c", EnvCredentialsTTL: "1m"},
			wantErr: "BOSKOS_CREDENTIALS_TTL: needs BOSKOS_CREDENTIALS_SECRET (a file is read once)"},
		{name: "every problem at once", env: map[string]string{EnvCredentialsSecret: "a b", EnvCredentialsTTL: "-1s", EnvSecretsEndpoint: "localhost:4566"},
			wantErr: "BOSKOS_CREDENTIALS_SECRET: \"a b\" must not contain blanks\nBOSKOS_CREDENTIALS_TTL: \"-1s\" must be positive\nAWS_ENDPOINT_URL_SECRETS_MANAGER: \"localhost:4566\" is not an http(s) URL"},
		{name: "not a duration", env: map[string]string{EnvCredentialsSecret: "boskos", EnvCredentialsTTL: "soon"}, wantErr: `BOSKOS_CREDENTIALS_TTL: "soon" is not a duration`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.env[EnvTable] = "boskos"
			cfg, err := FromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want.CredentialsFile, cfg.CredentialsFile)
			assert.Equal(t, tc.want.CredentialsSecret, cfg.CredentialsSecret)
			assert.Equal(t, tc.want.CredentialsTTL, cfg.CredentialsTTL)
			assert.Equal(t, tc.want.SecretsEndpoint, cfg.SecretsEndpoint)
			assert.Equal(t, tc.want.AnonymousMetrics, cfg.AnonymousMetrics)
		})
	}

	t.Run("a secret without a client fails the handler's construction", func(t *testing.T) {
		_, err := NewHandler(context.Background(), Config{Table: "t", CredentialsSecret: "boskos", Client: dynamotest.Client(t), Logger: testkit.Quiet()})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "BOSKOS_CREDENTIALS_SECRET is set, but this function has no client to read it")
	})

	t.Run("a bad credentials file fails the handler's construction", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(p, []byte("principals: []\n"), 0o600))
		_, err := NewHandler(context.Background(), Config{Table: "t", CredentialsFile: p, Client: dynamotest.Client(t), Logger: testkit.Quiet()})
		require.Error(t, err)
		assert.True(t, strings.Contains(err.Error(), "BOSKOS_CREDENTIALS_FILE") && strings.Contains(err.Error(), "principals: none"), err.Error())
	})
}
