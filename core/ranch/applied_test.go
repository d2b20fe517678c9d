package ranch

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
)

func TestSyncRecordsTheConfigInForce(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		_, err := e.r.AppliedConfig(e.ctx)
		require.ErrorIs(t, err, ErrNoConfig)
		_, _, err = e.r.ConfigInForce(e.ctx)
		require.ErrorIs(t, err, ErrNoConfig)

		cfg := mustConfig(t, `
resources:
- {type: proj, state: dirty, names: [p-1, p-2]}
- {type: acct, names: [a-1]}
- {type: clus, min-count: 1, max-count: 2, lifespan: 1h}
`)
		origin := Origin{Source: "s3://b/config.yaml", Version: `"etag-1"`}
		rep, err := e.r.Sync(e.ctx, cfg, origin)
		require.NoError(t, err)
		assert.Empty(t, rep.Deferred)
		hash, err := ConfigHash(cfg)
		require.NoError(t, err)
		want := Applied{Origin: origin, Hash: hash, Types: []string{"acct", "clus", "proj"}, At: t0}
		assert.Equal(t, want, rep.Applied)

		got, err := e.r.AppliedConfig(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		inForce, got, err := e.r.ConfigInForce(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		assert.Equal(t, cfg, inForce, "the config in force round-trips")

		// A new config replaces the old one whole; the old body is gone.
		cfg2 := mustConfig(t, "resources:\n- {type: proj, names: [p-1]}\n")
		_, err = e.r.Sync(e.ctx, cfg2, Origin{Source: "file:x"})
		require.NoError(t, err)
		inForce, got, err = e.r.ConfigInForce(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, cfg2, inForce)
		assert.Equal(t, []string{"proj"}, got.Types)
		page, err := e.mem.List(e.ctx, bodyPrefix, "", 0)
		require.NoError(t, err)
		assert.Len(t, page.Items, 1, "one body generation remains")
	})
}

func TestSyncReportsDeferredWork(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "p-1", rtype: "proj", state: "busy", owner: "job"},
			res{name: "p-2", rtype: "proj", state: "free"},
			res{name: "moves", rtype: "proj", state: "busy", owner: "job2"})
		cfg := mustConfig(t, "resources:\n- {type: proj, names: [p-2]}\n- {type: acct, names: [moves]}\n")
		rep, err := e.r.Sync(e.ctx, cfg, Origin{})
		require.NoError(t, err)
		assert.Equal(t, []string{"moves", "p-1"}, rep.Deferred)
		assert.True(t, rep.Applied.Pending)

		// Nothing changes until they are released.
		rep, ran, err := e.r.ResyncPending(e.ctx)
		require.NoError(t, err)
		assert.True(t, ran)
		assert.True(t, rep.Applied.Pending)
		require.NoError(t, e.r.Release(e.ctx, "p-1", "dirty", "job", nil))
		require.NoError(t, e.r.Release(e.ctx, "moves", "dirty", "job2", nil))

		rep, ran, err = e.r.ResyncPending(e.ctx)
		require.NoError(t, err)
		assert.True(t, ran)
		assert.False(t, rep.Applied.Pending)
		assert.Empty(t, rep.Deferred)
		assert.Equal(t, map[string]string{"p-2": "proj/free/", "moves": "acct/free/"}, e.summary())

		_, ran, err = e.r.ResyncPending(e.ctx)
		require.NoError(t, err)
		assert.False(t, ran, "nothing pending: no sync")
	})
}

func TestResyncPendingWithoutConfig(t *testing.T) {
	e := newEnv(t, Options{})
	_, ran, err := e.r.ResyncPending(e.ctx)
	require.NoError(t, err)
	assert.False(t, ran)
}

func TestConfigInForceLargeConfig(t *testing.T) {
	// Random names do not compress: the body spans several items.
	var sb strings.Builder
	sb.WriteString("resources:\n- type: big\n  names:\n")
	for range 20000 {
		fmt.Fprintf(&sb, "  - n-%s\n", uuid.NewString())
	}
	cfg := mustConfig(t, sb.String())
	e := newEnv(t, Options{})
	a, err := e.r.recordApplied(e.ctx, cfg, Origin{}, false)
	require.NoError(t, err)
	hdr, err := e.mem.Get(e.ctx, appliedKey)
	require.NoError(t, err)
	assert.Greater(t, hdr.N(attrChunks), int64(1))
	got, ga, err := e.r.ConfigInForce(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, a, ga)
	assert.Equal(t, cfg, got)
}

func TestConcurrentSyncsLeaveOneWholeConfig(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		cfgs := []*boskos.Config{
			mustConfig(t, "resources:\n- {type: a, names: [x-1]}\n"),
			mustConfig(t, "resources:\n- {type: b, names: [y-1]}\n"),
		}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				_, err := e.r.recordApplied(e.ctx, cfgs[i%2], Origin{Source: fmt.Sprint(i)}, false)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		got, a, err := e.r.ConfigInForce(e.ctx)
		require.NoError(t, err)
		h, err := ConfigHash(got)
		require.NoError(t, err)
		assert.Equal(t, a.Hash, h, "header and body belong together")
		page, err := e.mem.List(e.ctx, bodyPrefix, "", 0)
		require.NoError(t, err)
		assert.Len(t, page.Items, 1, "old generations are deleted")
	})
}

func TestRecordVersion(t *testing.T) {
	e := newEnv(t, Options{})
	cfg := mustConfig(t, "resources:\n- {type: a, names: [x-1]}\n")
	rep, err := e.r.Sync(e.ctx, cfg, Origin{Source: "s3://b/k", Version: "v1"})
	require.NoError(t, err)
	require.NoError(t, e.r.RecordVersion(e.ctx, rep.Applied.Hash, Origin{Source: "s3://b/k", Version: "v2"}))
	a, err := e.r.AppliedConfig(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, "v2", a.Version)
	require.NoError(t, e.r.RecordVersion(e.ctx, "other-hash", Origin{Source: "s3://b/k", Version: "v3"}))
	a, err = e.r.AppliedConfig(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, "v2", a.Version, "a version is only recorded for the config it belongs to")
}

func TestSyncDeferredCases(t *testing.T) {
	cfg := `
resources:
- {type: t, names: [a, b]}
- {type: d, min-count: 1, max-count: 2}
`
	for _, tc := range []struct {
		name string
		seed []res
		want []string
	}{
		{"nothing", nil, nil},
		{"in the config", []res{{name: "a", rtype: "t", state: "busy", owner: "o"}, {name: "b", rtype: "t", state: "free"}}, nil},
		{"left the config, unowned: deleted now", []res{{name: "x", rtype: "t", state: "free"}}, nil},
		{"left the config, owned", []res{{name: "x", rtype: "t", state: "busy", owner: "o"}}, []string{"x"}},
		{"changed type, owned", []res{{name: "a", rtype: "u", state: "busy", owner: "o"}}, []string{"a"}},
		{"dynamic, owned", []res{{name: "uuid-1", rtype: "d", state: "busy", owner: "o"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.seed(tc.seed...)
			rep, err := e.r.Sync(e.ctx, mustConfig(t, cfg), Origin{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, rep.Deferred)
			assert.Equal(t, len(tc.want) > 0, rep.Applied.Pending)
		})
	}
}
