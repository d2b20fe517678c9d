package maintenance

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/testkit"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

var t0 = testkit.T0

type clock = testkit.Clock

// backends are the stores every job test runs on.
var backends = testkit.Backends

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

var quiet = testkit.Quiet

// eachBackend runs fn on every backend.
func eachBackend(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, &world{ctx: context.Background(), store: b.Open(t), clock: testkit.NewClock()})
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
