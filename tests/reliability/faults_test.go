package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
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
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/awsload"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// The kinds of fault the proxy injects.
const (
	faultThrottlePTE  = "throttle ProvisionedThroughputExceeded (400)"
	faultThrottling   = "throttle ThrottlingException (400)"
	faultInternal     = "500 before DynamoDB"
	faultInternalLate = "500 after DynamoDB applied it"
	faultLatency      = "latency spike"
	faultCutBefore    = "connection cut before DynamoDB"
	faultCutAfter     = "connection cut after DynamoDB applied it"
	faultBurst        = "throttled in a burst (400)"
)

// A throttling burst starts at a request with probability burstRate and
// throttles every request for burstLength: long enough for the SDK's
// retries of one operation to run out, so that clients see the 503.
const (
	burstRate   = 0.002
	burstLength = 300 * time.Millisecond
)

// faultRates are the probabilities of each fault per request.
var faultRates = []struct {
	kind string
	p    float64
}{
	{faultThrottlePTE, 0.04}, {faultThrottling, 0.04}, {faultInternal, 0.01}, {faultInternalLate, 0.01},
	{faultLatency, 0.02}, {faultCutBefore, 0.01}, {faultCutAfter, 0.01},
}

// faultKinds lists the kinds of faultRates.
func faultKinds() []string {
	var out []string
	for _, f := range faultRates {
		out = append(out, f.kind)
	}
	return out
}

// faultProxy stands between the service and DynamoDB Local and injects
// faults at random (seeded), counting requests and faults by operation.
type faultProxy struct {
	upstream string
	hc       *http.Client
	mu       sync.Mutex
	rng      *rand.Rand
	requests map[string]int            // by operation
	faults   map[string]map[string]int // kind -> operation -> count
	on       atomic.Bool
	burstEnd time.Time
}

func newFaultProxy(t testing.TB, upstream string, seed uint64) (*faultProxy, string) {
	p := &faultProxy{upstream: upstream, hc: &http.Client{Timeout: time.Minute},
		rng: rand.New(rand.NewPCG(seed, 9)), requests: map[string]int{}, faults: map[string]map[string]int{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

// pick chooses the fault of one request of op ("" = none) and counts it.
func (p *faultProxy) pick(op string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests[op]++
	if !p.on.Load() {
		return ""
	}
	count := func(kind string) string {
		if p.faults[kind] == nil {
			p.faults[kind] = map[string]int{}
		}
		p.faults[kind][op]++
		return kind
	}
	if now := time.Now(); now.Before(p.burstEnd) {
		return count(faultBurst)
	} else if p.rng.Float64() < burstRate {
		p.burstEnd = now.Add(burstLength)
		return count(faultBurst)
	}
	x := p.rng.Float64()
	for _, f := range faultRates {
		if x < f.p {
			return count(f.kind)
		}
		x -= f.p
	}
	return ""
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndexByte(op, '.')+1:]
	kind := p.pick(op)
	awsError := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"__type":%q,"message":%q}`, typ, msg)
	}
	cut := func() {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
	}
	switch kind {
	case faultThrottlePTE, faultBurst:
		awsError(http.StatusBadRequest, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
			"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.")
		return
	case faultThrottling:
		awsError(http.StatusBadRequest, "com.amazon.coral.availability#ThrottlingException", "Rate of requests exceeds the allowed throughput.")
		return
	case faultInternal:
		awsError(http.StatusInternalServerError, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error")
		return
	case faultCutBefore:
		cut()
		return
	case faultLatency:
		time.Sleep(time.Duration(50+rand.IntN(250)) * time.Millisecond) // the fault itself
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		cut()
		return
	}
	req.Header = r.Header.Clone()
	resp, err := p.hc.Do(req)
	if err != nil {
		cut()
		return
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil || kind == faultCutAfter:
		cut()
		return
	case kind == faultInternalLate:
		awsError(http.StatusInternalServerError, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error")
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

// sdkMeter counts, through SDK middleware, the operations the store called
// and their attempts (the first one included), and the most attempts of one
// operation.
type sdkMeter struct {
	ops, attempts, maxAttempts atomic.Int64
}

type attemptsKey struct{}

func (m *sdkMeter) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		if err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("relOps",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				n := new(atomic.Int64)
				m.ops.Add(1)
				out, md, err := next.HandleInitialize(context.WithValue(ctx, attemptsKey{}, n), in)
				for a := n.Load(); ; {
					cur := m.maxAttempts.Load()
					if a <= cur || m.maxAttempts.CompareAndSwap(cur, a) {
						break
					}
				}
				return out, md, err
			}), middleware.Before); err != nil {
			return err
		}
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("relAttempts",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				m.attempts.Add(1)
				if n, ok := ctx.Value(attemptsKey{}).(*atomic.Int64); ok {
					n.Add(1)
				}
				return next.HandleDeserialize(ctx, in)
			}), middleware.After)
	})
}

// faultLease is one lease a client of the fault run held. Acknowledged
// leases have the epoch of their 200; hidden ones are ambiguous acquires
// (5xx, broken connection) that turned out to be applied: the client found
// the resource its own when it cleaned up.
type faultLease struct {
	name, owner      string
	epoch            int64 // 0 for a hidden lease
	acqRecv, relSent time.Time
	// maybe: a hidden lease that may not have been one (the cleanup's
	// release was ambiguous, then refused: it freed the resource, or the
	// resource was never the client's).
	maybe bool
}

// faultOutcome is everything the clients of a fault run saw.
type faultOutcome struct {
	leases     []faultLease
	statuses   map[string]int // "endpoint status" -> count
	unclear    []string       // 5xx answers whose body does not say what failed
	unexpected []string       // answers no client should get
}

// faultViolations checks a fault run: per resource, acknowledged leases
// have distinct epochs and never overlap (the next one is answered only
// after the previous release was sent), and the resource's final epoch is
// the number of leases (acknowledged and hidden; within the possible
// ones) on it: an
// acknowledged grant or release that was lost, or an ambiguous write applied
// twice, or a 503 that was in fact applied, shows there. final maps each
// resource to its epoch at the end (all resources must be free).
func faultViolations(leases []faultLease, final map[string]int64) []string {
	var out []string
	byName := map[string][]faultLease{}
	for _, l := range leases {
		byName[l.name] = append(byName[l.name], l)
	}
	names := make([]string, 0, len(final))
	for n := range final {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		var acked []faultLease
		for _, l := range byName[name] {
			if l.epoch > 0 {
				acked = append(acked, l)
			}
		}
		sort.Slice(acked, func(i, j int) bool { return acked[i].epoch < acked[j].epoch })
		for i := 1; i < len(acked); i++ {
			prev, cur := acked[i-1], acked[i]
			switch {
			case cur.epoch == prev.epoch:
				out = append(out, fmt.Sprintf("%s: epoch %d granted to %s and %s", name, cur.epoch, prev.owner, cur.owner))
			case !prev.relSent.Before(cur.acqRecv):
				out = append(out, fmt.Sprintf("%s: epoch %d (%s) granted before epoch %d (%s) was released",
					name, cur.epoch, cur.owner, prev.epoch, prev.owner))
			}
		}
		var maybe int64
		for _, l := range byName[name] {
			if l.maybe {
				maybe++
			}
		}
		if n := int64(len(byName[name])) - maybe; final[name] < n || final[name] > n+maybe {
			out = append(out, fmt.Sprintf("%s: final epoch %d, but %d leases were granted (%d acknowledged, %d more possibly)",
				name, final[name], n, len(acked), maybe))
		}
	}
	return out
}

// TestFaultViolations is a test of the fault run's checker: each kind of
// violation it is for is reported, and a clean run is not.
func TestFaultViolations(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	l := func(name string, epoch int64, owner string, acq, rel int) faultLease {
		return faultLease{name: name, epoch: epoch, owner: owner, acqRecv: at(acq), relSent: at(rel)}
	}
	tests := []struct {
		name   string
		leases []faultLease
		final  map[string]int64
		want   []string
	}{
		{name: "clean, with a hidden lease", final: map[string]int64{"r": 3},
			leases: []faultLease{l("r", 1, "a", 0, 10), l("r", 0, "c", 12, 14), l("r", 3, "b", 20, 30)}},
		{name: "clean, with a possible hidden lease that was none", final: map[string]int64{"r": 2},
			leases: []faultLease{l("r", 1, "a", 0, 10), {name: "r", owner: "c", maybe: true}, l("r", 2, "b", 20, 30)}},
		{name: "double lease", final: map[string]int64{"r": 2},
			leases: []faultLease{l("r", 1, "a", 0, 10), l("r", 2, "b", 5, 30)},
			want:   []string{"r: epoch 2 (b) granted before epoch 1 (a) was released"}},
		{name: "one epoch granted twice", final: map[string]int64{"r": 2},
			leases: []faultLease{l("r", 1, "a", 0, 10), l("r", 1, "b", 20, 30)},
			want:   []string{"r: epoch 1 granted to a and b"}},
		{name: "lost acknowledged grant", final: map[string]int64{"r": 1},
			leases: []faultLease{l("r", 1, "a", 0, 10), l("r", 2, "b", 20, 30)},
			want:   []string{"r: final epoch 1, but 2 leases were granted (2 acknowledged, 0 more possibly)"}},
		{name: "an ambiguous write applied twice, or a refusal that was applied", final: map[string]int64{"r": 3},
			leases: []faultLease{l("r", 1, "a", 0, 10), l("r", 3, "b", 20, 30)},
			want:   []string{"r: final epoch 3, but 2 leases were granted (2 acknowledged, 0 more possibly)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, faultViolations(tc.leases, tc.final))
		})
	}
}

// TestDynamoFaults runs 64 clients through the service over a DynamoDB
// Local table behind faultProxy (two targets: the HTTP handler in this
// process, with the SDK's attempts counted, and a `boskos serve --store
// dynamodb:TABLE` process with its default retry settings), which throttles, fails with
// 500 (before and after DynamoDB applied the request), delays, and cuts
// connections (before and after). Each client cycles acquire/release over
// 8 resources; an ambiguous acquire (5xx, broken connection) is resolved by
// releasing every resource as that client (one of them may be its hidden
// lease), an ambiguous release is repeated until its answer is definite.
// Checked: no double lease and no lost acknowledged write (faultViolations,
// with the final epochs read without faults), every resource free at the
// end, every error a 500 or 503 whose body says what failed, never a
// wrong 200, and retries bounded (the SDK's attempts per operation at most
// its MaxAttempts, retries counted at the proxy and in the SDK).
func TestDynamoFaults(t *testing.T) {
	endpoint := dynamotest.Endpoint(t)
	clients := knob(t, "BOSKOS_RELIABILITY_FAULT_CLIENTS", 64, 64)
	targets := []struct {
		name   string
		grants int64
		serve  bool
	}{
		{"in-process handler", int64(knob(t, "BOSKOS_RELIABILITY_FAULT_GRANTS", 200, 3000)), false},
		{"boskos serve", int64(knob(t, "BOSKOS_RELIABILITY_FAULT_SERVE_GRANTS", 60, 1000)), true},
	}
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) { runFaults(t, endpoint, tc.serve, clients, tc.grants) })
	}
}

// runFaults is one fault run of TestDynamoFaults: target grants by
// clients, through a `boskos serve` process when serve is set, otherwise
// through the handler in this process.
func runFaults(t *testing.T, endpoint string, serve bool, clients int, target int64) {
	const (
		resources   = 8
		maxAttempts = 4 // of the in-process client
	)
	s := seed(t)
	direct, table := dynamotest.NewTable(t)
	proxy, proxyURL := newFaultProxy(t, endpoint, s)
	cfg, names := poolConfig("flt", resources)
	var meter *sdkMeter
	var base string
	if serve {
		for _, kv := range [][2]string{
			{"AWS_ACCESS_KEY_ID", "local"}, {"AWS_SECRET_ACCESS_KEY", "local"},
			{"AWS_REGION", dynamotest.Region}, {"AWS_EC2_METADATA_DISABLED", "true"},
		} {
			t.Setenv(kv[0], kv[1])
		}
		base = startServe(t, "--config", writeConfig(t, cfg), "--store", "dynamodb:"+table,
			"--dynamodb-endpoint", proxyURL, "--dynamodb-region", dynamotest.Region,
			"--request-ttl", "10m", "--gc-period", "10m").URL
	} else {
		meter = &sdkMeter{}
		api, err := awsload.DynamoDB(context.Background(), dynamostore.ClientConfig{
			Region: dynamotest.Region, Endpoint: proxyURL, MaxAttempts: maxAttempts, MaxBackoff: 100 * time.Millisecond,
			Credentials:   credentials.NewStaticCredentialsProvider("local", "local", ""),
			ClientOptions: []func(*dynamodb.Options){meter.option},
		})
		require.NoError(t, err)
		r := ranch.New(dynamostore.New(api, table, dynamostore.Options{}), ranch.Options{
			RequestTTL: 10 * time.Minute, SpreadWindow: ranch.DefaultSpreadWindow, Logger: quietLogger()})
		require.NoError(t, r.SyncConfig(context.Background(), cfg))
		srv := httptest.NewServer(httpapi.New(r, httpapi.Options{Logger: quietLogger()}))
		t.Cleanup(srv.Close)
		base = srv.URL
	}
	hc := newHTTPClient(clients, 30*time.Second)
	proxy.on.Store(true)

	var (
		mu       sync.Mutex
		out      = faultOutcome{statuses: map[string]int{}}
		acquired atomic.Int64
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // failure guard only
	defer cancel()
	post := func(path string, q url.Values) (int, []byte) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path+"?"+q.Encode(), nil)
		resp, err := hc.Do(req)
		status, body, retryAfter := 0, []byte(nil), ""
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			status, retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
			if err != nil {
				status = 0
			}
		}
		mu.Lock()
		out.statuses[fmt.Sprintf("%s %d", path, status)]++
		switch {
		case status >= 500 && !bytes.Contains(bytes.ToLower(body), []byte("dynamodb")):
			out.unclear = append(out.unclear, fmt.Sprintf("%s %d: %q", path, status, body))
		case status == http.StatusServiceUnavailable && (retryAfter == "" || !bytes.Contains(body, []byte("Exception"))):
			out.unclear = append(out.unclear, fmt.Sprintf("%s 503 (Retry-After %q): %q", path, retryAfter, body))
		}
		mu.Unlock()
		return status, body
	}
	unexpected := func(format string, args ...any) {
		mu.Lock()
		out.unexpected = append(out.unexpected, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	// release repeats a release until its answer is definite. held says
	// whether the caller knows the resource is its own. It reports whether
	// the resource was the caller's, and whether that is only possible:
	// 200 means it was; 401 after an ambiguous try (500, broken
	// connection) means the try freed it when held, and is undecidable
	// otherwise. A 503 applied nothing: the release is simply repeated.
	release := func(name, owner string, held bool) (was, maybe bool) {
		ambiguous := false
		for ctx.Err() == nil {
			status, body := post("/release", url.Values{"name": {name}, "dest": {"free"}, "owner": {owner}})
			switch {
			case status == http.StatusOK:
				return true, false
			case status == http.StatusUnauthorized && !ambiguous:
				return false, false
			case status == http.StatusUnauthorized:
				return held, !held
			case status == http.StatusServiceUnavailable:
				continue
			case status == 0 || status == http.StatusInternalServerError:
				ambiguous = true
				continue
			default:
				unexpected("release %s: %d %s", name, status, body)
				return false, false
			}
		}
		return false, false
	}
	for i := range clients {
		owner := fmt.Sprintf("client-%d", i)
		wg.Go(func() {
			for ctx.Err() == nil && acquired.Load() < target {
				sent := time.Now()
				status, body := post("/acquire", url.Values{"type": {"flt"}, "state": {"free"}, "dest": {"busy"}, "owner": {owner}})
				recv := time.Now()
				switch status {
				case http.StatusOK:
					var res struct {
						Name, Owner, State string
						Epoch              int64
					}
					if err := json.Unmarshal(body, &res); err != nil || res.Owner != owner || res.State != "busy" || res.Epoch <= 0 {
						unexpected("acquire 200 %q (%v)", body, err) // a wrong 200
						continue
					}
					acquired.Add(1)
					relSent := time.Now()
					if was, _ := release(res.Name, owner, true); !was {
						unexpected("release of %s epoch %d by %s: not the holder", res.Name, res.Epoch, owner)
					}
					mu.Lock()
					out.leases = append(out.leases, faultLease{name: res.Name, owner: owner, epoch: res.Epoch, acqRecv: recv, relSent: relSent})
					mu.Unlock()
				case http.StatusNotFound, http.StatusServiceUnavailable:
					// A 503 applied nothing (the accounting checks it):
					// nothing to clean up.
				case 0, http.StatusInternalServerError:
					// Possibly applied: whatever this client holds now is
					// a hidden lease of this acquire.
					for _, n := range names {
						relSent := time.Now()
						if was, maybe := release(n, owner, false); was || maybe {
							mu.Lock()
							out.leases = append(out.leases, faultLease{name: n, owner: owner, acqRecv: sent, relSent: relSent, maybe: maybe})
							mu.Unlock()
						}
					}
				default:
					unexpected("acquire %d: %s", status, body)
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, ctx.Err(), "the clients did not reach %d grants in time (%d)", target, acquired.Load())
	proxy.on.Store(false)

	// The final state, read without faults.
	final := map[string]int64{}
	plain := dynamostore.New(direct, table, dynamostore.Options{})
	for _, n := range names {
		it, err := plain.Get(context.Background(), "resource/"+n)
		require.NoError(t, err)
		assert.Equal(t, "", it.S("owner"), "%s is free at the end", n)
		assert.Equal(t, "free", it.S("state"), "%s is free at the end", n)
		final[n] = it.N("epoch")
	}
	violations := faultViolations(out.leases, final)
	assert.Empty(t, violations, "double leases or lost writes")
	assert.Empty(t, out.unexpected, "answers no client should get")
	assert.Empty(t, out.unclear, "5xx bodies that do not say what failed")
	sdk := "sdk: not counted (another process)"
	if meter != nil {
		assert.LessOrEqual(t, meter.maxAttempts.Load(), int64(maxAttempts), "attempts of one DynamoDB operation")
		ops, attempts := meter.ops.Load(), meter.attempts.Load()
		sdk = fmt.Sprintf("sdk-operations=%d sdk-retries=%d (%.3f per operation, at most %d attempts of one)",
			ops, attempts-ops, float64(attempts-ops)/float64(ops), meter.maxAttempts.Load())
	}

	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	var kinds []string
	injected := 0
	for _, kind := range append(faultKinds(), faultBurst) {
		n := 0
		for _, c := range proxy.faults[kind] {
			n += c
		}
		injected += n
		kinds = append(kinds, fmt.Sprintf("%s=%d", kind, n))
	}
	requests := 0
	for _, n := range proxy.requests {
		requests += n
	}
	hidden, maybe := 0, 0
	for _, l := range out.leases {
		switch {
		case l.maybe:
			maybe++
		case l.epoch == 0:
			hidden++
		}
	}
	var statuses []string
	for k, v := range out.statuses {
		statuses = append(statuses, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(statuses)
	via := "in-process handler"
	if serve {
		via = "boskos serve"
	}
	t.Logf("reliability: dynamodb faults (%s): clients=%d resources=%d grants=%d hidden-leases=%d (+%d possible) proxy-requests=%d faults-injected=%d (%s) %s answers: %s violations=%d",
		via, clients, resources, acquired.Load(), hidden, maybe, requests, injected, strings.Join(kinds, ", "),
		sdk, strings.Join(statuses, " "), len(violations))
}
