package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/boskos-serverless/boskos/core/client"
)

// benchResult is what one bench run measured.
type benchResult struct {
	Cycles    int
	Elapsed   time.Duration
	P50, P99  time.Duration
	NotFound  int // acquires answered 404 (nothing free)
	OverQuota int // acquires answered 429 (the owner's quota is used up)
	Errors    int // any other failure
	FirstErr  error
}

// CyclesPerSec is the throughput of complete acquire→release cycles.
func (r benchResult) CyclesPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Cycles) / r.Elapsed.Seconds()
}

// runBench runs concurrency workers doing acquire→release cycles against c's
// server until d has passed or ctx ends. Each worker owns as bench-<i>; with
// a username, every request carries HTTP Basic credentials.
func runBench(ctx context.Context, serverURL, username, password, rtype, state, dest string, concurrency int, d time.Duration) (benchResult, error) {
	hc := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: concurrency * 2, MaxIdleConnsPerHost: concurrency * 2, IdleConnTimeout: 30 * time.Second},
	}
	defer hc.CloseIdleConnections()
	clients := make([]*client.Client, concurrency)
	for i := range clients {
		c, err := client.New(serverURL, fmt.Sprintf("bench-%d", i), client.Options{HTTPClient: hc, Username: username, Password: password})
		if err != nil {
			return benchResult{}, err
		}
		clients[i] = c
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	type workerResult struct {
		lat                         []time.Duration
		notFound, overQuota, errors int
		firstErr                    error
	}
	results := make([]workerResult, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range clients {
		wg.Go(func() {
			wr := &results[i]
			fail := func(err error) {
				wr.errors++
				if wr.firstErr == nil {
					wr.firstErr = err
				}
			}
			// A cycle that has begun runs to its end, so the pool is left
			// as found: an acquire cut off by the deadline could still
			// have been granted by the server.
			opCtx := context.WithoutCancel(ctx)
			for ctx.Err() == nil {
				t0 := time.Now()
				res, err := c.Acquire(opCtx, rtype, state, dest, "")
				if err != nil {
					if client.IsStatus(err, http.StatusNotFound) {
						wr.notFound++
						continue
					}
					if client.IsStatus(err, http.StatusTooManyRequests) {
						wr.overQuota++
						continue
					}
					fail(fmt.Errorf("acquire: %w", err))
					continue
				}
				if err := c.Release(opCtx, res.Name, state, res.Epoch); err != nil {
					fail(fmt.Errorf("release %s: %w", res.Name, err))
					continue
				}
				if ctx.Err() == nil {
					wr.lat = append(wr.lat, time.Since(t0))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if elapsed > d {
		elapsed = d
	}
	var all []time.Duration
	out := benchResult{Elapsed: elapsed}
	for _, wr := range results {
		all = append(all, wr.lat...)
		out.NotFound += wr.notFound
		out.OverQuota += wr.overQuota
		out.Errors += wr.errors
		if out.FirstErr == nil {
			out.FirstErr = wr.firstErr
		}
	}
	out.Cycles = len(all)
	slices.Sort(all)
	out.P50 = percentile(all, 0.50)
	out.P99 = percentile(all, 0.99)
	return out, nil
}

// percentile returns the p-quantile (nearest rank) of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// cmdBench is `boskos bench`.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench", stderr)
	serverURL := fs.String("url", "http://127.0.0.1:8080", "URL of the Boskos server")
	rtype := fs.String("type", "", "resource type to cycle over (required)")
	state := fs.String("state", "free", "state to acquire from (and release back to)")
	dest := fs.String("dest", "busy", "state while leased")
	conc := fs.Int("concurrency", 16, "number of concurrent clients")
	d := fs.Duration("duration", 10*time.Second, "how long to run")
	username := fs.String("username", "", "HTTP Basic username (a principal that may act as bench-*)")
	passwordFile := fs.String("password-file", "", "file holding the password of --username")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if (*username == "") != (*passwordFile == "") {
		fmt.Fprintln(stderr, "boskos bench: --username and --password-file go together")
		return 2
	}
	var password string
	if *passwordFile != "" {
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			fmt.Fprintf(stderr, "boskos bench: %v\n", err)
			return 2
		}
		password = strings.TrimSpace(string(b))
	}
	if *rtype == "" {
		fmt.Fprintln(stderr, "boskos bench: --type is required")
		return 2
	}
	if *conc < 1 || *d <= 0 {
		fmt.Fprintln(stderr, "boskos bench: --concurrency and --duration must be positive")
		return 2
	}
	res, err := runBench(ctx, *serverURL, *username, password, *rtype, *state, *dest, *conc, *d)
	if err != nil {
		fmt.Fprintf(stderr, "boskos bench: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "url: %s\ntype: %s\nconcurrency: %d\nduration: %s\n", *serverURL, *rtype, *conc, res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "cycles: %d\ncycles/s: %.1f\np50: %s\np99: %s\nnot-found: %d\nover-quota: %d\nerrors: %d\n",
		res.Cycles, res.CyclesPerSec(), res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond), res.NotFound, res.OverQuota, res.Errors)
	if res.FirstErr != nil {
		fmt.Fprintf(stdout, "first-error: %v\n", res.FirstErr)
	}
	if res.Cycles == 0 {
		return 1
	}
	return 0
}
