package janitor_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

var t0 = testkit.T0

type clock = testkit.Clock

var quiet = testkit.Quiet()

// backends opens a fresh store of each kind (the conflict-injecting one is
// used where a test says so).
var backends = []testkit.Backend{testkit.Backends[0], testkit.Backends[2], testkit.Backends[3]}

// env is a ranch over a store, with a test clock.
type env struct {
	t     testing.TB
	ctx   context.Context
	clock *clock
	s     store.Store
	r     *ranch.Ranch
}

// newEnv syncs config (YAML) into s.
func newEnv(t testing.TB, s store.Store, config string) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: testkit.NewClock(), s: s}
	e.r = ranch.New(s, ranch.Options{Now: e.clock.Now, DRLCCacheTTL: -1, Logger: quiet})
	cfg, err := boskos.ParseConfig([]byte(config))
	require.NoError(t, err)
	require.NoError(t, e.r.SyncConfig(e.ctx, cfg))
	return e
}

// memEnv is newEnv on a memstore.
func memEnv(t testing.TB, config string) *env { return newEnv(t, memstore.New(), config) }

// types is an Options.Types over a fixed list.
func types(ts ...string) func(context.Context) ([]string, error) {
	return func(context.Context) ([]string, error) { return ts, nil }
}

// get returns the resource called name.
func (e *env) get(name string) boskos.Resource {
	e.t.Helper()
	rs, err := e.r.Resources(e.ctx)
	require.NoError(e.t, err)
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	e.t.Fatalf("no resource %s", name)
	return boskos.Resource{}
}

// states returns name -> state of every resource.
func (e *env) states() map[string]string {
	e.t.Helper()
	rs, err := e.r.Resources(e.ctx)
	require.NoError(e.t, err)
	out := map[string]string{}
	for _, r := range rs {
		out[r.Name] = r.State
	}
	return out
}

// setUserData puts ud on the unowned resource name in state, as a client
// would (acquire, update, release to the same state).
func (e *env) setUserData(name, state string, ud boskos.UserData) {
	e.t.Helper()
	res, err := e.r.AcquireByState(e.ctx, state, "seeding", "seeder", []string{name})
	require.NoError(e.t, err)
	require.NoError(e.t, e.r.Update(e.ctx, name, "seeder", "seeding", ud, &res[0].Epoch))
	require.NoError(e.t, e.r.Release(e.ctx, name, state, "seeder", &res[0].Epoch))
}

// results collects the Results of a janitor.
type results struct {
	mu  sync.Mutex
	all []janitor.Result
	ch  chan janitor.Result
}

func newResults() *results { return &results{ch: make(chan janitor.Result, 1000)} }

func (r *results) add(x janitor.Result) {
	r.mu.Lock()
	r.all = append(r.all, x)
	r.mu.Unlock()
	r.ch <- x
}

// next waits for the next Result.
func (r *results) next(t testing.TB) janitor.Result {
	t.Helper()
	select {
	case x := <-r.ch:
		return x
	case <-time.After(30 * time.Second):
		t.Fatal("timed out waiting for a cleanup result")
	}
	return janitor.Result{}
}

// statuses returns name -> statuses in order.
func (r *results) statuses() map[string][]janitor.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]janitor.Status{}
	for _, x := range r.all {
		out[x.Name] = append(out[x.Name], x.Status)
	}
	return out
}

// newJanitor builds a janitor over e with quiet logs, e's clock and the
// results hook.
func (e *env) newJanitor(o janitor.Options, res *results) *janitor.Janitor {
	e.t.Helper()
	if o.Now == nil {
		o.Now = e.clock.Now
	}
	if o.Logger == nil {
		o.Logger = quiet
	}
	if res != nil {
		o.OnResult = res.add
	}
	j, err := janitor.New(e.r, o)
	require.NoError(e.t, err)
	return j
}

// names returns n names prefix-0 .. prefix-(n-1).
func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + itoa(i)
	}
	return out
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// yamlList renders names as a YAML flow list.
func yamlList(ns []string) string { return "[" + strings.Join(ns, ", ") + "]" }

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// always is a Cleaner answering o, err.
func always(o janitor.Outcome, err error) janitor.Cleaner {
	return janitor.CleanerFunc(func(context.Context, boskos.Resource) (janitor.Outcome, error) { return o, err })
}
