package dynamostore_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// throttler is a fake DynamoDB endpoint that refuses the first requests with
// a throttling error, then answers GetItem with one item.
type throttler struct {
	mu       sync.Mutex
	code     string
	failures int
	requests int
	targets  []string
}

func (f *throttler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.requests++
	f.targets = append(f.targets, r.Header.Get("X-Amz-Target"))
	fail := f.requests <= f.failures
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if fail {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#`+f.code+`","message":"slow down"}`)
		return
	}
	_, _ = io.WriteString(w, `{"Item":{"pk":{"S":"a"},"sk":{"S":"b"},"v":{"N":"4"},"s":{"S":"x"}}}`)
}

// TestThrottlingRetried: the client built by NewClient retries throttling
// errors, up to MaxAttempts, and the store translates the final refusal.
func TestThrottlingRetried(t *testing.T) {
	tests := []struct {
		name        string
		code        string
		failures    int
		maxAttempts int
		wantErr     bool
	}{
		{"throttling twice then success", "ThrottlingException", 2, 3, false},
		{"provisioned throughput twice then success", "ProvisionedThroughputExceededException", 2, 3, false},
		{"throttled past the attempts", "ThrottlingException", 2, 2, true},
		{"provisioned throughput past the attempts", "ProvisionedThroughputExceededException", 5, 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &throttler{code: tc.code, failures: tc.failures}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			client, err := dynamostore.NewClient(t.Context(), dynamostore.ClientConfig{
				Region:      "us-east-1",
				Endpoint:    srv.URL,
				MaxAttempts: tc.maxAttempts,
				MaxBackoff:  5 * time.Millisecond,
				Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
			})
			require.NoError(t, err)
			s := dynamostore.New(client, "t", dynamostore.Options{})
			it, err := s.Get(t.Context(), "a/b")
			wantRequests := min(tc.failures+1, tc.maxAttempts)
			assert.Equal(t, wantRequests, fake.requests, "requests")
			for _, target := range fake.targets {
				assert.Equal(t, "DynamoDB_20120810.GetItem", target)
			}
			if !tc.wantErr {
				require.NoError(t, err)
				assert.Equal(t, store.Item{Key: "a/b", Version: 4, Str: map[string]string{"s": "x"}}, it)
				return
			}
			require.Error(t, err)
			var de *dynamostore.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.code, de.Code)
			assert.True(t, de.Throttled())
			assert.True(t, strings.HasPrefix(err.Error(), "dynamostore: get a/b: dynamodb: "+tc.code), "error %q", err)
			var api smithy.APIError
			assert.False(t, errors.As(err, &api), "the SDK error leaks: %v", err)
		})
	}
}

// TestRetryerBackoff: the delays of the retryer are capped and jittered.
func TestRetryerBackoff(t *testing.T) {
	const maxBackoff = 300 * time.Millisecond
	r := dynamostore.NewRetryer(10, maxBackoff)
	assert.Equal(t, 10, r.MaxAttempts())
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException"}
	assert.True(t, r.IsErrorRetryable(throttle))
	assert.True(t, r.IsErrorRetryable(&smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}))
	assert.False(t, r.IsErrorRetryable(&smithy.GenericAPIError{Code: "ValidationException"}))
	seen := map[time.Duration]bool{}
	for attempt := 1; attempt <= 200; attempt++ {
		d, err := r.RetryDelay(attempt%20+1, throttle)
		require.NoError(t, err)
		assert.LessOrEqual(t, d, maxBackoff, "attempt %d", attempt)
		seen[d] = true
	}
	assert.Greater(t, len(seen), 10, "delays are not jittered")
}
