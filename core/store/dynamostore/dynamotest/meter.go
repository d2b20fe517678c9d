package dynamotest

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Meter is a reverse proxy in front of DynamoDB (Local) that counts, per
// operation (the X-Amz-Target header: "GetItem", "TransactWriteItems",
// ...), the requests and the failed conditions (answers of
// ConditionalCheckFailedException or TransactionCanceledException) of every
// client and process that talks through it. Counter does the same for one
// client of this process; a Meter is for processes started by the test
// (boskos serve, Lambda bootstraps) pointed at its URL. Safe for
// concurrent use.
type Meter struct {
	mu               sync.Mutex
	requests, failed map[string]int
}

// NewMeter starts a meter in front of endpoint and returns it and the URL
// to use instead; it stops with the test.
func NewMeter(tb testing.TB, endpoint string) (*Meter, string) {
	tb.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		tb.Fatalf("dynamotest: endpoint %q: %v", endpoint, err)
	}
	m := &Meter{requests: map[string]int{}, failed: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = m.count
	srv := httptest.NewServer(proxy)
	tb.Cleanup(srv.Close)
	return m, srv.URL
}

func (m *Meter) count(resp *http.Response) error {
	op := resp.Request.Header.Get("X-Amz-Target")
	op = op[strings.LastIndexByte(op, '.')+1:]
	failed := false
	if resp.StatusCode == http.StatusBadRequest {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		failed = bytes.Contains(body, []byte("ConditionalCheckFailedException")) ||
			bytes.Contains(body, []byte("TransactionCanceledException"))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[op]++
	if failed {
		m.failed[op]++
	}
	return nil
}

// Snapshot returns copies of the counts by operation: all requests, and
// those whose condition failed.
func (m *Meter) Snapshot() (requests, failed map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.requests), maps.Clone(m.failed)
}

// Reset sets every count to zero.
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests, m.failed = map[string]int{}, map[string]int{}
}
