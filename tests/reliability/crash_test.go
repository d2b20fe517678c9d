package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/tests/reliability/linearize"
)

const crashType = "crash"

// crashTarget is a local server on a bolt file that can be crashed and
// started again on the same file.
type crashTarget interface {
	// start serves the API on the file and returns its URL.
	start(t testing.TB) string
	// crash stops it abruptly; the file is then read by the checker.
	crash(t testing.TB)
}

// processTarget is `boskos serve --store bolt:path`, crashed with SIGKILL.
type processTarget struct {
	path, config string
	p            *serveProc
}

func (pt *processTarget) start(t testing.TB) string {
	pt.p = startServe(t, "--config", pt.config, "--store", "bolt:"+pt.path,
		"--request-ttl", "10m", "--gc-period", "10m", "--log-level", "info")
	return pt.p.URL
}

func (pt *processTarget) crash(t testing.TB) { pt.p.kill(t) }

// lease is a grant a client was told about.
type lease struct {
	name  string
	epoch int64
}

// crashClient is one client's knowledge across crashes.
type crashClient struct {
	owner string
	held  *lease // 200 received, release not yet sent
	// pendingAcquire: an acquire got no answer (the server died): it may
	// have been granted. pendingRelease: a release got no answer.
	pendingAcquire bool
	pendingRelease *lease
}

// crashStats are the figures of a crash run.
type crashStats struct {
	crashes, acquires, releases, ambiguous int
}

// crashChecker holds what clients were acknowledged and checks the file
// after each crash against it.
type crashChecker struct {
	mu        sync.Mutex
	clients   []*crashClient
	released  map[lease]string // acknowledged releases: lease -> owner
	maxEpoch  map[string]int64 // highest epoch acknowledged per resource
	stats     crashStats
	violation []string
}

func (c *crashChecker) failf(format string, args ...any) {
	c.mu.Lock()
	c.violation = append(c.violation, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// crashParams are the sizes of a crash run.
type crashParams struct {
	clients, resources, crashes int
	minOps, maxOps              int // acknowledged operations between crashes
}

func crashParamsFor(t testing.TB) crashParams {
	return crashParams{
		clients:   knob(t, "BOSKOS_RELIABILITY_CRASH_CLIENTS", 64, 64),
		resources: 8,
		crashes:   knob(t, "BOSKOS_RELIABILITY_CRASHES", 20, 100),
		minOps:    8,
		maxOps:    knob(t, "BOSKOS_RELIABILITY_CRASH_MAX_OPS", 64, 400),
	}
}

// runCrashes drives p.clients clients against target and crashes it
// p.crashes times, each time after a random number of acknowledged
// operations (no timing: the count decides), and checks the file after
// every crash. It returns the figures and the violations found.
func runCrashes(t testing.TB, target crashTarget, path string, p crashParams, seed uint64) (crashStats, []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0))
	c := &crashChecker{released: map[lease]string{}, maxEpoch: map[string]int64{}}
	for i := range p.clients {
		c.clients = append(c.clients, &crashClient{owner: fmt.Sprintf("k%d", i)})
	}
	hc := newHTTPClient(p.clients, 20*time.Second)
	for round := range p.crashes {
		base := target.start(t)
		kill := int64(p.minOps + rng.IntN(p.maxOps-p.minOps+1))
		var acked atomic.Int64
		reached := make(chan struct{})
		var once sync.Once
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // failure guard only
		var wg sync.WaitGroup
		for i, cl := range c.clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				crng := rand.New(rand.NewPCG(seed, uint64(round*p.clients+i+1)))
				c.clientRound(ctx, hc, base, cl, crng, func() {
					if acked.Add(1) == kill {
						once.Do(func() { close(reached) })
					}
				})
			}()
		}
		select {
		case <-reached:
		case <-ctx.Done():
			cancel()
			t.Fatalf("round %d: %d of %d acknowledged operations before the guard", round, acked.Load(), kill)
		}
		target.crash(t)
		wg.Wait()
		cancel()
		c.stats.crashes++
		c.check(t, path, round)
		if len(c.violation) > 0 {
			break
		}
	}
	return c.stats, c.violation
}

// clientRound runs one client until the server stops answering. ack is
// called once per acknowledged acquire or release.
func (c *crashChecker) clientRound(ctx context.Context, hc *http.Client, base string, cl *crashClient, rng *rand.Rand, ack func()) {
	for ctx.Err() == nil {
		if cl.held == nil {
			q := url.Values{"type": {crashType}, "state": {"free"}, "dest": {"busy"}, "owner": {cl.owner}}
			status, body, amb := linearize.Call(ctx, hc, http.MethodPost, base+"/acquire?"+q.Encode(), "")
			switch {
			case amb:
				cl.pendingAcquire = true
				c.count(func(s *crashStats) { s.ambiguous++ })
				return
			case status == http.StatusOK:
				var r linearize.WireResource
				if err := json.Unmarshal(body, &r); err != nil || r.Owner != cl.owner {
					c.failf("%s: acquire answered %q", cl.owner, body)
					return
				}
				c.mu.Lock()
				cl.held = &lease{r.Name, r.Epoch}
				if r.Epoch <= c.maxEpoch[r.Name] {
					c.violation = append(c.violation, fmt.Sprintf("%s: %s granted with epoch %d, but epoch %d was acknowledged before", cl.owner, r.Name, r.Epoch, c.maxEpoch[r.Name]))
				}
				c.maxEpoch[r.Name] = r.Epoch
				c.stats.acquires++
				c.mu.Unlock()
				ack()
			case status == http.StatusNotFound:
				// All taken: ask again (a short pause spares the CPU; nothing
				// depends on its length).
				time.Sleep(time.Duration(1+rng.IntN(3)) * time.Millisecond)
			default:
				c.failf("%s: acquire: %d %q", cl.owner, status, body)
				return
			}
			continue
		}
		l := *cl.held
		if rng.IntN(3) == 0 {
			q := url.Values{"name": {l.name}, "owner": {cl.owner}, "state": {"busy"}, "epoch": {fmt.Sprint(l.epoch)}}
			status, body, amb := linearize.Call(ctx, hc, http.MethodPost, base+"/update?"+q.Encode(), `{"k":"v"}`)
			if amb {
				c.count(func(s *crashStats) { s.ambiguous++ })
				return
			}
			if status != http.StatusOK {
				c.failf("%s: heartbeat of its lease %s epoch %d: %d %q", cl.owner, l.name, l.epoch, status, body)
				return
			}
			continue
		}
		q := url.Values{"name": {l.name}, "owner": {cl.owner}, "dest": {"free"}, "epoch": {fmt.Sprint(l.epoch)}}
		cl.held = nil // the release is being sent
		status, body, amb := linearize.Call(ctx, hc, http.MethodPost, base+"/release?"+q.Encode(), "")
		if amb {
			cl.pendingRelease = &l
			c.count(func(s *crashStats) { s.ambiguous++ })
			return
		}
		if status != http.StatusOK {
			c.failf("%s: release of its lease %s epoch %d: %d %q", cl.owner, l.name, l.epoch, status, body)
			return
		}
		c.mu.Lock()
		c.released[l] = cl.owner
		c.stats.releases++
		c.mu.Unlock()
		ack()
	}
}

func (c *crashChecker) count(f func(*crashStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// check reads the file after a crash: bbolt's consistency check, then
// every resource against what clients were told. Clients with an
// unanswered call learn its outcome from the file (as a real client would
// on its next heartbeat).
func (c *crashChecker) check(t testing.TB, path string, round int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 10 * time.Second})
	require.NoError(t, err, "round %d: open %s", round, path)
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			c.violation = append(c.violation, fmt.Sprintf("round %d: bbolt check: %v", round, err))
		}
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, db.Close())

	st, err := boltstore.Open(path, boltstore.Options{})
	require.NoError(t, err, "round %d", round)
	list, err := ranch.New(st, ranch.Options{Logger: quietLogger()}).Resources(context.Background())
	require.NoError(t, st.Close())
	require.NoError(t, err)
	res := map[string]boskos.Resource{}
	for _, r := range list {
		if r.Type == crashType {
			res[r.Name] = r
		}
	}
	v := func(format string, args ...any) {
		c.violation = append(c.violation, fmt.Sprintf("round %d: ", round)+fmt.Sprintf(format, args...))
	}
	byOwner := map[string]*crashClient{}
	for _, cl := range c.clients {
		byOwner[cl.owner] = cl
	}
	holders := map[string]string{}
	for _, cl := range c.clients {
		if cl.held != nil {
			if other, dup := holders[cl.held.name]; dup {
				v("%s is held by %s and %s", cl.held.name, other, cl.owner)
			}
			holders[cl.held.name] = cl.owner
			if r := res[cl.held.name]; r.Owner != cl.owner || r.Epoch != cl.held.epoch {
				v("lease lost: %s was granted %s epoch %d, the file says owner %q epoch %d", cl.owner, cl.held.name, cl.held.epoch, r.Owner, r.Epoch)
			}
		}
	}
	var names []string
	for n := range res {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := res[n]
		if r.Epoch < c.maxEpoch[n] {
			v("%s has epoch %d, but epoch %d was acknowledged", n, r.Epoch, c.maxEpoch[n])
		}
		if owner, ok := c.released[lease{n, r.Epoch}]; ok && r.Owner == owner {
			v("acknowledged release undone: %s epoch %d is owned by %s again", n, r.Epoch, owner)
		}
		if r.Owner == "" {
			continue
		}
		cl := byOwner[r.Owner]
		switch {
		case cl == nil:
			v("%s is owned by unknown %q", n, r.Owner)
		case cl.held != nil && cl.held.name == n:
			// checked above
		case cl.pendingRelease != nil && cl.pendingRelease.name == n && cl.pendingRelease.epoch == r.Epoch:
			cl.held, cl.pendingRelease = cl.pendingRelease, nil // not applied: still held
		case cl.pendingAcquire && cl.held == nil:
			cl.held, cl.pendingAcquire = &lease{n, r.Epoch}, false // granted before the crash
			c.maxEpoch[n] = max(c.maxEpoch[n], r.Epoch)
		default:
			v("%s epoch %d is owned by %s, which was never told so", n, r.Epoch, r.Owner)
		}
	}
	for _, cl := range c.clients {
		if cl.pendingRelease != nil { // applied
			c.released[*cl.pendingRelease] = cl.owner
		}
		cl.pendingAcquire, cl.pendingRelease = false, nil
	}
}

// TestCrashSafety kills `boskos serve` (bolt store) with SIGKILL at random
// moments under 64 clients on 8 resources, restarts it on the same file
// each time, and checks after every crash: the file passes bbolt's
// consistency check; every lease a client was told it holds is held by it
// with the same epoch; no resource has two holders or a holder never told;
// no acknowledged release or grant is undone.
func TestCrashSafety(t *testing.T) {
	p := crashParamsFor(t)
	dir := t.TempDir()
	cfg, _ := poolConfig(crashType, p.resources)
	target := &processTarget{path: filepath.Join(dir, "boskos.db"), config: writeConfig(t, cfg)}
	start := time.Now()
	stats, violations := runCrashes(t, target, target.path, p, seed(t))
	require.Empty(t, violations, "crash safety violated")
	require.Equal(t, p.crashes, stats.crashes)
	t.Logf("reliability: crash safety: crashes=%d clients=%d resources=%d acquires=%d releases=%d ambiguous=%d violations=0 in %s",
		stats.crashes, p.clients, p.resources, stats.acquires, stats.releases, stats.ambiguous, time.Since(start).Round(time.Millisecond))
}

// inProcessTarget serves a bolt file in this process. Its crash closes
// everything and then applies lose to the file, to simulate storage that
// does not keep what it acknowledged.
type inProcessTarget struct {
	path, synced string
	cfg          *boskos.Config
	wrap         func(store.Store) store.Store
	lose         func(t testing.TB, path, synced string)
	st           *boltstore.Store
	srv          *httptest.Server
}

func (it *inProcessTarget) start(t testing.TB) string {
	t.Helper()
	st, err := boltstore.Open(it.path, boltstore.Options{NoSync: true})
	require.NoError(t, err)
	it.st = st
	var s store.Store = st
	if it.wrap != nil {
		s = it.wrap(st)
	}
	r := ranch.New(s, ranch.Options{RequestTTL: 10 * time.Minute, SpreadWindow: ranch.DefaultSpreadWindow, Logger: quietLogger()})
	require.NoError(t, r.SyncConfig(context.Background(), it.cfg))
	copyFile(t, it.path, it.synced) // the last state known to be on disk
	it.srv = httptest.NewUnstartedServer(httpapi.New(r, httpapi.Options{Logger: quietLogger()}))
	it.srv.Start()
	return it.srv.URL
}

func (it *inProcessTarget) crash(t testing.TB) {
	t.Helper()
	it.srv.CloseClientConnections()
	it.srv.Close()
	require.NoError(t, it.st.Close())
	if it.lose != nil {
		it.lose(t, it.path, it.synced)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.Create(to)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}

// dropper acknowledges one in every n writes of a lease change (grant or
// release, alone or in a transaction: every grant is one, with the check
// of the queue item) without doing it: a lost write.
type dropper struct {
	store.Store
	n, i atomic.Int64
}

func (d *dropper) Update(ctx context.Context, u store.Update) (store.Item, error) {
	if strings.HasPrefix(u.Key, "resource/") && d.i.Add(1)%d.n.Load() == 0 {
		cur, err := d.Store.Get(ctx, u.Key)
		if err != nil {
			return store.Item{}, err
		}
		return u.Apply(cur), nil
	}
	return d.Store.Update(ctx, u)
}

func (d *dropper) Transact(ctx context.Context, ops []store.Op) error {
	if len(ops) > 0 && ops[0].Update != nil && strings.HasPrefix(ops[0].Update.Key, "resource/") && d.i.Add(1)%d.n.Load() == 0 {
		return nil
	}
	return d.Store.Transact(ctx, ops)
}

// TestCrashCheckCatchesLostWrites is a test of the test: the crash check
// must fail on storage that loses what it acknowledged, either every
// write since the last restart (a lost fsync before a power cut: the file
// is rolled back to its state at start) or one lease write in 50.
func TestCrashCheckCatchesLostWrites(t *testing.T) {
	cases := []struct {
		name string
		wrap func(store.Store) store.Store
		lose func(t testing.TB, path, synced string)
	}{
		{name: "lost fsync", lose: func(t testing.TB, path, synced string) { copyFile(t, synced, path) }},
		{name: "lost write", wrap: func(s store.Store) store.Store {
			d := &dropper{Store: s}
			d.n.Store(50)
			return d
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := crashParamsFor(t)
			p.crashes = 5
			dir := t.TempDir()
			cfg, _ := poolConfig(crashType, p.resources)
			target := &inProcessTarget{path: filepath.Join(dir, "boskos.db"), synced: filepath.Join(dir, "synced.db"),
				cfg: cfg, wrap: tc.wrap, lose: tc.lose}
			stats, violations := runCrashes(t, target, target.path, p, seed(t))
			require.NotEmpty(t, violations, "%d crashes on storage that loses writes went unnoticed: the crash check is blind", stats.crashes)
			t.Logf("caught after %d crash(es): %s", stats.crashes, violations[0])
		})
	}
}
