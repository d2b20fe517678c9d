package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/awsload"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// counts lists m's total and its counts by operation, sorted.
func counts(m map[string]int) string {
	var parts []string
	total := 0
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		total += v
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, " "))
}

// TestQueueContentionCost measures what enforcing the request_id queue at
// the write costs under contention: two services (each its own Ranch and
// DynamoDB client, as two processes) on one DynamoDB Local table, 64
// clients on 8 resources, half of them polling with a request_id until
// granted, half without; every lease held 20 ms, so that the pool runs out
// and request_ids wait. It logs cycles/s,
// DynamoDB requests by operation and failed conditional writes per grant
// (counted by a proxy), and checks that every resource is free at the end
// and no grant went to two holders at once (epochs distinct per resource).
func TestQueueContentionCost(t *testing.T) {
	endpoint := dynamotest.Endpoint(t)
	const (
		resources = 8
		// leaseHold is how long a client keeps a lease: long enough that
		// the pool runs out and request_ids queue.
		leaseHold = 20 * time.Millisecond
	)
	clients := knob(t, "BOSKOS_RELIABILITY_QUEUE_CLIENTS", 64, 64)
	target := int64(knob(t, "BOSKOS_RELIABILITY_QUEUE_GRANTS", 100, 2000))
	_, table := dynamotest.NewTable(t)
	meter, proxyURL := dynamotest.NewMeter(t, endpoint)
	cfg, names := poolConfig("qc", resources)
	var urls []string
	for i := range 2 {
		api, err := awsload.DynamoDB(context.Background(), dynamostore.ClientConfig{
			Region: dynamotest.Region, Endpoint: proxyURL,
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		})
		require.NoError(t, err)
		r := ranch.New(dynamostore.New(api, table, dynamostore.Options{}), ranch.Options{
			RequestTTL: 10 * time.Minute, SpreadWindow: ranch.DefaultSpreadWindow, Logger: quietLogger()})
		if i == 0 {
			require.NoError(t, r.SyncConfig(context.Background(), cfg))
		}
		srv := httptest.NewServer(httpapi.New(r, httpapi.Options{Logger: quietLogger()}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	hc := newHTTPClient(clients, time.Minute)
	meter.Reset()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // failure guard only
	defer cancel()
	var (
		granted, queuedGrants, polls atomic.Int64
		mu                           sync.Mutex
		epochs                       = map[string]map[int64]string{}
		problems                     []string
		wg                           sync.WaitGroup
	)
	start := time.Now()
	for i := range clients {
		owner := fmt.Sprintf("q-%d", i)
		base := urls[i%len(urls)]
		withID := i%2 == 0
		wg.Go(func() {
			for n := 0; ctx.Err() == nil && granted.Load() < target; n++ {
				q := url.Values{"type": {"qc"}, "state": {"free"}, "dest": {"busy"}, "owner": {owner}}
				if withID {
					q.Set("request_id", fmt.Sprintf("%s-%d", owner, n))
				}
				for ctx.Err() == nil && granted.Load() < target {
					status, body, _ := callPost(ctx, hc, base+"/acquire?"+q.Encode())
					polls.Add(1)
					if status == http.StatusNotFound {
						continue
					}
					var res struct {
						Name  string `json:"name"`
						Epoch int64  `json:"epoch"`
					}
					if status != http.StatusOK || json.Unmarshal(body, &res) != nil {
						mu.Lock()
						problems = append(problems, fmt.Sprintf("acquire %d: %s", status, body))
						mu.Unlock()
						return
					}
					granted.Add(1)
					if withID {
						queuedGrants.Add(1)
					}
					mu.Lock()
					if epochs[res.Name] == nil {
						epochs[res.Name] = map[int64]string{}
					}
					if prev, dup := epochs[res.Name][res.Epoch]; dup {
						problems = append(problems, fmt.Sprintf("%s epoch %d granted to %s and %s", res.Name, res.Epoch, prev, owner))
					}
					epochs[res.Name][res.Epoch] = owner
					mu.Unlock()
					time.Sleep(leaseHold) // the job using the resource
					status, body, _ = callPost(ctx, hc, base+"/release?"+url.Values{"name": {res.Name}, "dest": {"free"}, "owner": {owner}}.Encode())
					if status != http.StatusOK {
						mu.Lock()
						problems = append(problems, fmt.Sprintf("release %s: %d %s", res.Name, status, body))
						mu.Unlock()
					}
					break
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.NoError(t, ctx.Err(), "the clients did not reach %d grants in time (%d)", target, granted.Load())
	assert.Empty(t, problems)
	req, _ := http.NewRequest(http.MethodGet, urls[0]+"/metric?type=qc", nil)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.JSONEq(t, fmt.Sprintf(`{"type":"qc","current":{"free":%d},"owner":{"":%d}}`, len(names), len(names)), string(b))

	requests, failedOps := meter.Snapshot()
	failed := sumCounts(failedOps)
	n := granted.Load()
	t.Logf("reliability: queue contention: 2 services, %d clients (half with request_id), %d resources: %d grants (%d to request_ids) in %s = %.0f cycles/s; %d acquire calls (%.1f per grant); DynamoDB requests %s = %.2f per grant; failed conditional writes %s = %.3f per grant",
		clients, resources, n, queuedGrants.Load(), elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(),
		polls.Load(), float64(polls.Load())/float64(n), counts(requests), float64(sumCounts(requests))/float64(n),
		counts(failedOps), float64(failed)/float64(n))
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// callPost sends a POST to target and returns the status and body
// (status 0 when there was no answer).
func callPost(ctx context.Context, hc *http.Client, target string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
