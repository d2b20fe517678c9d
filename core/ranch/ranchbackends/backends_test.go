package ranchbackends_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

type clock = testkit.Clock

// backends are the plain stores; TestScenario adds the faults itself.
var backends = []testkit.Backend{testkit.Backends[0], testkit.Backends[2], testkit.Backends[3]}

func requireErr(t *testing.T, err error, code boskos.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, code, boskos.ErrorCode(err), "code of %q", err)
	assert.Equal(t, msg, err.Error())
}

func TestScenario(t *testing.T) {
	for _, b := range backends {
		for _, faults := range []bool{false, true} {
			name := b.Name
			if faults {
				name += "/faults"
			}
			t.Run(name, func(t *testing.T) {
				var s store.Store = b.Open(t)
				if faults {
					s = faultstore.New(s, faultstore.FirstWriteConflict())
				}
				scenario(t, s)
			})
		}
	}
}

func scenario(t *testing.T, s store.Store) {
	ctx := context.Background()
	// The test clock runs in the future: DynamoDB Local's TTL sweeper
	// deletes, by the wall clock, items whose ttl has passed, and took the
	// queue entry of a clock in the past away mid-test.
	c := testkit.NewClock()
	r := ranch.New(s, ranch.Options{Now: c.Now, DRLCCacheTTL: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	cfg, err := boskos.ParseConfig([]byte(`
resources:
- type: t
  names: [a, b, c]
- type: d
  state: dirty
  min-count: 1
  max-count: 2
  lifespan: 1h
`))
	require.NoError(t, err)
	require.NoError(t, r.SyncConfig(ctx, cfg))
	notFoundT := boskos.ResourceNotFound("t")

	// Acquire, heartbeat with userdata, fencing, release.
	c.Add(time.Second)
	got, err := r.Acquire(ctx, "t", "free", "busy", "o", "")
	require.NoError(t, err)
	assert.Equal(t, "a", got.Name)
	assert.Equal(t, int64(1), got.Epoch)
	assert.Equal(t, c.Now(), got.LastUpdate)
	require.NoError(t, r.Update(ctx, "a", "o", "busy", boskos.UserData{"k": "v", "x": ""}, &got.Epoch))
	require.NoError(t, r.Update(ctx, "a", "o", "busy", boskos.UserData{"k2": "v2", "k": ""}, nil))
	requireErr(t, r.Update(ctx, "a", "p", "busy", nil, nil), boskos.EOwnerMismatch, "owner mismatch request by p, currently owned by o")
	requireErr(t, r.Update(ctx, "a", "o", "free", nil, nil), boskos.EStateMismatch, "state mismatch - expected busy, current free")
	requireErr(t, r.Update(ctx, "zz", "o", "free", nil, nil), boskos.ENotFound, "no available resource zz, try again later.")
	stale := int64(0)
	requireErr(t, r.Release(ctx, "a", "free", "o", &stale), boskos.EStaleEpoch, "stale epoch for a: request has 0, resource is at 1")
	require.NoError(t, r.Release(ctx, "a", "dirty", "o", &got.Epoch))
	requireErr(t, r.Release(ctx, "a", "dirty", "o", nil), boskos.EOwnerMismatch, "owner mismatch request by o, currently owned by ")
	rs, err := r.Resources(ctx)
	require.NoError(t, err)
	require.Len(t, rs, 4)
	byName := map[string]boskos.Resource{}
	for _, x := range rs {
		byName[x.Name] = x
	}
	require.Contains(t, byName, "a")
	assert.Equal(t, boskos.UserData{"k2": "v2"}, byName["a"].UserData)
	assert.Equal(t, "dirty", byName["a"].State)
	assert.Equal(t, "", byName["a"].Owner)
	assert.Nil(t, byName["a"].ExpirationDate)

	// Request queue: A takes a; B waits; anonymous is behind B; B gets b
	// once it is released, in one transaction with its queue entry.
	_, err = r.Acquire(ctx, "t", "dirty", "busy", "o", "A")
	require.NoError(t, err)
	_, err = r.Acquire(ctx, "t", "dirty", "busy", "o", "B")
	requireErr(t, err, notFoundT.Code, notFoundT.Message)
	res, err := r.AcquireByState(ctx, "free", "leased", "o2", []string{"c", "b", "c"})
	require.NoError(t, err)
	require.Len(t, res, 2)
	_, err = r.AcquireByState(ctx, "leased", "x", "o3", []string{"b", "a"})
	requireErr(t, err, boskos.ENotFound, "no available resource leased, try again later.")
	require.NoError(t, r.Release(ctx, "b", "dirty", "o2", nil))
	_, err = r.Acquire(ctx, "t", "dirty", "busy", "o", "")
	requireErr(t, err, notFoundT.Code, notFoundT.Message)
	got, err = r.Acquire(ctx, "t", "dirty", "busy", "o3", "B")
	require.NoError(t, err)
	assert.Equal(t, "b", got.Name)
	c.Add(2 * time.Minute)
	n, err := r.GCRequestQueue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "both entries were consumed")

	// Dynamic resources: release sets the expiration; on-demand creation
	// stops at max-count; reconcile marks the expired one.
	dyn, err := r.Acquire(ctx, "d", "dirty", "busy", "o", "")
	require.NoError(t, err)
	require.NoError(t, r.Release(ctx, dyn.Name, "free", "o", nil))
	for _, id := range []string{"new1", "new2"} {
		_, err = r.Acquire(ctx, "d", "dirty", "busy", "o", id)
		requireErr(t, err, boskos.ENotFound, "no available resource d, try again later.")
	}
	m, err := r.Metric(ctx, "d")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"free": 1, "dirty": 1}, m.Current, "max-count 2")
	c.Add(2 * time.Hour)
	require.NoError(t, r.Reconcile(ctx))
	m, err = r.Metric(ctx, "d")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"toBeDeleted": 1, "dirty": 1}, m.Current)

	// Reset and unknown types.
	reset, err := r.Reset(ctx, "t", "busy", time.Hour, "dirty")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "o", "b": "o3"}, reset)
	_, err = r.Acquire(ctx, "nope", "free", "busy", "o", "")
	requireErr(t, err, boskos.ETypeNotFound, `resource type "nope" does not exist`)
	_, err = r.Metric(ctx, "nope")
	requireErr(t, err, boskos.ENotFound, "no available resource nope, try again later.")
}
