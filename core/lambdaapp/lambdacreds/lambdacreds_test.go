package lambdacreds_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/lambdaapp/lambdacreds"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/testkit"
	"github.com/boskos-serverless/boskos/core/testkit/moto"
)

func TestMain(m *testing.M) {
	code := m.Run()
	moto.Stop()
	dynamotest.Stop()
	os.Exit(code)
}

// lockedBuffer collects the EMF lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func doc(t *testing.T, password string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	return fmt.Sprintf("principals:\n- {name: ci, password_hash: %q, owners: [ci-*], role: client}\n", h)
}

var seq atomic.Int64

// TestSource: an API function configured as in Lambda (FromEnv, AWSEnv
// with AWS_ENDPOINT_URL at moto_server, Main's option Source, NewHandler,
// the Lambda adapter) reads its credentials from a Secrets Manager secret
// at start, reads them again only after BOSKOS_CREDENTIALS_TTL, keeps them
// when the new document is invalid (with the EMF metric
// CredentialsRefreshFailures), and does not start when the secret is
// missing.
func TestSource(t *testing.T) {
	motoURL := moto.Endpoint(t)
	awsCfg := aws.Config{Region: moto.Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(motoURL)}
	sm := secretsmanager.NewFromConfig(awsCfg)
	ctx := context.Background()
	// put creates the secret id, or puts a new version of it.
	put := func(t *testing.T, id, doc string, create bool) {
		var err error
		if create {
			_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(doc)})
		} else {
			_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(doc)})
		}
		require.NoError(t, err)
	}
	rc, err := boskos.ParseValidConfig([]byte("resources:\n- {type: pool, state: free, names: [p-1]}\n"))
	require.NoError(t, err)

	const secretEnv = lambdaapp.EnvCredentialsSecret
	id := fmt.Sprintf("/boskos/test/secret-%d", seq.Add(1))
	put(t, id, doc(t, "first"), true)
	client, table := dynamotest.NewTable(t)
	require.NoError(t, ranch.New(dynamostore.New(client, table, dynamostore.Options{}), ranch.Options{Logger: testkit.Quiet()}).SyncConfig(ctx, rc))

	env := map[string]string{
		lambdaapp.EnvTable: table, secretEnv: id, lambdaapp.EnvCredentialsTTL: "1m",
		"AWS_REGION": moto.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_ENDPOINT_URL": motoURL,
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	start := func(t *testing.T, clk *testkit.Clock, metrics *lockedBuffer) (func(user, pass string) int, error) {
		cfg, err := lambdaapp.FromEnv(lookup)
		require.NoError(t, err)
		cfg.AWS = lambdaapp.AWSFromEnv(lookup)
		cfg.Client, cfg.Logger, cfg.Now, cfg.MetricsOut = client, testkit.Quiet(), clk.Now, metrics
		lambdacreds.Source(&cfg)
		h, err := lambdaapp.NewHandler(ctx, cfg)
		if err != nil {
			return nil, err
		}
		fn := lambdaapp.Lambda(h, cfg.Logger, lambdaapp.Routes["metric"]...)
		return func(user, pass string) int {
			u, _ := url.Parse("/metric?type=pool")
			resp, err := fn(ctx, events.APIGatewayV2HTTPRequest{
				Version: "2.0", RouteKey: "ANY /metric", RawPath: u.Path, RawQueryString: u.RawQuery,
				Headers: map[string]string{"host": "example.com", "authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))},
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: u.Path, SourceIP: "192.0.2.1"},
				},
			})
			require.NoError(t, err)
			return resp.StatusCode
		}, nil
	}

	clk, metrics := testkit.NewClock(), &lockedBuffer{}
	send, err := start(t, clk, metrics)
	require.NoError(t, err)
	require.Equal(t, 200, send("ci", "first"), "the credentials read at start")
	require.Equal(t, 401, send("ci", "second"))

	put(t, id, doc(t, "second"), false)
	clk.Add(59 * time.Second)
	assert.Equal(t, 200, send("ci", "first"), "within the TTL the credentials read at start stay")
	clk.Add(time.Second)
	assert.Equal(t, 200, send("ci", "second"), "after the TTL the new version is in force")
	assert.Equal(t, 401, send("ci", "first"))

	put(t, id, "principals: []\n", false)
	clk.Add(time.Minute)
	assert.Equal(t, 200, send("ci", "second"), "an invalid document keeps the credentials in force")
	assert.Contains(t, metrics.String(), `"`+emf.CredentialsRefreshFailures+`":1`, "the failed refresh is counted")
	assert.NotContains(t, metrics.String(), "$2a$")

	t.Run("a missing secret stops the start", func(t *testing.T) {
		env[secretEnv] = id + "-missing"
		defer func() { env[secretEnv] = id }()
		_, err := start(t, testkit.NewClock(), &lockedBuffer{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), secretEnv)
		assert.Contains(t, err.Error(), "no such secret")
	})
	t.Run("an invalid document stops the start", func(t *testing.T) {
		_, err := start(t, testkit.NewClock(), &lockedBuffer{})
		require.Error(t, err)
		assert.True(t, strings.Contains(err.Error(), secretEnv) && strings.Contains(err.Error(), "principals: none"), err.Error())
	})
}
