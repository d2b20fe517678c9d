package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/tests/reliability/linearize"
)

// The overload pool, and the pool of the FIFO check after it (the load
// leaves the queue entries of the clients still waiting when it stopped,
// which keep their places for the request TTL, as upstream's do).
const (
	overloadType = "ovl"
	fifoType     = "fifo"
)

// serverStats is what the server's /metrics says about its process.
type serverStats struct {
	goroutines int
	rss        float64 // bytes
}

// scrape reads go_goroutines and process_resident_memory_bytes.
func scrape(ctx context.Context, hc *http.Client, base string) (serverStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return serverStats{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return serverStats{}, err
	}
	defer resp.Body.Close()
	var s serverStats
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "go_goroutines":
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return s, err
			}
			s.goroutines = int(f)
			found++
		case "process_resident_memory_bytes":
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return s, err
			}
			s.rss = f
			found++
		}
	}
	if found != 2 {
		return s, fmt.Errorf("/metrics: go_goroutines or process_resident_memory_bytes missing")
	}
	return s, sc.Err()
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// TestOverload runs 512 clients polling 8 resources with request_ids on
// `boskos serve` (bolt store): /healthz keeps answering quickly, the
// server's goroutines and memory stay bounded during the load and its
// goroutines come back to their level after it; then, with only
// request_id callers waiting, the queue serves them in FIFO order.
func TestOverload(t *testing.T) {
	clients := knob(t, "BOSKOS_RELIABILITY_OVERLOAD_CLIENTS", 512, 512)
	// The load ends after this many grants in all (0: when every client
	// has leased cycles times, its queue entry then gone).
	target := int64(knob(t, "BOSKOS_RELIABILITY_OVERLOAD_GRANTS", 32, 0))
	cycles := knob(t, "BOSKOS_RELIABILITY_OVERLOAD_CYCLES", 1, 2)
	// pause is the least pause between two polls of one client, in ms.
	pause := knob(t, "BOSKOS_RELIABILITY_OVERLOAD_PAUSE_MS", 20, 20)
	const resources = 8
	cfg, _ := poolConfig(overloadType, resources)
	fifo, _ := poolConfig(fifoType, resources)
	cfg.Resources = append(cfg.Resources, fifo.Resources...)
	srv := startServe(t, "--config", writeConfig(t, cfg), "--store", "bolt:"+t.TempDir()+"/boskos.db",
		"--request-ttl", "10m", "--gc-period", "10m")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // failure guard only
	defer cancel()
	probe := newHTTPClient(4, 30*time.Second)
	before, err := scrape(ctx, probe, srv.URL)
	require.NoError(t, err)
	s := seed(t)
	start := time.Now()

	// The load: every client leases up to cycles times (acquire with its
	// request_id until granted, one heartbeat, release), until target.
	load := newHTTPClient(clients, time.Minute)
	var grants, polls atomic.Int64
	stop := func() bool { return target > 0 && grants.Load() >= target }
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(s, uint64(i)))
			owner := fmt.Sprintf("o%d", i)
			for c := 0; c < cycles && !stop(); c++ {
				q := url.Values{"type": {overloadType}, "state": {"free"}, "dest": {"busy"}, "owner": {owner},
					"request_id": {fmt.Sprintf("%s-%d", owner, c)}}
				var r linearize.WireResource
				for {
					if stop() {
						return
					}
					polls.Add(1)
					status, body, amb := linearize.Call(ctx, load, http.MethodPost, srv.URL+"/acquire?"+q.Encode(), "")
					if amb || (status != http.StatusOK && status != http.StatusNotFound) {
						errs <- fmt.Errorf("%s: acquire: %d %q", owner, status, body)
						return
					}
					if status == http.StatusOK {
						if err := json.Unmarshal(body, &r); err != nil {
							errs <- err
							return
						}
						break
					}
					// A polling client's pause (the Go client waits seconds);
					// nothing depends on its length.
					time.Sleep(time.Duration(pause+rng.IntN(pause)) * time.Millisecond)
				}
				grants.Add(1)
				for _, op := range []string{
					"/update?" + url.Values{"name": {r.Name}, "owner": {owner}, "state": {"busy"}, "epoch": {fmt.Sprint(r.Epoch)}}.Encode(),
					"/release?" + url.Values{"name": {r.Name}, "owner": {owner}, "dest": {"free"}, "epoch": {fmt.Sprint(r.Epoch)}}.Encode(),
				} {
					if status, body, _ := linearize.Call(ctx, load, http.MethodPost, srv.URL+op, ""); status != http.StatusOK {
						errs <- fmt.Errorf("%s: %s: %d %q", owner, op, status, body)
						return
					}
				}
			}
		}()
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()

	// While it runs: /healthz latency and the server's figures, sampled
	// until the load is over (at least once).
	var healthMax time.Duration
	var probes int
	peak := before
	for {
		done := false
		select {
		case <-loadDone:
			done = true // one last sample, then stop
		default:
		}
		t0 := time.Now()
		status, _, amb := linearize.Call(ctx, probe, http.MethodGet, srv.URL+"/healthz", "")
		d := time.Since(t0)
		require.False(t, amb, "/healthz did not answer")
		require.Equal(t, http.StatusOK, status)
		healthMax, probes = max(healthMax, d), probes+1
		st, err := scrape(ctx, probe, srv.URL)
		require.NoError(t, err)
		peak.goroutines, peak.rss = max(peak.goroutines, st.goroutines), max(peak.rss, st.rss)
		if done {
			break
		}
		select {
		case <-loadDone:
		case <-time.After(50 * time.Millisecond): // sampling period
		}
	}
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, ctx.Err())
	loadTime := time.Since(start)
	if target == 0 {
		require.Equal(t, int64(clients*cycles), grants.Load())
	}

	// After: idle connections closed, the goroutines must come back.
	load.CloseIdleConnections()
	var after serverStats
	for {
		after, err = scrape(ctx, probe, srv.URL)
		require.NoError(t, err)
		if after.goroutines <= before.goroutines+5 || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("reliability: overload: clients=%d grants=%d polls=%d in %s; /healthz max %s over %d probes; goroutines before=%d peak=%d after=%d; rss before=%s peak=%s after=%s",
		clients, grants.Load(), polls.Load(), loadTime.Round(time.Millisecond), healthMax.Round(time.Millisecond), probes,
		before.goroutines, peak.goroutines, after.goroutines, mib(before.rss), mib(peak.rss), mib(after.rss))
	assert.Less(t, healthMax, 2*time.Second, "/healthz must stay responsive under load")
	assert.LessOrEqual(t, peak.goroutines, before.goroutines+3*clients+64, "goroutines must be bounded by the connections")
	assert.Less(t, peak.rss, float64(512<<20), "memory must stay bounded")
	assert.LessOrEqual(t, after.goroutines, before.goroutines+5, "goroutines leaked after the load")

	t.Run("request_id queue is FIFO afterwards", func(t *testing.T) {
		fifoAfterLoad(t, ctx, srv.URL, resources)
	})
}

// fifoAfterLoad takes every resource, queues waiters one after the other,
// then frees one resource at a time and lets every remaining waiter poll
// at once: only the head of the queue may get it.
func fifoAfterLoad(t *testing.T, ctx context.Context, base string, resources int) {
	hc := newHTTPClient(64, time.Minute)
	acquire := func(owner, id string) (int, linearize.WireResource) {
		q := url.Values{"type": {fifoType}, "state": {"free"}, "dest": {"busy"}, "owner": {owner}}
		if id != "" {
			q.Set("request_id", id)
		}
		status, body, amb := linearize.Call(ctx, hc, http.MethodPost, base+"/acquire?"+q.Encode(), "")
		require.False(t, amb, "acquire %s: %d %q", owner, status, body)
		var r linearize.WireResource
		if status == http.StatusOK {
			require.NoError(t, json.Unmarshal(body, &r))
		}
		return status, r
	}
	release := func(r linearize.WireResource) {
		q := url.Values{"name": {r.Name}, "owner": {r.Owner}, "dest": {"free"}, "epoch": {fmt.Sprint(r.Epoch)}}
		status, body, _ := linearize.Call(ctx, hc, http.MethodPost, base+"/release?"+q.Encode(), "")
		require.Equal(t, http.StatusOK, status, "release %s: %q", r.Name, body)
	}
	var held []linearize.WireResource
	for i := range resources {
		status, r := acquire(fmt.Sprintf("holder%d", i), "")
		require.Equal(t, http.StatusOK, status, "holder %d", i)
		held = append(held, r)
	}
	const waiters = 16
	for i := range waiters {
		status, _ := acquire(fmt.Sprintf("w%d", i), fmt.Sprintf("w%d-id", i))
		require.Equal(t, http.StatusNotFound, status, "waiter %d", i)
	}
	for head := range waiters {
		release(held[0])
		held = held[1:]
		statuses := make([]int, waiters)
		granted := make([]linearize.WireResource, waiters)
		var wg sync.WaitGroup
		for i := head; i < waiters; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], granted[i] = acquire(fmt.Sprintf("w%d", i), fmt.Sprintf("w%d-id", i))
			}()
		}
		wg.Wait()
		for i := head; i < waiters; i++ {
			want := http.StatusNotFound
			if i == head {
				want = http.StatusOK
			}
			require.Equal(t, want, statuses[i], "step %d: waiter %d (the head of the queue is waiter %d)", head, i, head)
		}
		held = append(held, granted[head])
	}
	for _, r := range held {
		release(r)
	}
}
