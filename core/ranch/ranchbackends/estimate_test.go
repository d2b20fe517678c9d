package ranchbackends_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// TestEstimatedWaitFromHistory: on every backend, with its history feed
// (the hook of the embedded stores, the stream on DynamoDB), a refused
// request_id's estimated wait comes from the type's hold times: two
// resources held 40s and 80s, a mean of 60s, 30s per place in line.
// Without history, and with no waiting request_id served yet, there is no
// estimate.
func TestEstimatedWaitFromHistory(t *testing.T) {
	tests := []struct {
		name    string
		history bool
		want    []time.Duration // for the first and the second in line
	}{
		{name: "history", history: true, want: []time.Duration{30 * time.Second, 60 * time.Second}},
		{name: "no history", want: []time.Duration{0, 0}},
	}
	for _, b := range backends {
		for _, tc := range tests {
			t.Run(b.Name+"/"+tc.name, func(t *testing.T) {
				ctx := t.Context()
				c := testkit.NewClock()
				var st store.Store
				flush := func(*testing.T) {}
				if tc.history {
					env := openHistory(t, b, c)
					st, flush = env.st, env.flush
				} else {
					st = b.Open(t)
				}
				r := ranch.New(st, ranch.Options{Now: c.Now, Logger: testkit.Quiet()})
				require.NoError(t, r.SyncConfig(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{
					{Type: "t", State: boskos.Free, Names: []string{"r1", "r2"}}}}))
				lease := func(owner string) {
					t.Helper()
					for range 2 {
						_, err := r.Acquire(ctx, "t", "free", "busy", owner, "")
						require.NoError(t, err)
					}
				}
				lease("x")
				c.Add(40 * time.Second)
				require.NoError(t, r.Release(ctx, "r1", "free", "x", nil))
				c.Add(40 * time.Second)
				require.NoError(t, r.Release(ctx, "r2", "free", "x", nil))
				lease("y")
				flush(t)
				for i, id := range []string{"A", "B"} {
					c.Add(time.Second)
					_, err := r.Acquire(ctx, "t", "free", "busy", "o-"+id, id)
					requireErr(t, err, boskos.ENotFound, "no available resource t, try again later.")
					p, ok := boskos.QueueOf(err)
					require.True(t, ok, "%s: a queue place", id)
					assert.Equal(t, i+1, p.Position, "%s: position", id)
					assert.Equal(t, tc.want[i], p.EstimatedWait, "%s: estimated wait", id)
				}
			})
		}
	}
}
