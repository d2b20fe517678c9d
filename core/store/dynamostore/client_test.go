package dynamostore_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/awsload"
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
			client, err := awsload.DynamoDB(t.Context(), dynamostore.ClientConfig{
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
			assert.ErrorIs(t, err, store.ErrUnavailable, "throttled: nothing applied")
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

// answering is a fake DynamoDB endpoint that answers every request.
type answering struct {
	mu       sync.Mutex
	requests int
}

// count returns how many requests came (the server's goroutines write it).
func (a *answering) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}

func (a *answering) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	a.requests++
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = io.WriteString(w, `{"Item":{"pk":{"S":"a"},"sk":{"S":"b"},"v":{"N":"4"}},"Attributes":{"pk":{"S":"a"},"sk":{"S":"b"},"v":{"N":"4"}}}`)
}

// cutFirst is an http.RoundTripper whose first response body breaks after a
// few bytes with the error seen when a connection closes under a read, as
// if it broke after DynamoDB committed the request.
type cutFirst struct {
	mu   sync.Mutex
	done bool
}

func (c *cutFirst) Do(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		c.done = true
		resp.Body = &brokenBody{ReadCloser: resp.Body, left: 10}
	}
	return resp, nil
}

type brokenBody struct {
	io.ReadCloser
	left int
}

func (b *brokenBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}
	}
	n, err := b.ReadCloser.Read(p[:min(len(p), b.left)])
	b.left -= n
	return n, err
}

// TestNoRetryAfterCommit: a write whose response broke after an HTTP 200 is
// not repeated (it was committed); a read is.
func TestNoRetryAfterCommit(t *testing.T) {
	tests := []struct {
		name         string
		call         func(s *dynamostore.Store) error
		wantRequests int
		wantErr      bool
	}{
		{"get is retried", func(s *dynamostore.Store) error { _, err := s.Get(t.Context(), "a/b"); return err }, 2, false},
		{"update is not", func(s *dynamostore.Store) error {
			_, err := s.Update(t.Context(), store.Update{Key: "a/b", Upsert: true, AddNum: map[string]int64{"n": 1}})
			return err
		}, 1, true},
		{"create is not", func(s *dynamostore.Store) error { _, err := s.Create(t.Context(), store.Item{Key: "a/b"}); return err }, 1, true},
		{"delete is not", func(s *dynamostore.Store) error { return s.Delete(t.Context(), "a/b") }, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &answering{}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			client, err := awsload.DynamoDB(t.Context(), dynamostore.ClientConfig{
				Region: "us-east-1", Endpoint: srv.URL, MaxBackoff: time.Millisecond,
				Credentials:   credentials.NewStaticCredentialsProvider("k", "s", ""),
				ClientOptions: []func(*dynamodb.Options){func(o *dynamodb.Options) { o.HTTPClient = &cutFirst{} }},
			})
			require.NoError(t, err)
			err = tc.call(dynamostore.New(client, "t", dynamostore.Options{}))
			assert.Equal(t, tc.wantRequests, fake.count(), "requests")
			if tc.wantErr {
				require.Error(t, err)
				var api smithy.APIError
				assert.False(t, errors.As(err, &api))
			} else {
				require.NoError(t, err)
			}
		})
	}
}

// bodyKeeper sends requests through http.DefaultTransport and keeps the
// last request body it was handed.
type bodyKeeper struct {
	mu   sync.Mutex
	body io.ReadCloser
}

func (k *bodyKeeper) Do(r *http.Request) (*http.Response, error) {
	k.mu.Lock()
	k.body = r.Body
	k.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestRequestBodyEndsCleanlyAfterClose: the SDK closes a request body as
// soon as the response headers are in, while net/http may still probe it
// for extra bytes with io.Copy. That probe must see the end of the body, not
// an error (an error makes net/http close the connection under the response
// being read: "use of closed network connection" on a committed write).
func TestRequestBodyEndsCleanlyAfterClose(t *testing.T) {
	srv := httptest.NewServer(&answering{})
	defer srv.Close()
	keeper := &bodyKeeper{}
	client, err := awsload.DynamoDB(t.Context(), dynamostore.ClientConfig{
		Region: "us-east-1", Endpoint: srv.URL,
		Credentials:   credentials.NewStaticCredentialsProvider("k", "s", ""),
		ClientOptions: []func(*dynamodb.Options){func(o *dynamodb.Options) { o.HTTPClient = keeper }},
	})
	require.NoError(t, err)
	_, err = dynamostore.New(client, "t", dynamostore.Options{}).Update(t.Context(),
		store.Update{Key: "a/b", Upsert: true, Set: map[string]string{"s": strings.Repeat("x", 100_000)}})
	require.NoError(t, err)

	keeper.mu.Lock()
	body := keeper.body
	keeper.mu.Unlock()
	require.NotNil(t, body)
	require.NoError(t, body.Close(), "the SDK closed it already; closing again is harmless")
	n, err := io.Copy(io.Discard, body)
	assert.NoError(t, err, "net/http's probe for extra bytes after the SDK closed the body")
	assert.Zero(t, n)
}

// ambiguousFirst is a fake DynamoDB endpoint whose first request gets no
// usable answer (mode "cut": the connection is closed after the request was
// read; "500": an InternalServerError), and whose later requests succeed.
type ambiguousFirst struct {
	mu       sync.Mutex
	mode     string
	requests int
}

func (f *ambiguousFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.requests++
	first := f.requests == 1
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch {
	case first && f.mode == "cut":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	case first:
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`)
		return
	}
	_, _ = io.WriteString(w, `{"Item":{"pk":{"S":"a"},"sk":{"S":"b"},"v":{"N":"4"}},"Attributes":{"pk":{"S":"a"},"sk":{"S":"b"},"v":{"N":"5"}}}`)
}

// count returns how many requests came (the server's goroutines write it).
func (f *ambiguousFirst) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// TestNoRetryAfterAmbiguousAnswer: a write whose attempt may have been
// applied (the connection broke after the request was sent, or DynamoDB
// answered 500) is not repeated: its error is returned, for the caller to
// report as possibly applied. Reads are retried.
func TestNoRetryAfterAmbiguousAnswer(t *testing.T) {
	update := func(s *dynamostore.Store) error {
		_, err := s.Update(t.Context(), store.Update{Key: "a/b", Upsert: true, AddNum: map[string]int64{"n": 1}})
		return err
	}
	get := func(s *dynamostore.Store) error { _, err := s.Get(t.Context(), "a/b"); return err }
	tests := []struct {
		name         string
		mode         string
		call         func(s *dynamostore.Store) error
		wantRequests int
		wantErr      bool
	}{
		{"update after a cut connection", "cut", update, 1, true},
		{"update after a 500", "500", update, 1, true},
		{"delete after a cut connection", "cut", func(s *dynamostore.Store) error { return s.Delete(t.Context(), "a/b") }, 1, true},
		{"get after a cut connection", "cut", get, 2, false},
		{"get after a 500", "500", get, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &ambiguousFirst{mode: tc.mode}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			client, err := awsload.DynamoDB(t.Context(), dynamostore.ClientConfig{
				Region: "us-east-1", Endpoint: srv.URL, MaxBackoff: time.Millisecond,
				Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
			})
			require.NoError(t, err)
			err = tc.call(dynamostore.New(client, "t", dynamostore.Options{}))
			assert.Equal(t, tc.wantRequests, fake.count(), "requests")
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
		})
	}
}
