package ranch

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
)

// TestStoreFailures: a failing store gives a 500 (boskos.EInternal) that
// says what failed, never a panic or a 4xx.
func TestStoreFailures(t *testing.T) {
	ops := []struct {
		name string
		call func(e *env) error
	}{
		{"acquire", func(e *env) error { _, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "id"); return err }},
		{"acquirebystate", func(e *env) error {
			_, err := e.r.AcquireByState(e.ctx, "free", "busy", "o", []string{"r"})
			return err
		}},
		{"release", func(e *env) error { return e.r.Release(e.ctx, "b", "free", "o", nil) }},
		{"update", func(e *env) error { return e.r.Update(e.ctx, "b", "o", "busy", boskos.UserData{"k": "v"}, nil) }},
		{"reset", func(e *env) error { _, err := e.r.Reset(e.ctx, "t", "busy", time.Second, "dirty"); return err }},
		{"metric", func(e *env) error { _, err := e.r.Metric(e.ctx, "t"); return err }},
		{"resources", func(e *env) error { _, err := e.r.Resources(e.ctx); return err }},
		{"sync", func(e *env) error {
			return e.r.SyncConfig(e.ctx, &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "t", Names: []string{"n"}}}})
		}},
		{"reconcile", func(e *env) error { return e.r.Reconcile(e.ctx) }},
		{"gc", func(e *env) error { _, err := e.r.GCRequestQueue(e.ctx); return err }},
	}
	failures := []struct {
		name  string
		match func(faultstore.Call) bool
	}{
		{"reads", func(c faultstore.Call) bool { return !c.IsWrite() }},
		{"writes", faultstore.Writes},
	}
	for _, f := range failures {
		for _, op := range ops {
			t.Run(f.name+"/"+op.name, func(t *testing.T) {
				e := newEnv(t, Options{}, faultstore.Fail(f.match, nil, 0))
				e.seed(res{name: "r", rtype: "t", state: "free"}, res{name: "b", rtype: "t", state: "busy", owner: "o", age: time.Hour})
				e.seedDRLC(boskos.DRLC{Type: "d", MinCount: 1, MaxCount: 1})
				_, _ = e.mem.Update(e.ctx, leaseQueueEntryForGC(e))
				before := e.all()
				err := op.call(e)
				if e.fs.Injected() == 0 {
					require.NoError(t, err, "nothing failed")
					return
				}
				require.Error(t, err)
				assert.Equal(t, boskos.EInternal, boskos.ErrorCode(err), "%v", err)
				assert.True(t, strings.HasPrefix(err.Error(), "ranch: "), err.Error())
				if f.name == "writes" {
					assert.Equal(t, before, e.all(), "nothing written")
				}
			})
		}
	}
}

// TestStoreUnavailable: a store that refuses for lack of capacity
// (store.ErrUnavailable: throttled, nothing applied) gives a 503
// (boskos.EUnavailable) that says what failed; any other failure stays a
// 500.
func TestStoreUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want boskos.Code
	}{
		{"throttled", fmt.Errorf("dynamostore: query t: %w", store.ErrUnavailable), boskos.EUnavailable},
		{"other failure", errors.New("disk on fire"), boskos.EInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{}, faultstore.Fail(faultstore.Method(faultstore.Query), tc.err, 0))
			e.seed(res{name: "r", rtype: "t", state: "free"})
			_, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
			require.Error(t, err)
			assert.Equal(t, tc.want, boskos.ErrorCode(err), "got code for %v", err)
			assert.True(t, strings.HasPrefix(err.Error(), "ranch: acquire t: query: "), err.Error())
		})
	}
}

// leaseQueueEntryForGC is a long expired queue entry, so GC has work.
func leaseQueueEntryForGC(e *env) storeUpdate {
	return storeUpdate{Key: queueKey("t", "free", "old"), Upsert: true,
		Set:    map[string]string{attrType: "t", attrState: "free", attrID: "old", attrCreated: fmtTime(t0.Add(-time.Hour))},
		SetNum: map[string]int64{attrExpires: t0.Add(-time.Hour).UnixNano()}}
}
