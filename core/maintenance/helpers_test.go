package maintenance

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// t0 lies in the future: DynamoDB Local's TTL sweeper deletes items whose
// ttl passed by the wall clock.
var t0 = time.Date(2100, 1, 2, 15, 4, 5, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// backends are the stores every job test runs on; "faults" fails the first
// write of each key, so every test also walks the retry paths.
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"memstore", func(t *testing.T) store.Store { return memstore.New() }},
	{"faults", func(t *testing.T) store.Store { return faultstore.New(memstore.New(), faultstore.FirstWriteConflict()) }},
	{"boltstore", func(t *testing.T) store.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "boskos.db"), boltstore.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"dynamostore", func(t *testing.T) store.Store { return dynamotest.NewStore(t, dynamostore.Options{}) }},
}

// world is one test's store, clock and a ranch factory (two ranches on one
// store stand for two processes).
type world struct {
	ctx   context.Context
	store store.Store
	clock *clock
}

func (w *world) ranch() *ranch.Ranch {
	return ranch.New(w.store, ranch.Options{Now: w.clock.Now, DRLCCacheTTL: -1, Logger: quiet()})
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// eachBackend runs fn on every backend.
func eachBackend(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fn(t, &world{ctx: context.Background(), store: b.open(t), clock: &clock{now: t0}})
		})
	}
}

func mustConfig(t *testing.T, y string) *boskos.Config {
	t.Helper()
	c, err := boskos.ParseValidConfig([]byte(y))
	require.NoError(t, err)
	return c
}

// states returns name -> "state/owner" of every resource.
func states(t *testing.T, r *ranch.Ranch) map[string]string {
	t.Helper()
	all, err := r.Resources(context.Background())
	require.NoError(t, err)
	out := map[string]string{}
	for _, x := range all {
		out[x.Name] = x.State + "/" + x.Owner
	}
	return out
}

type boskosConfig = boskos.Config

var parseValid = boskos.ParseValidConfig
