package lambdaapp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/testkit"
)

const (
	iamRunnerRole = "arn:aws:iam::123456789012:role/ci-runner"
	iamRunnerJob  = "arn:aws:sts::123456789012:assumed-role/ci-runner/job-7"
	iamJanitor    = "arn:aws:iam::123456789012:user/janitor"
)

// iamEvent is an API Gateway HTTP API (payload 2.0) event of target; arn,
// when set, is the caller that API Gateway's IAM authorization verified
// (requestContext.authorizer.iam), user and password, when set, Basic
// credentials.
func iamEvent(t *testing.T, method, target, arn, user, password string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY " + u.Path, RawPath: u.Path, RawQueryString: u.RawQuery,
		Headers: map[string]string{"host": "example.com"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: u.Path, SourceIP: "192.0.2.9"},
		},
	}
	if arn != "" {
		// What API Gateway sends: the SigV4 Authorization header, and the
		// verified caller in the request context.
		ev.Headers["authorization"] = "AWS4-HMAC-SHA256 Credential=ASIA.../20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
				AccountID: "123456789012", CallerID: "AROAEXAMPLE:job-7", UserARN: arn, UserID: "AROAEXAMPLE:job-7",
			},
		}
	}
	if user != "" {
		ev.Headers["authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	}
	return ev
}

// TestLambdaIAMAuth: through the Lambda handler (events, httpadapter, the
// guard, dynamostore on DynamoDB Local), the IAM caller of the event is
// the principal of its ARN (principals[].iam), with the owner and role
// rules of Basic; a refused request changes nothing. No identity: 403 when
// every principal is an IAM one (API Gateway's own answer to an unsigned
// request on an IAM route), 401 with a Basic challenge when some principal
// has a password. A header cannot impersonate an IAM caller.
func TestLambdaIAMAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err)
	iamOnly := fmt.Sprintf(`principals:
- {name: runner, iam: %q, owners: [ci-a-*], role: client}
- {name: janitor, iam: %q, owners: [janitor], role: maintainer}
`, iamRunnerRole, iamJanitor)
	mixed := iamOnly + fmt.Sprintf("- {name: ci, password_hash: %q, owners: [ci-b-*], role: client}\n", hash)

	rc, err := boskos.ParseValidConfig([]byte("resources:\n- {type: pool, state: free, names: [p-1, p-2, p-3]}\n"))
	require.NoError(t, err)
	type world struct {
		fn       func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
		snapshot func() string
	}
	build := func(t *testing.T, doc string) world {
		path := filepath.Join(t.TempDir(), "credentials.yaml")
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o600))
		client, table := dynamotest.NewTable(t)
		reader := ranch.New(dynamostore.New(client, table, dynamostore.Options{}), ranch.Options{Logger: testkit.Quiet()})
		require.NoError(t, reader.SyncConfig(context.Background(), rc))
		cfg := Config{Table: table, Client: client, Logger: testkit.Quiet(), CredentialsFile: path, MetricsOut: io.Discard}
		h, err := NewHandler(context.Background(), cfg)
		require.NoError(t, err)
		return world{
			fn: Lambda(h, cfg.Logger, append(APIPaths, CatchAll)...),
			snapshot: func() string {
				res, err := reader.Resources(context.Background())
				require.NoError(t, err)
				b, err := json.Marshal(res)
				require.NoError(t, err)
				return string(b)
			},
		}
	}
	worlds := map[string]world{"iam only": build(t, iamOnly), "mixed": build(t, mixed)}

	tests := []struct {
		name       string
		creds      string // a key of worlds
		method     string
		target     string
		arn        string
		user, pass string
		header     map[string]string // extra headers
		wantStatus int
		wantBody   string
	}{
		{name: "allowed owner", creds: "iam only", method: "POST", target: "/acquire?type=pool&state=free&dest=busy&owner=ci-a-1", arn: iamRunnerJob, wantStatus: 200, wantBody: `"owner":"ci-a-1"`},
		{name: "the role itself", creds: "iam only", method: "GET", target: "/metric?type=pool", arn: iamRunnerRole, wantStatus: 200},
		{name: "wrong owner", creds: "iam only", method: "POST", target: "/acquire?type=pool&state=free&dest=busy&owner=ci-b-1", arn: iamRunnerJob, wantStatus: 403, wantBody: `principal "runner" may not act as owner "ci-b-1"`},
		{name: "wrong role", creds: "iam only", method: "POST", target: "/reset?type=pool&state=busy&expire=1h&dest=dirty", arn: iamRunnerJob, wantStatus: 403, wantBody: "needs role maintainer"},
		{name: "a maintainer resets", creds: "iam only", method: "POST", target: "/reset?type=pool&state=busy&expire=1h&dest=dirty", arn: iamJanitor, wantStatus: 200},
		{name: "unknown ARN", creds: "iam only", method: "POST", target: "/acquire?type=pool&state=free&dest=busy&owner=ci-a-1", arn: "arn:aws:sts::123456789012:assumed-role/other/x", wantStatus: 403, wantBody: "is not in the credentials"},
		{name: "the role in another account", creds: "iam only", method: "POST", target: "/acquire?type=pool&state=free&dest=busy&owner=ci-a-1", arn: "arn:aws:sts::210987654321:assumed-role/ci-runner/job-7", wantStatus: 403},
		{name: "no identity, IAM principals only", creds: "iam only", method: "POST", target: "/acquire?type=pool&state=free&dest=busy&owner=ci-a-1", wantStatus: 403, wantBody: "authorizes with AWS IAM"},
		{name: "no identity, some passwords", creds: "mixed", method: "POST", target: "/acquire?type=pool&state=free&dest=busy&owner=ci-b-1", wantStatus: 401},
		{name: "Basic next to IAM", creds: "mixed", method: "POST", target: "/acquire?type=pool&state=free&dest=busy&owner=ci-b-1", user: "ci", pass: "pw", wantStatus: 200},
		{name: "a header does not impersonate", creds: "iam only", method: "POST", target: "/acquire?type=pool&state=free&dest=busy&owner=ci-a-1",
			header: map[string]string{"x-golambdaproxy-apigw-context": `{"authorizer":{"iam":{"userArn":"` + iamRunnerJob + `"}}}`}, wantStatus: 403},
		{name: "healthz stays open", creds: "iam only", method: "GET", target: "/healthz", wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := worlds[tc.creds]
			before := w.snapshot()
			ev := iamEvent(t, tc.method, tc.target, tc.arn, tc.user, tc.pass)
			for k, v := range tc.header {
				ev.Headers[k] = v
			}
			resp, err := w.fn(context.Background(), ev)
			require.NoError(t, err)
			assert.Equal(t, tc.wantStatus, resp.StatusCode, "got status %d, want %d: body %q", resp.StatusCode, tc.wantStatus, resp.Body)
			assert.Contains(t, resp.Body, tc.wantBody)
			if tc.wantStatus != 200 {
				assert.Equal(t, before, w.snapshot(), "a refused request changed the store")
			}
			if tc.wantStatus == 401 {
				hdr := http.Header{}
				for k, v := range resp.Headers {
					hdr.Set(k, v)
				}
				for k, vs := range resp.MultiValueHeaders {
					for _, v := range vs {
						hdr.Add(k, v)
					}
				}
				assert.Equal(t, `Basic realm="boskos"`, hdr.Get("WWW-Authenticate"))
			}
		})
	}
}
