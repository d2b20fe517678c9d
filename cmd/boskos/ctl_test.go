package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/client"
)

// TestClientCommands drives the boskosctl-compatible commands against a
// real server.
func TestClientCommands(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "config.yaml", "resources:\n- type: thing\n  state: new\n  names: [thing-1]\n")
	srv := startServe(t, "--config", cfg, "--in_memory")
	ctx := context.Background()
	g := func(owner string) []string { return []string{"--server-url", srv.URL, "--owner-name", owner} }

	code, stdout, stderr := runCmd(ctx, append([]string{"acquire", "--type", "thing", "--state", "new", "--target-state", "old"}, g("alice")...)...)
	require.Equal(t, 0, code, stderr)
	require.True(t, strings.HasSuffix(stdout, "}\n"), "got %q, want one JSON line", stdout)
	var res boskos.Resource
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Equal(t, "thing-1", res.Name)
	assert.Equal(t, "old", res.State)
	assert.Equal(t, "alice", res.Owner)

	code, _, stderr = runCmd(ctx, append([]string{"acquire", "--type", "thing", "--state", "new", "--target-state", "old"}, g("bob")...)...)
	assert.Equal(t, 1, code)
	assert.Equal(t, "failed to acquire a resource: resources not found\n", stderr)

	code, stdout, stderr = runCmd(ctx, append([]string{"metrics", "--type", "thing"}, g("x")...)...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `{"type":"thing","current":{"old":1},"owner":{"alice":1}}`+"\n", stdout)

	// Heartbeats with the acquire output, as in boskosctl's docs; userdata
	// in the resource JSON is sent along.
	hb := strings.Replace(strings.TrimSpace(stdoutOf(t, res)), `"userdata":{}`, `"userdata":{"k":"v"}`, 1)
	code, stdout, stderr = runCmd(ctx, append([]string{"heartbeat", "--resource", hb, "--period", "10ms", "--timeout", "1s"}, g("alice")...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `heartbeat sent for resource "thing-1"`)
	assert.Contains(t, stdout, `reached timeout, stopping heartbeats for resource "thing-1"`)
	// Someone else's heartbeat fails (401) and gives up after --retries.
	code, _, stderr = runCmd(ctx, append([]string{"heartbeat", "--resource", hb, "--period", "5ms", "--retries", "1"}, g("mallory")...)...)
	assert.Equal(t, 1, code)
	assert.Equal(t, 2, strings.Count(stderr, `failed to send heartbeat for resource "thing-1"`), stderr)
	assert.Contains(t, stderr, "401")

	code, _, stderr = runCmd(ctx, append([]string{"release", "--name", "thing-1", "--target-state", "new"}, g("bob")...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `failed to release resource "thing-1": status 401 Unauthorized`)
	code, stdout, stderr = runCmd(ctx, append([]string{"release", "--name", "thing-1", "--target-state", "new"}, g("alice")...)...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "released resource \"thing-1\"\n", stdout)

	// The released resource kept the heartbeat's userdata.
	code, stdout, stderr = runCmd(ctx, append([]string{"acquire", "--type", "thing", "--state", "new", "--target-state", "old"}, g("carol")...)...)
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Equal(t, boskos.UserData{"k": "v"}, res.UserData)

	// --timeout waits in the queue until carol releases.
	misses := func() int { return strings.Count(srv.Stderr.String(), "path=/acquire status=404") }
	before := misses()
	var wg sync.WaitGroup
	var waitCode int
	var waitOut, waitErr string
	wg.Go(func() {
		waitCode, waitOut, waitErr = runCmd(ctx, append([]string{"acquire", "--type", "thing", "--state", "new", "--target-state", "old", "--timeout", "30s", "--poll-interval", "10ms"}, g("dave")...)...)
	})
	// Release once dave is known to be waiting (the server turned him away).
	require.Eventually(t, func() bool { return misses() > before }, 10*time.Second, 5*time.Millisecond)
	code, _, stderr = runCmd(ctx, append([]string{"release", "--name", "thing-1", "--target-state", "new"}, g("carol")...)...)
	require.Equal(t, 0, code, stderr)
	wg.Wait()
	require.Equal(t, 0, waitCode, waitErr)
	assert.Contains(t, waitOut, `"owner":"dave"`)
	// The server records the history (serve's default): the estimate is
	// thing-1's hold times on the wall clock (alice held it over a 1s
	// heartbeat run), so only its form is pinned.
	assert.Regexp(t, `^waiting: position 1 of 1, about [1-9][0-9]*s\n$`, waitErr, "the place in the queue and the estimate, printed once")

	// Unknown type with a short --timeout: not found after the wait.
	code, _, stderr = runCmd(ctx, append([]string{"acquire", "--type", "nope", "--state", "new", "--target-state", "old", "--timeout", "300ms", "--poll-interval", "10ms"}, g("erin")...)...)
	assert.Equal(t, 1, code)
	assert.Equal(t, "failed to acquire a resource: resources not found\n", stderr)
}

// TestWaitPrinter: a waiting acquire prints its place in the queue each
// time it changes, with the server's estimate when there is one.
func TestWaitPrinter(t *testing.T) {
	var b strings.Builder
	p := waitPrinter(&b)
	for _, q := range []client.QueueInfo{
		{Position: 3, Length: 5}, {Position: 3, Length: 5}, {Position: 2, Length: 5},
		{Position: 1, Length: 4, EstimatedWait: 42 * time.Second}, {Position: 1, Length: 4, EstimatedWait: 42 * time.Second},
	} {
		p(q)
	}
	assert.Equal(t, "waiting: position 3 of 5\nwaiting: position 2 of 5\nwaiting: position 1 of 4, about 42s\n", b.String())
}

func stdoutOf(t *testing.T, r boskos.Resource) string {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return string(b)
}

// TestClientCommandsWire pins the requests the commands send (boskosctl's
// wire examples) with a recording server.
func TestClientCommandsWire(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth := ""
		if u, p, ok := r.BasicAuth(); ok {
			auth = " auth=" + u + ":" + p
		}
		got = append(got, r.Method+" "+r.URL.RequestURI()+auth)
		mu.Unlock()
		switch r.URL.Path {
		case "/acquire":
			_, _ = w.Write([]byte(`{"type":"thing","name":"identifier","state":"old","owner":"test","lastupdate":"2006-01-02T15:04:05Z","userdata":{}}`))
		case "/metric":
			_, _ = w.Write([]byte(`{"type":"thing","current":{},"owner":{}}`))
		}
	}))
	defer srv.Close()
	pw := writeFile(t, t.TempDir(), "pw", "secret\n")
	ctx := context.Background()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "acquire", args: []string{"acquire", "--type", "thing", "--state", "new", "--target-state", "old"},
			want: "POST /acquire?dest=old&owner=test&state=new&type=thing"},
		{name: "acquire with basic auth", args: []string{"acquire", "--type", "thing", "--state", "new", "--target-state", "old", "--username", "test", "--password-file", pw},
			want: "POST /acquire?dest=old&owner=test&state=new&type=thing auth=test:secret"},
		{name: "release", args: []string{"release", "--name", "identifier", "--target-state", "old"},
			want: "POST /release?dest=old&name=identifier&owner=test"},
		{name: "metrics", args: []string{"metrics", "--type", "thing"}, want: "GET /metric?type=thing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			code, _, stderr := runCmd(ctx, append(tc.args, "--server-url", srv.URL+"/ignored/prefix", "--owner-name", "test")...)
			require.Equal(t, 0, code, stderr)
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []string{tc.want}, got)
		})
	}
}

func TestClientCommandsUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{name: "acquire without flags", args: []string{"acquire", "--server-url", "http://x", "--owner-name", "o"}, wantCode: 2, want: `required flag(s) "type", "state", "target-state" not set`},
		{name: "no server url", args: []string{"release", "--name", "n", "--target-state", "s", "--owner-name", "o"}, wantCode: 1, want: `required flag(s) "server-url" not set`},
		{name: "no owner", args: []string{"metrics", "--type", "t", "--server-url", "http://x"}, wantCode: 1, want: `required flag(s) "owner-name" not set`},
		{name: "bad url", args: []string{"metrics", "--type", "t", "--server-url", "localhost:8080", "--owner-name", "o"}, wantCode: 1, want: "invalid server URL"},
		{name: "username without password file", args: []string{"metrics", "--type", "t", "--server-url", "http://x", "--owner-name", "o", "--username", "u"}, wantCode: 1, want: "username and passwordFile must be specified together"},
		{name: "heartbeat bad resource", args: []string{"heartbeat", "--resource", "{", "--server-url", "http://x", "--owner-name", "o"}, wantCode: 1, want: "failed to parse resource"},
		{name: "acquire negative timeout", args: []string{"acquire", "--type", "t", "--state", "s", "--target-state", "d", "--timeout", "-1s", "--server-url", "http://x", "--owner-name", "o"}, wantCode: 2, want: "--timeout must not be negative"},
		{name: "acquire zero poll interval", args: []string{"acquire", "--type", "t", "--state", "s", "--target-state", "d", "--timeout", "1m", "--poll-interval", "0s", "--server-url", "http://x", "--owner-name", "o"}, wantCode: 2, want: "--poll-interval must be positive"},
		{name: "heartbeat zero period", args: []string{"heartbeat", "--resource", "{}", "--period", "0s", "--server-url", "http://x", "--owner-name", "o"}, wantCode: 2, want: "--period must be positive"},
		{name: "heartbeat zero timeout", args: []string{"heartbeat", "--resource", "{}", "--timeout", "0s", "--server-url", "http://x", "--owner-name", "o"}, wantCode: 2, want: "--timeout must be positive"},
		{name: "heartbeat negative retries", args: []string{"heartbeat", "--resource", "{}", "--retries", "-1", "--server-url", "http://x", "--owner-name", "o"}, wantCode: 2, want: "--retries must not be negative"},
		{name: "unreachable server", args: []string{"metrics", "--type", "t", "--server-url", "http://127.0.0.1:1", "--owner-name", "o"}, wantCode: 1, want: `failed to get metrics for resource "t"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(context.Background(), tc.args...)
			assert.Equal(t, tc.wantCode, code)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

func TestBench(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "config.yaml", "resources:\n- type: b\n  names: [b-1, b-2, b-3, b-4]\n")
	srv := startServe(t, "--config", cfg, "--in_memory")
	code, stdout, stderr := runCmd(context.Background(), "bench", "--url", srv.URL, "--type", "b", "--concurrency", "4", "--duration", "300ms")
	require.Equal(t, 0, code, stderr+stdout)
	for _, k := range []string{"cycles: ", "cycles/s: ", "p50: ", "p99: ", "errors: 0\n"} {
		assert.Contains(t, stdout, k)
	}
	assert.NotContains(t, stdout, "cycles: 0\n")
	// The pool is left as found: every resource free and unowned.
	m, err := mustClient(t, srv.URL, "x").Metric(context.Background(), "b")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"free": 4}, m.Current)

	// An unknown type: no cycle is possible, exit 1.
	code, stdout, _ = runCmd(context.Background(), "bench", "--url", srv.URL, "--type", "nope", "--concurrency", "2", "--duration", "100ms")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "cycles: 0\n")
	code, _, stderr = runCmd(context.Background(), "bench", "--url", srv.URL)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--type is required")
}

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{name: "empty", in: nil, p: 0.5, want: 0},
		{name: "one", in: ms(7), p: 0.99, want: 7 * time.Millisecond},
		{name: "median of 4", in: ms(1, 2, 3, 4), p: 0.5, want: 2 * time.Millisecond},
		{name: "p99 of 100", in: ms(seq(100)...), p: 0.99, want: 99 * time.Millisecond},
		{name: "p50 of 100", in: ms(seq(100)...), p: 0.5, want: 50 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, percentile(tc.in, tc.p))
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// buildVirtual does by hand, through the API, what Mason does for one
// virtual resource: the virtual resource ends free with leasedResources
// naming the physical ones, each unowned in state <virtual>.
func buildVirtual(t *testing.T, url, virtual string, leased ...string) {
	t.Helper()
	ctx := context.Background()
	m := mustClient(t, url, "mason")
	_, err := m.AcquireByState(ctx, "dirty", "cleaning", []string{virtual})
	require.NoError(t, err)
	_, err = m.AcquireByState(ctx, "free", "leased", leased)
	require.NoError(t, err)
	list, err := boskos.FormatLeasedResources(leased)
	require.NoError(t, err)
	require.NoError(t, m.Update(ctx, virtual, "cleaning", boskos.UserData{boskos.LeasedResources: list}, 0))
	require.NoError(t, m.Release(ctx, virtual, "free", 0))
	for _, p := range leased {
		require.NoError(t, m.Release(ctx, p, virtual, 0))
	}
}

// TestClientCommandsMason: acquire --mason prints the virtual resource and
// its leased ones, one JSON line each; release --mason --leased hands them
// all back; a virtual resource whose physical ones are gone is released
// dirty.
func TestClientCommandsMason(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "config.yaml", `resources:
- {type: cluster, state: dirty, names: [c-1, c-2]}
- {type: account, state: free, names: [a-1, a-2, a-3]}
`)
	srv := startServe(t, "--config", cfg, "--in_memory")
	ctx := context.Background()
	g := func(owner string) []string { return []string{"--server-url", srv.URL, "--owner-name", owner} }
	acquire := []string{"acquire", "--mason", "--type", "cluster", "--state", "free", "--target-state", "Used"}
	buildVirtual(t, srv.URL, "c-1", "a-2", "a-1")

	code, stdout, stderr := runCmd(ctx, append(acquire, g("alice")...)...)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 3, "got %q, want three JSON lines", stdout)
	var names []string
	var virtualEpoch int64
	for i, l := range lines {
		var r boskos.Resource
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		assert.Equal(t, "alice", r.Owner, l)
		assert.Equal(t, "Used", r.State, l)
		names = append(names, r.Name)
		if i == 0 {
			virtualEpoch = r.Epoch
			assert.Equal(t, "- a-2\n- a-1\n", r.UserData[boskos.LeasedResources])
		}
	}
	assert.Equal(t, []string{"c-1", "a-2", "a-1"}, names, "the virtual resource first, then leasedResources in order")

	code, _, stderr = runCmd(ctx, append(acquire, g("bob")...)...)
	assert.Equal(t, 1, code)
	assert.Equal(t, "failed to acquire a resource: resources not found\n", stderr)

	release := []string{"release", "--mason", "--name", "c-1", "--target-state", "dirty"}
	usage := []struct {
		name string
		args []string
		want string
	}{
		{name: "--mason without --leased", args: release, want: "--mason needs --leased"},
		{name: "--leased without --mason", args: []string{"release", "--name", "c-1", "--target-state", "dirty", "--leased", "a-1"}, want: "--leased goes with --mason"},
	}
	for _, tc := range usage {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(ctx, append(tc.args, g("alice")...)...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tc.want)
		})
	}
	// Another owner cannot: every resource's failure is reported.
	code, _, stderr = runCmd(ctx, append(append(release, "--leased", "a-2,a-1"), g("bob")...)...)
	assert.Equal(t, 1, code)
	for _, n := range []string{"a-2", "a-1", "c-1"} {
		assert.Contains(t, stderr, `release "`+n+`": status 401 Unauthorized`)
	}
	code, stdout, stderr = runCmd(ctx, append(append(release, "--leased", "a-2, a-1", "--epoch", strconv.FormatInt(virtualEpoch, 10)), g("alice")...)...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "released resource \"a-2\"\nreleased resource \"a-1\"\nreleased resource \"c-1\"\n", stdout)
	for rtype, want := range map[string]map[string]int{"cluster": {"dirty": 2}, "account": {"dirty": 2, "free": 1}} {
		m, err := mustClient(t, srv.URL, "x").Metric(ctx, rtype)
		require.NoError(t, err)
		assert.Equal(t, want, m.Current, rtype)
	}

	// c-2's account is taken by someone else: acquire fails, c-2 is dirty.
	buildVirtual(t, srv.URL, "c-2", "a-3")
	_, err := mustClient(t, srv.URL, "thief").AcquireByState(ctx, "c-2", "busy", []string{"a-3"})
	require.NoError(t, err)
	code, stdout, stderr = runCmd(ctx, append(acquire, g("carol")...)...)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, `failed to acquire a resource: masonclient: acquired virtual resource "c-2" but not its leased resources [a-3]: status 404 Not Found`)
	m, err := mustClient(t, srv.URL, "x").Metric(ctx, "cluster")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"dirty": 2}, m.Current)
	assert.Equal(t, map[string]int{"": 2}, m.Owners)

	// Nothing free: a --timeout wait ends with not found. (Last: its
	// request_id stays ahead of anonymous callers in the queue for a while.)
	// Its place in the queue of the virtual resources is printed meanwhile.
	code, _, stderr = runCmd(ctx, append(acquire, append(g("bob"), "--timeout", "50ms", "--poll-interval", "5ms")...)...)
	assert.Equal(t, 1, code)
	// With the estimate from the virtual resources' hold times (wall clock).
	assert.Regexp(t, `^waiting: position 1 of 1, about [1-9][0-9]*s\nfailed to acquire a resource: resources not found\n$`, stderr)
}

// TestAcquireOverQuota: over its quota, one acquire fails naming the
// quota; with --timeout it waits (its request_id keeping its place) and is
// served once the owner released one.
func TestAcquireOverQuota(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "config.yaml", "resources:\n- type: thing\n  state: new\n  names: [thing-1, thing-2]\n"+
		"quotas:\n- {owner: alice, type: thing, max: 1}\n")
	srv := startServe(t, "--config", cfg, "--in_memory")
	ctx := context.Background()
	alice := []string{"--server-url", srv.URL, "--owner-name", "alice"}
	acquire := append([]string{"acquire", "--type", "thing", "--state", "new", "--target-state", "old"}, alice...)

	code, stdout, stderr := runCmd(ctx, acquire...)
	require.Equal(t, 0, code, stderr)
	var held boskos.Resource
	require.NoError(t, json.Unmarshal([]byte(stdout), &held))
	code, _, stderr = runCmd(ctx, acquire...)
	assert.Equal(t, 1, code)
	assert.Equal(t, "failed to acquire a resource: status 429 Too Many Requests: Acquire failed: quota exceeded: "+
		`owner "alice" may hold at most 1 resource of type "thing" at once; try again after a release.`+"\n", stderr)

	refusals := func() int { return strings.Count(srv.Stderr.String(), "path=/acquire status=429") }
	before := refusals()
	var wg sync.WaitGroup
	var waitCode int
	var waitOut, waitErr string
	wg.Go(func() {
		waitCode, waitOut, waitErr = runCmd(ctx, append(acquire, "--timeout", "30s", "--poll-interval", "10ms")...)
	})
	require.Eventually(t, func() bool { return refusals() > before+1 }, 10*time.Second, 5*time.Millisecond, "the waiting acquire polls on")
	code, _, stderr = runCmd(ctx, append([]string{"release", "--name", held.Name, "--target-state", "new"}, alice...)...)
	require.Equal(t, 0, code, stderr)
	wg.Wait()
	require.Equal(t, 0, waitCode, waitErr)
	assert.Contains(t, waitOut, `"owner":"alice"`)
}
