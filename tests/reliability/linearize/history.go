package linearize

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

// DefaultClients is how many clients a history runs, besides the
// maintenance clients (the reaper, the janitor's two workers, Mason and
// its consumer). Porcupine's search grows exponentially with the number
// of operations open at once, not with the history's length: with eight
// clients and the maintenance, one short history in a few dozen took
// Porcupine over a minute (most under 20 s, against 0.4 s without the
// maintenance); with six clients and the maintenance, sixteen histories
// of 500 operations each took at most 0.25 s, the concurrency of eight
// clients without it.
const DefaultClients = 6

// Params are the sizes of one history.
type Params struct {
	// Clients run concurrently; each does Ops operations (fewer when one
	// of its calls is ambiguous: it stops there).
	Clients, Ops int
	// CheckTimeout is Porcupine's budget; running out fails the test.
	CheckTimeout time.Duration
	// Seed makes the clients' choices reproducible (not the interleaving).
	Seed uint64
	// Maintenance, if set, runs the service's jobs meanwhile, recorded as
	// maintenance clients (see Maintenance).
	Maintenance *Maintenance
}

// History records one history against the servers at urls, which serve a
// static pool of type rtype whose resources (names, at most MaxPool) are
// all free and unowned, and checks it. Each operation goes to one of urls
// at random. It returns Porcupine's result and the number of operations;
// for a history that is not linearizable, also the path of Porcupine's
// visualization, written with history.txt (every operation, by call time)
// to dir. It fails t when the workload does not finish or Porcupine runs
// out of time.
func History(t testing.TB, urls []string, rtype string, names []string, p Params, dir string) (porcupine.CheckResult, int, string) {
	t.Helper()
	m := NewModel(names)
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 2 * p.Clients, MaxIdleConnsPerHost: 2 * p.Clients, IdleConnTimeout: time.Minute,
	}}
	defer hc.CloseIdleConnections()
	w := &workload{m: m, rtype: rtype, urls: urls, hc: hc, rec: newRecorder(p.Clients), clients: p.Clients, ops: p.Ops, seed: p.Seed, maint: p.Maintenance}
	// A failure guard only: a long history on DynamoDB Local, whose
	// transactions wait for each other's locks, took 7 minutes on the loaded
	// machine, one over 10.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	ops := w.run(ctx)
	require.NoError(t, ctx.Err(), "the workload did not finish")
	t.Logf("history: %s", Summary(ops))
	res, path := check(t, m, ops, p.CheckTimeout, dir)
	return res, len(ops), path
}
