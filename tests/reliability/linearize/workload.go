package linearize

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/ranch"
)

// recorder collects the operations of one history, timed on one monotonic
// clock: Call is taken before the request is sent, Return after the answer
// was read. An ambiguous operation returns at the end of time (it may take
// effect at any point after its call).
type recorder struct {
	start   time.Time
	clients int // ids below it are the clients' (the rest: maintenance)
	mu      sync.Mutex
	ops     []porcupine.Operation
	n       int           // operations of the clients so far
	changed chan struct{} // closed and replaced when n grows
}

func newRecorder(clients int) *recorder {
	return &recorder{start: time.Now(), clients: clients, changed: make(chan struct{})}
}

func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

func (r *recorder) add(client int, in opInput, call int64, out opOutput) {
	ret := r.now()
	if out.ambiguous {
		ret = math.MaxInt64
	}
	r.mu.Lock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	if client < r.clients {
		r.n++
		close(r.changed)
		r.changed = make(chan struct{})
	}
	r.mu.Unlock()
}

// count is the number of the clients' operations recorded so far.
func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// waitFor waits until the clients recorded n operations; false when ctx
// ends or done is closed first.
func (r *recorder) waitFor(ctx context.Context, done <-chan struct{}, n int) bool {
	for {
		r.mu.Lock()
		got, ch := r.n, r.changed
		r.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-done:
			return false
		}
	}
}

// Call is one HTTP exchange: status and body, or ambiguous (no answer, or
// a 5xx: the request may have taken effect).
func Call(ctx context.Context, hc *http.Client, method, target string, body string) (status int, respBody []byte, ambiguous bool) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, true
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, true
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, true
	}
	return resp.StatusCode, b, resp.StatusCode >= 500
}

// WireResource is the part of the Resource JSON the checks read.
type WireResource struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Owner string `json:"owner"`
	Epoch int64  `json:"epoch"`
}

// workload drives clients against the servers at urls (each operation
// goes to one at random) and records a history on the model's pool.
type workload struct {
	m       *Model
	rtype   string
	urls    []string
	hc      *http.Client
	rec     *recorder
	clients int
	ops     int // per client
	seed    uint64
	maint   *Maintenance
}

// linClient is one client's belief: what it holds, and the request_id it
// polls with while waiting.
type linClient struct {
	id     int
	owner  string
	rng    *rand.Rand
	held   map[int]resState // resource -> state and epoch it was granted in
	waitID string
	ids    int
}

// run runs every client to the end of its budget (or its first ambiguous
// operation, after which its belief is unknown), and the maintenance jobs
// meanwhile, and returns the history.
func (w *workload) run(ctx context.Context) []porcupine.Operation {
	done := make(chan struct{})
	maintained := make(chan struct{})
	if w.maint != nil {
		mt := &maintainer{w: w, m: *w.maint, base: w.clients, rng: rand.New(rand.NewPCG(w.seed, 1<<32)),
			r:      ranch.New(w.maint.Store, ranch.Options{RequestTTL: 10 * time.Minute, SpreadWindow: ranch.DefaultSpreadWindow, Logger: quietLogger}),
			reaper: ranch.New(w.maint.Store, ranch.Options{Now: func() time.Time { return time.Now().Add(reaperAhead) }, Logger: quietLogger})}
		go func() {
			defer close(maintained)
			mt.run(ctx, done)
		}()
	} else {
		close(maintained)
	}
	var wg sync.WaitGroup
	for i := range w.clients {
		c := &linClient{id: i, owner: fmt.Sprintf("c%d", i), held: map[int]resState{},
			rng: rand.New(rand.NewPCG(w.seed, uint64(i)))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range w.ops {
				if ctx.Err() != nil || !w.step(ctx, c) {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	<-maintained
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	return w.rec.ops
}

// step does one random operation of c; false after an ambiguous one.
// Side operations (reset, calls on resources c does not hold, the
// cleaner's acquire of a dirty resource) come first, whatever c's state;
// then c works on what it holds, polls with its request_id, or acquires.
func (w *workload) step(ctx context.Context, c *linClient) bool {
	var held []int
	for i := range c.held {
		held = append(held, i)
	}
	sort.Ints(held)
	other := c.rng.IntN(len(w.m.names))
	switch q := c.rng.Float64(); {
	case q < 0.02:
		return w.reset(ctx, c, opInput{kind: opResetOne, state: "busy", dest: "free"})
	case q < 0.05:
		// Possibly not the holder, or with another epoch.
		return w.release(ctx, c, opInput{kind: opRelease, owner: c.owner, res: other, dest: "free", hasEpoch: c.rng.IntN(2) == 0, epoch: int64(c.rng.IntN(3))})
	case q < 0.08:
		return w.update(ctx, c, opInput{kind: opUpdate, owner: c.owner, res: other, state: "busy"})
	case q < 0.16:
		// The cleaner takes a dirty resource to cleaning.
		return w.acquire(ctx, c, opInput{kind: opAcquire, owner: c.owner, state: "dirty", dest: "cleaning"})
	}
	p := c.rng.Float64()
	switch {
	case len(held) > 0 && p < 0.35:
		i := held[c.rng.IntN(len(held))]
		in := opInput{kind: opUpdate, owner: c.owner, res: i, state: c.held[i].state}
		if c.rng.IntN(4) > 0 {
			in.hasEpoch, in.epoch = true, c.held[i].epoch
			if c.rng.IntN(10) == 0 {
				in.epoch-- // stale
			}
		}
		return w.update(ctx, c, in)
	case len(held) > 0 && p < 0.85:
		i := held[c.rng.IntN(len(held))]
		in := opInput{kind: opRelease, owner: c.owner, res: i, dest: "free"}
		if c.held[i].state == "busy" && c.rng.IntN(5) == 0 {
			in.dest = "dirty"
		}
		if c.rng.IntN(3) > 0 {
			in.hasEpoch, in.epoch = true, c.held[i].epoch
		}
		return w.release(ctx, c, in)
	case p < 0.10:
		names := []int{other}
		if j := c.rng.IntN(len(w.m.names)); j != other && c.rng.IntN(2) == 0 {
			names = append(names, j)
		}
		sort.Ints(names)
		return w.acquireByState(ctx, c, opInput{kind: opAcquireByState, owner: c.owner, state: "free", dest: "busy", names: names})
	case c.waitID != "":
		// A client keeps polling with its request_id until granted, as the
		// Go client does: an id left waiting would hold its place (and
		// everybody's behind it) until its TTL.
		return w.poll(ctx, c)
	case p < 0.50:
		c.ids++
		c.waitID = fmt.Sprintf("%s-r%d", c.owner, c.ids)
		return w.poll(ctx, c)
	default:
		return w.acquire(ctx, c, opInput{kind: opAcquire, owner: c.owner, state: "free", dest: "busy"})
	}
}

// poll asks again with c's waiting request_id.
func (w *workload) poll(ctx context.Context, c *linClient) bool {
	return w.acquire(ctx, c, opInput{kind: opAcquire, owner: c.owner, state: "free", dest: "busy", requestID: c.waitID})
}

func (w *workload) url() string { return w.urls[rand.IntN(len(w.urls))] }

func (w *workload) acquire(ctx context.Context, c *linClient, in opInput) bool {
	q := url.Values{"type": {w.rtype}, "state": {in.state}, "dest": {in.dest}, "owner": {in.owner}}
	if in.requestID != "" {
		q.Set("request_id", in.requestID)
	}
	t0 := w.rec.now()
	status, body, amb := Call(ctx, w.hc, http.MethodPost, w.url()+"/acquire?"+q.Encode(), "")
	out := opOutput{status: status, ambiguous: amb}
	if !amb && status == http.StatusOK {
		var r WireResource
		err := json.Unmarshal(body, &r)
		i, known := w.m.index[r.Name]
		switch {
		case err != nil:
			out.malformed = err.Error()
		case !known || r.Owner != in.owner || r.State != in.dest:
			out.malformed = string(body)
		}
		out.res, out.epochs = i, []int64{r.Epoch}
		if out.malformed == "" {
			c.held[i] = resState{state: in.dest, epoch: r.Epoch}
			if in.requestID != "" {
				c.waitID = ""
			}
		}
	}
	w.rec.add(c.id, in, t0, out)
	return !amb
}

func (w *workload) acquireByState(ctx context.Context, c *linClient, in opInput) bool {
	var names []string
	for _, i := range in.names {
		names = append(names, w.m.names[i])
	}
	q := url.Values{"state": {in.state}, "dest": {in.dest}, "owner": {in.owner}, "names": {strings.Join(names, ",")}}
	t0 := w.rec.now()
	status, body, amb := Call(ctx, w.hc, http.MethodPost, w.url()+"/acquirebystate?"+q.Encode(), "")
	out := opOutput{status: status, ambiguous: amb}
	if !amb && status == http.StatusOK {
		var rs []WireResource
		got := map[string]WireResource{}
		if err := json.Unmarshal(body, &rs); err != nil {
			out.malformed = err.Error()
		}
		for _, r := range rs {
			got[r.Name] = r
		}
		for _, n := range names {
			r, ok := got[n]
			if !ok || r.Owner != in.owner || r.State != in.dest || len(rs) != len(names) {
				out.malformed = string(body)
			}
			out.epochs = append(out.epochs, r.Epoch)
		}
		if out.malformed == "" {
			for k, i := range in.names {
				c.held[i] = resState{state: in.dest, epoch: out.epochs[k]}
			}
		}
	}
	w.rec.add(c.id, in, t0, out)
	return !amb
}

func (w *workload) update(ctx context.Context, c *linClient, in opInput) bool {
	q := url.Values{"name": {w.m.names[in.res]}, "owner": {in.owner}, "state": {in.state}}
	if in.hasEpoch {
		q.Set("epoch", fmt.Sprint(in.epoch))
	}
	t0 := w.rec.now()
	status, _, amb := Call(ctx, w.hc, http.MethodPost, w.url()+"/update?"+q.Encode(), `{"heartbeat":"`+fmt.Sprint(t0)+`"}`)
	if !amb && status == http.StatusUnauthorized {
		delete(c.held, in.res) // reset took it
	}
	w.rec.add(c.id, in, t0, opOutput{status: status, ambiguous: amb})
	return !amb
}

func (w *workload) release(ctx context.Context, c *linClient, in opInput) bool {
	q := url.Values{"name": {w.m.names[in.res]}, "dest": {in.dest}, "owner": {in.owner}}
	if in.hasEpoch {
		q.Set("epoch", fmt.Sprint(in.epoch))
	}
	t0 := w.rec.now()
	status, _, amb := Call(ctx, w.hc, http.MethodPost, w.url()+"/release?"+q.Encode(), "")
	if !amb && (status == http.StatusOK || status == http.StatusUnauthorized) {
		delete(c.held, in.res)
	}
	w.rec.add(c.id, in, t0, opOutput{status: status, ambiguous: amb})
	return !amb
}

// reset frees every owned busy resource (expire < 0) and records one
// operation per resource of the pool.
func (w *workload) reset(ctx context.Context, c *linClient, in opInput) bool {
	q := url.Values{"type": {w.rtype}, "state": {in.state}, "dest": {in.dest}, "expire": {"-1s"}}
	t0 := w.rec.now()
	status, body, amb := Call(ctx, w.hc, http.MethodPost, w.url()+"/reset?"+q.Encode(), "")
	freed := map[string]string{}
	if !amb && status == http.StatusOK {
		if err := json.Unmarshal(body, &freed); err != nil {
			amb = true // cannot tell what happened; the model accepts both
		}
	} else {
		amb = true // a reset has no client error here: anything else is unknown
	}
	for i, n := range w.m.names {
		one := in
		one.res = i
		prev, ok := freed[n]
		w.rec.add(c.id, one, t0, opOutput{status: status, ambiguous: amb, reset: ok, prevOwner: prev})
	}
	return !amb
}

// Summary counts a history's operations by kind and answer.
func Summary(ops []porcupine.Operation) string {
	counts := map[string]int{}
	for _, op := range ops {
		in, out := op.Input.(opInput), op.Output.(opOutput)
		k := fmt.Sprintf("%s %d", in.kind, out.status)
		if out.ambiguous {
			k = in.kind.String() + " ambiguous"
		}
		if role := maintenanceRole(in); role != "" {
			k = role + " " + k
		}
		counts[k]++
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, counts[k])
	}
	return strings.TrimSpace(b.String())
}

// check runs Porcupine on ops. When the history is not linearizable it
// writes the visualization (linearizability.html) to dir and returns its
// path; when it is not linearizable or Porcupine ran out of time (Unknown,
// which fails t), it also writes history.txt, every operation by call time,
// to dir.
func check(t testing.TB, m *Model, ops []porcupine.Operation, timeout time.Duration, dir string) (porcupine.CheckResult, string) {
	t.Helper()
	model := m.Porcupine()
	start := time.Now()
	res, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	t.Logf("porcupine: %s on %d operations in %s (at most %d operations open at once)",
		res, len(ops), time.Since(start).Round(time.Millisecond), MaxOpen(ops))
	if res == porcupine.Ok {
		return res, ""
	}
	writeHistory(t, m, ops, dir)
	require.NotEqual(t, porcupine.Unknown, res, "porcupine did not finish within %s: the history is in %s", timeout, filepath.Join(dir, "history.txt"))
	path := filepath.Join(dir, "linearizability.html")
	require.NoError(t, porcupine.VisualizePath(model, info, path))
	return res, path
}

// writeHistory writes ops to dir/history.txt, one line per operation by
// call time: call, return (∞ for none), client, operation.
func writeHistory(t testing.TB, m *Model, ops []porcupine.Operation, dir string) {
	var lines []string
	for _, op := range ops {
		ret := "∞"
		if op.Return != math.MaxInt64 {
			ret = fmt.Sprint(op.Return)
		}
		lines = append(lines, fmt.Sprintf("%020d\t%s\tc%d\t%s", op.Call, ret, op.ClientId,
			m.describeOp(op.Input.(opInput), op.Output.(opOutput))))
	}
	sort.Strings(lines)
	if err := os.WriteFile(filepath.Join(dir, "history.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Logf("history.txt: %v", err)
	}
}

// MaxOpen is the largest number of operations of ops open at one instant
// (called and not yet returned): the width of the window Porcupine must
// order, which drives its search far more than the history's length.
func MaxOpen(ops []porcupine.Operation) int {
	type ev struct {
		at    int64
		delta int
	}
	evs := make([]ev, 0, 2*len(ops))
	for _, op := range ops {
		evs = append(evs, ev{op.Call, 1}, ev{op.Return, -1})
	}
	// Returns before calls at the same instant: they do not overlap.
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].at != evs[j].at {
			return evs[i].at < evs[j].at
		}
		return evs[i].delta < evs[j].delta
	})
	open, most := 0, 0
	for _, e := range evs {
		open += e.delta
		most = max(most, open)
	}
	return most
}
