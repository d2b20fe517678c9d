package compat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// call sends a POST (or GET) with query q to base+path and returns the
// status and body.
func call(t *testing.T, hc *http.Client, method, base, path string, q url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path+"?"+q.Encode(), nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// grant is one lease seen by a client. acqRecv is when the acquire's answer
// arrived and relSent when the release was sent: the server-side lease lies
// within [acquire sent, release answered], and the next lease of the same
// resource can only be granted after this release took effect, so it must
// be answered after relSent.
type grant struct {
	name, owner      string
	epoch            int64
	acqRecv, relSent time.Time
	relStatus        int
	relBody          string
}

// TestCrossProcessDynamo runs two `boskos serve` processes on one DynamoDB
// Local table: the request_id queue is shared by the processes, and 2 x 32
// clients cycling acquire/release over 8 resources never see a resource
// held by two owners. It reports the conditional-check failures per
// successful acquire, counted by a proxy in front of DynamoDB Local.
func TestCrossProcessDynamo(t *testing.T) {
	const (
		perProcess = 32
		resources  = 8
		target     = 400 // successful acquires, in total
	)
	for _, kv := range [][2]string{
		{"AWS_ACCESS_KEY_ID", "local"}, {"AWS_SECRET_ACCESS_KEY", "local"},
		{"AWS_REGION", "us-east-1"}, {"AWS_EC2_METADATA_DISABLED", "true"},
	} {
		t.Setenv(kv[0], kv[1])
	}
	bin := buildBoskos(t)
	endpoint := dynamotest.Endpoint(t)
	_, table := dynamotest.NewTable(t)
	meter, proxyURL := dynamotest.NewMeter(t, endpoint)

	var names []string
	for i := range resources {
		names = append(names, fmt.Sprintf("cp-%d", i))
	}
	config := "resources:\n- type: cp\n  state: free\n  names: [" + strings.Join(names, ", ") + "]\n" +
		"- type: q\n  state: free\n  names: [q-1]\n"
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(config), 0o644))
	args := []string{"--config", cfgPath, "--store", "dynamodb:" + table,
		"--dynamodb-endpoint", proxyURL, "--dynamodb-region", "us-east-1"}
	p1 := startBoskos(t, bin, args...)
	p2 := startBoskos(t, bin, args...)
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * perProcess}}

	t.Run("request_id queue is shared", func(t *testing.T) {
		acquire := func(base, owner, id string) (int, string) {
			q := url.Values{"type": {"q"}, "state": {"free"}, "dest": {"busy"}, "owner": {owner}}
			if id != "" {
				q.Set("request_id", id)
			}
			return call(t, hc, http.MethodPost, base, "/acquire", q)
		}
		steps := []struct {
			name       string
			do         func() (int, string)
			wantStatus int
		}{
			{"A takes q-1 through process 1", func() (int, string) { return acquire(p1.URL, "a", "req-a") }, 200},
			{"B queues through process 2", func() (int, string) { return acquire(p2.URL, "b", "req-b") }, 404},
			{"A releases through process 2", func() (int, string) {
				return call(t, hc, http.MethodPost, p2.URL, "/release", url.Values{"name": {"q-1"}, "dest": {"free"}, "owner": {"a"}})
			}, 200},
			{"anonymous through process 1 ranks behind B", func() (int, string) { return acquire(p1.URL, "anon", "") }, 404},
			{"C through process 1 ranks behind B", func() (int, string) { return acquire(p1.URL, "c", "req-c") }, 404},
			{"B gets q-1 through process 1", func() (int, string) { return acquire(p1.URL, "b", "req-b") }, 200},
		}
		for _, s := range steps {
			status, body := s.do()
			require.Equal(t, s.wantStatus, status, "%s: body %q", s.name, body)
		}
	})

	t.Run("no double lease", func(t *testing.T) {
		leaseLoad(t, hc, []string{p1.URL, p2.URL}, 2*perProcess, "cp", resources, target, meter)
	})
}

// leaseLoad runs clients goroutines, spread over the servers at urls, that
// cycle acquire/release (with the epoch) over the resources of rtype until
// target acquires succeeded in total. It checks that no resource was ever
// held by two owners and that all are free at the end, and logs the
// throughput, the DynamoDB requests and the conditional-check failures per
// successful acquire counted by meter.
func leaseLoad(t *testing.T, hc *http.Client, urls []string, clients int, rtype string, resources int, target int64, meter *dynamotest.Meter) {
	t.Helper()
	base, baseFailed := meter.Snapshot()
	// A failure guard only: on a loaded machine a lease of this hot pool
	// (a transaction with its queue item's check) can take a second.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	var (
		mu         sync.Mutex
		grants     []grant
		acquired   atomic.Int64
		busy       atomic.Int64
		unexpected []string
		wg         sync.WaitGroup
		start      = time.Now()
	)
	for i := range clients {
		srvURL := urls[i%len(urls)]
		owner := fmt.Sprintf("client-%d", i)
		wg.Go(func() {
			for ctx.Err() == nil && acquired.Load() < target {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srvURL+"/acquire?"+url.Values{
					"type": {rtype}, "state": {"free"}, "dest": {"busy"}, "owner": {owner}}.Encode(), nil)
				resp, err := hc.Do(req)
				if err != nil {
					return // deadline
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				recv := time.Now()
				switch resp.StatusCode {
				case http.StatusOK:
				case http.StatusNotFound:
					busy.Add(1)
					time.Sleep(time.Duration(1+rand.IntN(4)) * time.Millisecond)
					continue
				default:
					mu.Lock()
					unexpected = append(unexpected, fmt.Sprintf("acquire %d: %s", resp.StatusCode, body))
					mu.Unlock()
					continue
				}
				var res struct {
					Name  string `json:"name"`
					Owner string `json:"owner"`
					Epoch int64  `json:"epoch"`
				}
				if err := json.Unmarshal(body, &res); err != nil || res.Owner != owner {
					mu.Lock()
					unexpected = append(unexpected, fmt.Sprintf("acquire answer %q (%v)", body, err))
					mu.Unlock()
					continue
				}
				acquired.Add(1)
				time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond) // hold it a little
				g := grant{name: res.Name, owner: owner, epoch: res.Epoch, acqRecv: recv, relSent: time.Now()}
				rreq, _ := http.NewRequest(http.MethodPost, srvURL+"/release?"+url.Values{
					"name": {res.Name}, "dest": {"free"}, "owner": {owner},
					"epoch": {fmt.Sprint(res.Epoch)}}.Encode(), nil)
				rresp, err := hc.Do(rreq)
				if err != nil {
					g.relStatus, g.relBody = -1, err.Error()
				} else {
					b, _ := io.ReadAll(rresp.Body)
					rresp.Body.Close()
					g.relStatus, g.relBody = rresp.StatusCode, string(b)
				}
				mu.Lock()
				grants = append(grants, g)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.NoError(t, ctx.Err(), "the clients did not reach %d acquires in time (%d)", target, acquired.Load())

	// Every release is accepted: its owner still held the resource.
	for _, g := range grants {
		assert.Equal(t, http.StatusOK, g.relStatus, "release of %s epoch %d by %s: %s", g.name, g.epoch, g.owner, g.relBody)
	}
	violations, leased := leaseViolations(grants)
	assert.Empty(t, violations, "double leases")
	assert.Equal(t, resources, leased, "every resource was leased")
	assert.Empty(t, unexpected, "unexpected answers")

	reqs, failed := meter.Snapshot()
	for k, v := range base {
		reqs[k] -= v
	}
	for k, v := range baseFailed {
		failed[k] -= v
	}

	// All free again.
	status, body := call(t, hc, http.MethodGet, urls[0], "/metric", url.Values{"type": {rtype}})
	require.Equal(t, 200, status, body)
	assert.JSONEq(t, fmt.Sprintf(`{"type":%q,"current":{"free":%d},"owner":{"":%d}}`, rtype, resources, resources), body)

	n := acquired.Load()
	t.Logf("%d servers, %d clients, %d resources: %d acquires + releases in %v (%.0f cycles/s); %d busy answers (404)",
		len(urls), clients, resources, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), busy.Load())
	t.Logf("DynamoDB requests: %v (%.2f per acquire+release cycle, 404s included)", reqs, float64(sum(reqs))/float64(n))
	t.Logf("conditional-check failures: %v = %.3f per successful acquire", failed, float64(sum(failed))/float64(n))
}

// TestContentionLambda is the same kind of load through the real Lambda
// binaries: 16 clients, 8 resources, 8 execution environments of the
// acquire and release functions (other processes, like Lambda's
// concurrency), one DynamoDB Local table. Two clients per environment, not
// eight: an environment serves one invocation at a time, so with 64
// clients an acquire queued at the gateway behind seven others, each a
// transaction waiting for DynamoDB Local's locks (the queue item), and ran
// past the 20-second integration timeout on a loaded machine (503s). The functions spread concurrent acquires over the
// free resources updated within BOSKOS_SPREAD_WINDOW (default
// ranch.DefaultSpreadWindow) of the oldest, which the logged
// conditional-check failures per acquire reflect.
func TestContentionLambda(t *testing.T) {
	const resources = 8
	bins := buildLambdas(t)
	endpoint := dynamotest.Endpoint(t)
	client, table := dynamotest.NewTable(t)
	meter, proxyURL := dynamotest.NewMeter(t, endpoint)
	var names []string
	for i := range resources {
		names = append(names, fmt.Sprintf("cp-%d", i))
	}
	seedTable(t, client, table, "resources:\n- type: cp\n  state: free\n  names: ["+strings.Join(names, ", ")+"]\n")
	url := startAPI(t, bins, table, proxyURL, map[string]int{"acquire": 8, "release": 8})
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	leaseLoad(t, hc, []string{url}, 16, "cp", resources, 400, meter)
}

// leaseViolations checks the grants of a run, per resource: epochs are
// distinct and consecutive (no acquire went unseen), and each lease was
// answered only after the previous one's release was sent (otherwise two
// owners held the resource at once). It returns the violations and how
// many resources were leased.
func leaseViolations(grants []grant) (violations []string, leased int) {
	byName := map[string][]grant{}
	for _, g := range grants {
		byName[g.name] = append(byName[g.name], g)
	}
	for name, gs := range byName {
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].epoch < gs[j].epoch })
		for i := 1; i < len(gs); i++ {
			prev, cur := gs[i-1], gs[i]
			if cur.epoch != prev.epoch+1 {
				violations = append(violations, fmt.Sprintf("%s: epoch %d (%s) follows epoch %d (%s)",
					name, cur.epoch, cur.owner, prev.epoch, prev.owner))
				continue
			}
			if !prev.relSent.Before(cur.acqRecv) {
				violations = append(violations, fmt.Sprintf("%s: epoch %d (%s) was granted before epoch %d (%s) was released",
					name, cur.epoch, cur.owner, prev.epoch, prev.owner))
			}
		}
	}
	sort.Strings(violations)
	return violations, len(byName)
}

func TestLeaseViolations(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	g := func(name string, epoch int64, owner string, acq, rel int) grant {
		return grant{name: name, epoch: epoch, owner: owner, acqRecv: at(acq), relSent: at(rel)}
	}
	tests := []struct {
		name       string
		grants     []grant
		want       []string
		wantLeased int
	}{
		{name: "one after the other, out of order", wantLeased: 2, grants: []grant{
			g("r", 2, "b", 20, 30), g("r", 1, "a", 0, 10), g("s", 5, "a", 0, 100)}},
		{name: "overlap", wantLeased: 1, grants: []grant{g("r", 1, "a", 0, 10), g("r", 2, "b", 5, 30)},
			want: []string{"r: epoch 2 (b) was granted before epoch 1 (a) was released"}},
		{name: "unseen acquire", wantLeased: 1, grants: []grant{g("r", 1, "a", 0, 10), g("r", 3, "b", 20, 30)},
			want: []string{"r: epoch 3 (b) follows epoch 1 (a)"}},
		{name: "same epoch twice", wantLeased: 1, grants: []grant{g("r", 1, "a", 0, 10), g("r", 1, "b", 20, 30)},
			want: []string{"r: epoch 1 (b) follows epoch 1 (a)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, leased := leaseViolations(tc.grants)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantLeased, leased)
		})
	}
}
