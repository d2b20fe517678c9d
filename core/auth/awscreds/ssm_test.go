package awscreds_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/auth/awscreds"
)

// ssmStub answers GetParameter requests with the next of its answers (the
// last one again when they run out), recording the requests.
type ssmStub struct {
	mu       sync.Mutex
	answers  []stubAnswer
	requests []*http.Request
	bodies   []string
}

type stubAnswer struct {
	status int
	body   string
}

func (s *ssmStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.bodies = append(s.bodies, string(b))
	a := s.answers[min(len(s.requests)-1, len(s.answers)-1)]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

const okAnswer = `{"Parameter":{"Name":"/p","Type":"SecureString","Value":"principals: []","Version":1}}`

// TestParametersClientProtocol: the request is awsJson1_1's GetParameter
// with decryption, signed with SigV4 for ssm in the configured region with
// the session token; error answers become codes; throttling and 5xx are
// retried, other errors are not.
func TestParametersClientProtocol(t *testing.T) {
	tests := []struct {
		name     string
		answers  []stubAnswer
		want     awscreds.Param
		wantCode string
		wantReqs int
	}{
		{name: "ok", answers: []stubAnswer{{200, okAnswer}}, want: awscreds.Param{Type: "SecureString", Value: "principals: []"}, wantReqs: 1},
		{name: "not found, namespaced type", answers: []stubAnswer{{400, `{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"gone"}`}}, wantCode: "ParameterNotFound", wantReqs: 1},
		{name: "access denied", answers: []stubAnswer{{400, `{"__type":"AccessDeniedException","Message":"no ssm:GetParameter"}`}}, wantCode: "AccessDeniedException", wantReqs: 1},
		{name: "throttled, then ok", answers: []stubAnswer{{400, `{"__type":"ThrottlingException","message":"slow down"}`}, {200, okAnswer}}, want: awscreds.Param{Type: "SecureString", Value: "principals: []"}, wantReqs: 2},
		{name: "5xx three times", answers: []stubAnswer{{500, `{"__type":"InternalServerError"}`}}, wantCode: "InternalServerError", wantReqs: 3},
		{name: "a body that is not JSON", answers: []stubAnswer{{403, `<html>denied</html>`}}, wantCode: "Forbidden", wantReqs: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stub := &ssmStub{answers: tc.answers}
			srv := httptest.NewServer(stub)
			defer srv.Close()
			c := awscreds.NewParametersClient(aws.Config{Region: "eu-west-1",
				Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "TOKEN")}, srv.URL)
			got, err := c.GetParameter(context.Background(), "/boskos/credentials")
			require.Len(t, stub.requests, tc.wantReqs, "requests made")
			r := stub.requests[0]
			assert.Equal(t, "POST", r.Method)
			assert.Equal(t, "AmazonSSM.GetParameter", r.Header.Get("X-Amz-Target"))
			assert.Equal(t, "application/x-amz-json-1.1", r.Header.Get("Content-Type"))
			assert.True(t, strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKID/"), r.Header.Get("Authorization"))
			assert.Contains(t, r.Header.Get("Authorization"), "/eu-west-1/ssm/aws4_request")
			assert.Equal(t, "TOKEN", r.Header.Get("X-Amz-Security-Token"))
			var in map[string]any
			require.NoError(t, json.Unmarshal([]byte(stub.bodies[0]), &in))
			assert.Equal(t, map[string]any{"Name": "/boskos/credentials", "WithDecryption": true}, in)
			if tc.wantCode != "" {
				var coded interface{ ErrorCode() string }
				require.ErrorAs(t, err, &coded)
				assert.Equal(t, tc.wantCode, coded.ErrorCode())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParametersClientEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		cfg      aws.Config
		endpoint string
		want     string
	}{
		{name: "region", cfg: aws.Config{Region: "eu-west-1"}, want: "https://ssm.eu-west-1.amazonaws.com"},
		{name: "China", cfg: aws.Config{Region: "cn-north-1"}, want: "https://ssm.cn-north-1.amazonaws.com.cn"},
		{name: "the configuration's endpoint", cfg: aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String("http://localhost:4566")}, want: "http://localhost:4566"},
		{name: "the service endpoint first", cfg: aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String("http://localhost:4566")}, endpoint: "http://ssm.local/", want: "http://ssm.local"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, awscreds.ParametersEndpoint(awscreds.NewParametersClient(tc.cfg, tc.endpoint)))
		})
	}
}
