package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/tests/reliability/linearize"
)

// linPool is the pool of the linearizability histories: few resources for
// many clients, so that most operations contend; linVirtual is the Mason
// virtual type built from them by the histories' maintenance clients.
const (
	linType    = "lin"
	linPool    = 4
	linVirtual = "linv"
)

// linConfig is the config of every linearizability target.
func linConfig() *boskos.Config {
	cfg, _ := poolConfig(linType, linPool)
	return withVirtual(cfg, linVirtual)
}

// linParams are the sizes of one linearizability run.
type linParams struct {
	histories, clients, ops int
	timeout                 time.Duration // Porcupine's budget per history
}

func linParamsFor(t testing.TB) linParams {
	return linParams{
		histories: knob(t, "BOSKOS_RELIABILITY_LIN_HISTORIES", 1, 5),
		clients:   knob(t, "BOSKOS_RELIABILITY_LIN_CLIENTS", linearize.DefaultClients, linearize.DefaultClients),
		ops:       knob(t, "BOSKOS_RELIABILITY_LIN_OPS", 64, 800),
		timeout:   time.Duration(knob(t, "BOSKOS_RELIABILITY_LIN_CHECK_SECONDS", 60, 600)) * time.Second,
	}
}

// runHistory records one history on the lin pool against urls and checks
// it (see linearize.History); with m, the maintenance jobs run meanwhile
// on its store.
func runHistory(t testing.TB, urls []string, m *linearize.Maintenance, p linParams, seed uint64, dir string) (porcupine.CheckResult, int, string) {
	t.Helper()
	_, names := poolConfig(linType, linPool)
	return linearize.History(t, urls, linType, names, linearize.Params{
		Clients: p.clients, Ops: p.ops, CheckTimeout: p.timeout, Seed: seed, Maintenance: m,
	}, dir)
}

// maintenanceOn is the maintenance of a history on st (the reaper, a
// janitor and Mason building linVirtual); none with
// BOSKOS_RELIABILITY_LIN_MAINTENANCE=0.
func maintenanceOn(st store.Store) *linearize.Maintenance {
	if os.Getenv("BOSKOS_RELIABILITY_LIN_MAINTENANCE") == "0" {
		return nil
	}
	return &linearize.Maintenance{Store: st, VirtualType: linVirtual}
}

// linTargets are the deployments the histories run against. Each returns
// the base URLs of a fresh service on the lin pool, and the maintenance
// that runs on its store.
var linTargets = []struct {
	name  string
	start func(t *testing.T) ([]string, *linearize.Maintenance)
}{
	{name: "memory", start: func(t *testing.T) ([]string, *linearize.Maintenance) {
		st := memstore.New()
		return []string{startInProcess(t, st, linConfig())}, maintenanceOn(st)
	}},
	{name: "bolt", start: func(t *testing.T) ([]string, *linearize.Maintenance) {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "boskos.db"), boltstore.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return []string{startInProcess(t, st, linConfig())}, maintenanceOn(st)
	}},
	{name: "dynamodb two processes", start: func(t *testing.T) ([]string, *linearize.Maintenance) {
		endpoint := dynamotest.Endpoint(t)
		for _, kv := range [][2]string{
			{"AWS_ACCESS_KEY_ID", "local"}, {"AWS_SECRET_ACCESS_KEY", "local"},
			{"AWS_REGION", dynamotest.Region}, {"AWS_EC2_METADATA_DISABLED", "true"},
		} {
			t.Setenv(kv[0], kv[1])
		}
		client, table := dynamotest.NewTable(t)
		// The servers' own jobs are off: the maintenance of the history
		// runs them, recorded, as a third process on the table.
		args := []string{"--config", writeConfig(t, linConfig()), "--store", "dynamodb:" + table,
			"--dynamodb-endpoint", endpoint, "--dynamodb-region", dynamotest.Region,
			"--request-ttl", "10m", "--gc-period", "10m", "--reaper-expire", "0", "--mason=false"}
		// The second process must not sync the config concurrently with the
		// first one's first sync: start them one after the other.
		p1 := startServe(t, args...)
		p2 := startServe(t, args...)
		return []string{p1.URL, p2.URL}, maintenanceOn(dynamostore.New(client, table, dynamostore.Options{}))
	}},
}

// TestLinearizability records concurrent histories of every state-changing
// endpoint on each deployment and checks them with Porcupine against
// linearize.Model. A failure leaves linearizability.html (Porcupine's
// visualization) and history.txt in the logged directory.
func TestLinearizability(t *testing.T) {
	p := linParamsFor(t)
	for _, tc := range linTargets {
		t.Run(tc.name, func(t *testing.T) {
			s := seed(t)
			total, start := 0, time.Now()
			for h := range p.histories {
				// Each history is a subtest of its own, so that its
				// service (servers, their stream readers, the table) is
				// gone before the next one starts: left running, every
				// earlier history's two boskos serve kept polling
				// DynamoDB Local meanwhile.
				ok := t.Run(fmt.Sprintf("history %d", h), func(t *testing.T) {
					urls, m := tc.start(t)
					dir := artifactDir(t)
					res, n, path := runHistory(t, urls, m, p, s+uint64(h), dir)
					total += n
					require.Equal(t, porcupine.Ok, res, "history %d is not linearizable: see %s and %s", h, path, filepath.Join(dir, "history.txt"))
					_ = os.Remove(dir) // empty when nothing was written
				})
				if !ok {
					return
				}
			}
			t.Logf("reliability: linearizability %s: histories=%d operations=%d violations=0 in %s",
				tc.name, p.histories, total, time.Since(start).Round(time.Millisecond))
		})
	}
}

// condSkipper is a deliberately broken store: every update of a resource
// ignores its conditions (owner, state, version, epoch), as a backend
// whose conditional write lost its condition would.
type condSkipper struct{ store.Store }

func (s condSkipper) Update(ctx context.Context, u store.Update) (store.Item, error) {
	if strings.HasPrefix(u.Key, "resource/") {
		u.Cond = nil
	}
	return s.Store.Update(ctx, u)
}

func (s condSkipper) Transact(ctx context.Context, ops []store.Op) error {
	out := make([]store.Op, len(ops))
	for i, op := range ops {
		if op.Update != nil && strings.HasPrefix(op.Update.Key, "resource/") {
			u := *op.Update
			u.Cond = nil
			op.Update = &u
		}
		out[i] = op
	}
	return s.Store.Transact(ctx, out)
}

// TestLinearizabilityCatchesSkippedCondition is a test of the test: on a
// store whose resource writes skip their condition, the checker must find
// a non-linearizable history (a double grant, a release by a non-holder)
// and write its visualization. Histories are bounded; one is almost
// always enough.
func TestLinearizabilityCatchesSkippedCondition(t *testing.T) {
	p := linParamsFor(t)
	// Short histories: proving a history with many violations
	// non-linearizable can make Porcupine search for minutes (a 506-op
	// history once ran out of its minute); a double grant shows up within
	// a few operations per client on this store.
	p.histories, p.ops = 10, min(p.ops, 15)
	s := seed(t)
	for h := range p.histories {
		url := startInProcess(t, condSkipper{memstore.New()}, linConfig())
		dir := t.TempDir()
		res, n, path := runHistory(t, []string{url}, nil, p, s+uint64(h), dir)
		if res == porcupine.Illegal {
			info, err := os.Stat(path)
			require.NoError(t, err, "the visualization must be written")
			require.Positive(t, info.Size())
			t.Logf("history %d (%d operations): violation found, visualization written (%d bytes)", h, n, info.Size())
			return
		}
	}
	t.Fatalf("%d histories on a store that skips conditions all passed: the checker is blind", p.histories)
}
