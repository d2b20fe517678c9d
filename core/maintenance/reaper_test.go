package maintenance

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
)

const reaperConfig = `
resources:
- {type: proj, names: [p-1, p-2, p-3, p-4, p-5, p-6]}
- {type: acct, names: [a-1]}
`

func TestReaper(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		require.NoError(t, r.SyncConfig(w.ctx, mustConfig(t, reaperConfig)))
		lease := func(state, dest, owner string) boskos.Resource {
			t.Helper()
			res, err := r.Acquire(w.ctx, "proj", state, dest, owner, "")
			require.NoError(t, err)
			return res
		}
		// p-1 busy, p-2 cleaning, p-3 leased, p-4 custom (an extra state),
		// p-5 in a state nobody reaps; a-1 busy but heart-beating.
		stale := lease("free", "busy", "job-1")
		lease("free", "cleaning", "janitor")
		lease("free", "leased", "mason")
		lease("free", "custom", "job-2")
		lease("free", "other-state", "job-3")
		fresh, err := r.Acquire(w.ctx, "acct", "free", "busy", "job-4", "")
		require.NoError(t, err)

		var reaped map[string]int
		p, err := NewReaper(r, ReaperOptions{
			Expire: 30 * time.Minute, ExtraStates: []string{"custom"}, Logger: quiet(),
			OnReaped: func(rtype string, n int) {
				if reaped == nil {
					reaped = map[string]int{}
				}
				reaped[rtype] += n
			},
		})
		require.NoError(t, err)

		w.clock.Add(29 * time.Minute)
		require.NoError(t, r.Update(w.ctx, fresh.Name, "job-4", "busy", nil, &fresh.Epoch))
		rep, err := p.Reap(w.ctx)
		require.NoError(t, err)
		assert.Empty(t, rep.Reaped, "nothing is stale yet")
		assert.Equal(t, 2, rep.Types)

		w.clock.Add(2 * time.Minute) // leases 31m old; a-1's heartbeat 2m old
		rep, err = p.Reap(w.ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"p-1": "job-1", "p-2": "janitor", "p-3": "mason", "p-4": "job-2"}, rep.Reaped)
		assert.Equal(t, map[string]int{"proj": 4}, reaped)
		assert.Equal(t, map[string]string{
			"p-1": "dirty/", "p-2": "dirty/", "p-3": "dirty/", "p-4": "dirty/",
			"p-5": "other-state/job-3", "p-6": "free/", "a-1": "busy/job-4",
		}, states(t, r))

		// The old holder learns it lost the lease: with its owner name
		// alone (401) and, once someone else holds it, with its epoch (409).
		err = r.Update(w.ctx, "p-1", "job-1", "busy", nil, &stale.Epoch)
		assert.Equal(t, boskos.EOwnerMismatch, boskos.ErrorCode(err))
		err = r.Release(w.ctx, "p-1", "free", "job-1", &stale.Epoch)
		assert.Equal(t, boskos.EOwnerMismatch, boskos.ErrorCode(err))
		again, err := r.Acquire(w.ctx, "proj", "dirty", "busy", "job-1", "")
		require.NoError(t, err)
		require.Equal(t, "p-1", again.Name, "least recently updated first, ties by name")
		err = r.Release(w.ctx, "p-1", "free", "job-1", &stale.Epoch)
		assert.Equal(t, boskos.EStaleEpoch, boskos.ErrorCode(err), "same owner, old epoch")

		// A second pass finds nothing more.
		rep, err = p.Reap(w.ctx)
		require.NoError(t, err)
		assert.Empty(t, rep.Reaped)
	})
}

func TestReaperTypesFollowTheConfigInForce(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		p, err := NewReaper(r, ReaperOptions{Expire: time.Minute, TargetState: "reaped", Logger: quiet()})
		require.NoError(t, err)
		rep, err := p.Reap(w.ctx)
		require.NoError(t, err, "no config yet: nothing to do")
		assert.Zero(t, rep.Types)

		require.NoError(t, r.SyncConfig(w.ctx, mustConfig(t, "resources:\n- {type: one, names: [o-1]}\n")))
		_, err = r.Acquire(w.ctx, "one", "free", "busy", "job", "")
		require.NoError(t, err)
		require.NoError(t, r.SyncConfig(w.ctx, mustConfig(t, "resources:\n- {type: one, names: [o-1]}\n- {type: two, names: [t-1]}\n")))
		_, err = r.Acquire(w.ctx, "two", "free", "busy", "job", "")
		require.NoError(t, err)
		w.clock.Add(2 * time.Minute)
		rep, err = p.Reap(w.ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"o-1": "job", "t-1": "job"}, rep.Reaped, "a type added to the config is reaped without a flag")
		assert.Equal(t, map[string]string{"o-1": "reaped/", "t-1": "reaped/"}, states(t, r))
	})
}

func TestReaperConcurrentCopies(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		var names []string
		y := "resources:\n- type: proj\n  names:\n"
		for i := range 16 {
			n := "p-" + string(rune('a'+i))
			names = append(names, n)
			y += "  - " + n + "\n"
		}
		require.NoError(t, r.SyncConfig(w.ctx, mustConfig(t, y)))
		for range names {
			_, err := r.Acquire(w.ctx, "proj", "free", "busy", "job", "")
			require.NoError(t, err)
		}
		w.clock.Add(time.Hour)
		var mu sync.Mutex
		total := map[string]int{}
		var wg sync.WaitGroup
		for range 2 {
			p, err := NewReaper(w.ranch(), ReaperOptions{Logger: quiet()})
			require.NoError(t, err)
			wg.Go(func() {
				rep, err := p.Reap(w.ctx)
				assert.NoError(t, err)
				mu.Lock()
				for n := range rep.Reaped {
					total[n]++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		assert.Len(t, total, len(names))
		for n, c := range total {
			assert.Equal(t, 1, c, "%s reset by exactly one copy", n)
		}
	})
}

func TestNewReaperRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts ReaperOptions
		want string
	}{
		{"negative expire", ReaperOptions{Expire: -time.Second}, "must be positive"},
		{"bad target", ReaperOptions{TargetState: "a\x00b"}, "invalid reaper target state"},
		{"bad extra", ReaperOptions{ExtraStates: []string{""}}, "invalid reaper extra state: must be set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReaper(nil, tc.opts)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestParseStates(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{name: "empty", in: "", want: nil},
		{name: "blank", in: "  ", want: nil},
		{name: "list", in: "a, b ,c", want: []string{"a", "b", "c"}},
		{name: "empty element", in: "a,,b", err: `state 2 of "a,,b" is empty`},
		{name: "control char", in: "a,b\x01", err: "control characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStates(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
