package ranch

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

func TestAcquireByState(t *testing.T) {
	seed := []res{
		{name: "a", rtype: "t1", state: "s", age: time.Second},
		{name: "b", rtype: "t2", state: "s", age: 3 * time.Second},
		{name: "c", rtype: "t3", state: "s", age: 2 * time.Second},
		{name: "d", rtype: "t3", state: "s", age: 2 * time.Second},
		{name: "owned", rtype: "t1", state: "s", owner: "x"},
		{name: "other", rtype: "t1", state: "z"},
	}
	notFound := boskos.ResourceNotFound("s")
	tests := []struct {
		name    string
		names   []string
		want    []string // in response order
		wantErr *boskos.Error
	}{
		{name: "least recently updated first, ties by name", names: []string{"a", "d", "b", "c"}, want: []string{"b", "c", "d", "a"}},
		{name: "across types", names: []string{"a", "b"}, want: []string{"b", "a"}},
		{name: "duplicates count once", names: []string{"b", "b"}, want: []string{"b"}},
		{name: "empty element never matches", names: []string{"a", ""}, wantErr: notFound},
		{name: "missing name", names: []string{"a", "nope"}, wantErr: notFound},
		{name: "owned", names: []string{"a", "owned"}, wantErr: notFound},
		{name: "wrong state", names: []string{"a", "other"}, wantErr: notFound},
		{name: "no names", names: nil, wantErr: boskos.Invalid("invalid names: must be set")},
		{name: "bad name", names: []string{"a\tb"}, wantErr: boskos.Invalid("invalid name: must not contain control characters")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				e.seed(seed...)
				before := e.all()
				e.clock.Add(time.Minute)
				got, err := e.r.AcquireByState(e.ctx, "s", "leased", "me", tc.names)
				if tc.wantErr != nil {
					requireErr(t, err, tc.wantErr.Code, tc.wantErr.Message)
					assert.Equal(t, before, e.all(), "all or nothing: nothing changed")
					return
				}
				require.NoError(t, err)
				var names []string
				for _, r := range got {
					names = append(names, r.Name)
					want := before[r.Name]
					want.State, want.Owner, want.LastUpdate, want.Epoch = "leased", "me", e.clock.Now(), want.Epoch+1
					assert.Equal(t, want, r, "response")
					assert.Equal(t, want, e.mustGet(r.Name), "stored")
				}
				assert.Equal(t, tc.want, names)
			})
		})
	}
}

func TestAcquireByStateTooMany(t *testing.T) {
	e := newEnv(t, Options{})
	var names []string
	for i := 0; i <= store.MaxTransactItems; i++ {
		names = append(names, fmt.Sprintf("r%d", i), fmt.Sprintf("r%d", i))
	}
	_, err := e.r.AcquireByState(e.ctx, "s", "d", "o", names)
	requireErr(t, err, boskos.EInvalid, "invalid names: at most 100 distinct resources can be acquired at once, got 101")
	_, err = e.r.AcquireByState(e.ctx, "s", "d", "o", names[:200])
	requireErr(t, err, boskos.ENotFound, "no available resource s, try again later.")
}

func TestRelease(t *testing.T) {
	old := t0.Add(-time.Hour)
	lifespan := 10 * time.Minute
	tests := []struct {
		name      string
		seed      res
		drlc      *boskos.DRLC
		relName   string
		owner     string
		epoch     *int64
		wantErr   *boskos.Error
		wantExp   *time.Time // expected expiration after success
		wantState string
	}{
		{name: "no DRLC clears expiration", seed: res{name: "r", rtype: "t", state: "busy", owner: "o", exp: &old},
			relName: "r", owner: "o", wantState: "dirty"},
		{name: "state is not checked", seed: res{name: "r", rtype: "t", state: "weird", owner: "o"},
			relName: "r", owner: "o", wantState: "dirty"},
		{name: "DRLC without lifespan keeps expiration", seed: res{name: "r", rtype: "dt", state: "busy", owner: "o", exp: &old},
			drlc: &boskos.DRLC{Type: "dt", MaxCount: 1}, relName: "r", owner: "o", wantExp: &old, wantState: "dirty"},
		{name: "DRLC with lifespan sets expiration", seed: res{name: "r", rtype: "dt", state: "busy", owner: "o", exp: &old},
			drlc: &boskos.DRLC{Type: "dt", MaxCount: 1, LifeSpan: &lifespan}, relName: "r", owner: "o",
			wantExp: ptr(t0.Add(time.Second + lifespan)), wantState: "dirty"},
		{name: "matching epoch", seed: res{name: "r", rtype: "t", state: "busy", owner: "o", epoch: 3},
			relName: "r", owner: "o", epoch: ptr[int64](3), wantState: "dirty"},
		{name: "missing", seed: res{name: "r", rtype: "t", state: "busy", owner: "o"},
			relName: "nope", owner: "o", wantErr: boskos.ResourceNotFound("nope")},
		{name: "owner mismatch", seed: res{name: "r", rtype: "t", state: "busy", owner: "o"},
			relName: "r", owner: "p", wantErr: boskos.OwnerMismatch("p", "o")},
		{name: "unowned", seed: res{name: "r", rtype: "t", state: "free"},
			relName: "r", owner: "p", wantErr: boskos.OwnerMismatch("p", "")},
		{name: "owner mismatch on a DRLC type", seed: res{name: "r", rtype: "dt", state: "busy", owner: "o"},
			drlc: &boskos.DRLC{Type: "dt", MaxCount: 1}, relName: "r", owner: "p", wantErr: boskos.OwnerMismatch("p", "o")},
		{name: "stale epoch", seed: res{name: "r", rtype: "t", state: "busy", owner: "o", epoch: 3},
			relName: "r", owner: "o", epoch: ptr[int64](2), wantErr: boskos.StaleEpoch("r", 2, 3)},
		{name: "stale epoch on a DRLC type", seed: res{name: "r", rtype: "dt", state: "busy", owner: "o", epoch: 3},
			drlc: &boskos.DRLC{Type: "dt", MaxCount: 1}, relName: "r", owner: "o", epoch: ptr[int64](4), wantErr: boskos.StaleEpoch("r", 4, 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				tc.seed.ud = boskos.UserData{"secret": "x"}
				e.seed(tc.seed)
				if tc.drlc != nil {
					e.seedDRLC(*tc.drlc)
				}
				before := e.all()
				e.clock.Add(time.Second)
				err := e.r.Release(e.ctx, tc.relName, "dirty", tc.owner, tc.epoch)
				if tc.wantErr != nil {
					requireErr(t, err, tc.wantErr.Code, tc.wantErr.Message)
					assert.Equal(t, before, e.all(), "store unchanged")
					return
				}
				require.NoError(t, err)
				want := before[tc.relName]
				want.Owner, want.State, want.LastUpdate, want.ExpirationDate = "", tc.wantState, e.clock.Now(), tc.wantExp
				assert.Equal(t, want, e.mustGet(tc.relName))
			})
		})
	}
}

func TestReleaseSeesNewDRLCAfterCacheTTL(t *testing.T) {
	e := newEnv(t, Options{DRLCCacheTTL: time.Minute})
	old := t0.Add(-time.Hour)
	e.seed(res{name: "a", rtype: "dt", state: "busy", owner: "o", exp: &old},
		res{name: "b", rtype: "dt", state: "busy", owner: "o", exp: &old})
	require.NoError(t, e.r.Release(e.ctx, "a", "free", "o", nil))
	assert.Nil(t, e.mustGet("a").ExpirationDate, "no DRLC yet: cleared")
	e.seedDRLC(boskos.DRLC{Type: "dt", MaxCount: 2})
	e.clock.Add(2 * time.Minute)
	require.NoError(t, e.r.Release(e.ctx, "b", "free", "o", nil))
	assert.Equal(t, &old, e.mustGet("b").ExpirationDate, "DRLC without lifespan: kept")
}

func TestUpdate(t *testing.T) {
	tests := []updateCase{
		{name: "heartbeat", upName: "r", owner: "o", state: "busy", wantUD: boskos.UserData{"a": "1", "b": "2"}},
		{name: "merge: set, overwrite, delete", upName: "r", owner: "o", state: "busy",
			ud: boskos.UserData{"a": "9", "b": "", "c": "3", "nope": ""}, wantUD: boskos.UserData{"a": "9", "c": "3"}},
		{name: "matching epoch", upName: "r", owner: "o", state: "busy", epoch: ptr[int64](7),
			wantUD: boskos.UserData{"a": "1", "b": "2"}},
		{name: "missing", upName: "nope", owner: "o", state: "busy", wantErr: boskos.ResourceNotFound("nope")},
		{name: "owner before state", upName: "r", owner: "p", state: "free", wantErr: boskos.OwnerMismatch("p", "o")},
		{name: "state mismatch (upstream's swapped words)", upName: "r", owner: "o", state: "free",
			wantErr: boskos.StateMismatch("busy", "free")},
		{name: "state before epoch", upName: "r", owner: "o", state: "free", epoch: ptr[int64](1),
			wantErr: boskos.StateMismatch("busy", "free")},
		{name: "stale epoch", upName: "r", owner: "o", state: "busy", epoch: ptr[int64](6),
			wantErr: boskos.StaleEpoch("r", 6, 7)},
		{name: "empty userdata key", upName: "r", owner: "o", state: "busy", ud: boskos.UserData{"": "x"},
			wantErr: boskos.Invalid("invalid userdata: keys must not be empty")},
	}
	runUpdateCases(t, tests)
}

func TestReset(t *testing.T) {
	exp := t0.Add(time.Hour)
	seed := []res{
		{name: "old", rtype: "t", state: "busy", owner: "a", age: 31 * time.Minute, ud: boskos.UserData{"k": "v"}, exp: &exp},
		{name: "edge", rtype: "t", state: "busy", owner: "b", age: 30 * time.Minute},
		{name: "fresh", rtype: "t", state: "busy", owner: "c", age: time.Minute},
		{name: "unowned-old", rtype: "t", state: "busy", age: 2 * time.Hour},
		{name: "other-state", rtype: "t", state: "leased", owner: "d", age: 2 * time.Hour},
		{name: "other-type", rtype: "u", state: "busy", owner: "e", age: 2 * time.Hour},
		{name: "prefix-state", rtype: "t", state: "busy2", owner: "f", age: 2 * time.Hour},
	}
	tests := []struct {
		name   string
		expire time.Duration
		want   map[string]string
	}{
		{"idle at least expire", 30 * time.Minute, map[string]string{"old": "a", "edge": "b"}},
		{"zero resets every owned one", 0, map[string]string{"old": "a", "edge": "b", "fresh": "c"}},
		{"negative resets every owned one", -time.Hour, map[string]string{"old": "a", "edge": "b", "fresh": "c"}},
		{"nothing idle enough", 3 * time.Hour, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				e.seed(seed...)
				before := e.all()
				got, err := e.r.Reset(e.ctx, "t", "busy", tc.expire, "dirty")
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				for name, r := range e.all() {
					want := before[name]
					if _, ok := tc.want[name]; ok {
						want.Owner, want.State, want.LastUpdate = "", "dirty", e.clock.Now()
					}
					assert.Equal(t, want, r, name)
				}
			})
		})
	}
}

func TestMetric(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(
			res{name: "res-1", rtype: "t", state: "s", owner: "merlin"},
			res{name: "res-2", rtype: "t", state: "p", owner: "pony"},
			res{name: "res-3", rtype: "t", state: "s", owner: "pony"},
			res{name: "res-4", rtype: "foo", state: "s", owner: "pony"},
			res{name: "res-5", rtype: "t", state: "d", owner: "merlin"},
			res{name: "res-6", rtype: "t", state: "free"},
		)
		// A queue entry shares the partition; it is not a resource.
		_, err := e.r.Acquire(e.ctx, "t", "free2", "busy", "o", "waiting")
		require.Error(t, err)
		got, err := e.r.Metric(e.ctx, "t")
		require.NoError(t, err)
		assert.Equal(t, boskos.Metric{Type: "t",
			Current: map[string]int{"d": 1, "p": 1, "s": 2, "free": 1},
			Owners:  map[string]int{"merlin": 2, "pony": 2, "": 1}}, got)
		_, err = e.r.Metric(e.ctx, "nope")
		requireErr(t, err, boskos.ENotFound, "no available resource nope, try again later.")
	})
}

func TestResources(t *testing.T) {
	e := newEnv(t, Options{})
	for i := 0; i < 250; i++ {
		e.seed(res{name: fmt.Sprintf("r%03d", i), rtype: "t", state: "free"})
	}
	got, err := e.r.Resources(e.ctx)
	require.NoError(t, err)
	require.Len(t, got, 250, "past one page")
	assert.Equal(t, "r000", got[0].Name)
	assert.Equal(t, "r249", got[249].Name)
}

// TestFencing: the epoch goes up by one per acquire; a holder with an old
// epoch can neither heartbeat nor release.
func TestFencing(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "r", rtype: "t", state: "free"})
		first, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
		require.NoError(t, err)
		assert.Equal(t, int64(1), first.Epoch)
		// The lease is lost (reset) and taken again by the same owner name.
		_, err = e.r.Reset(e.ctx, "t", "busy", 0, "free")
		require.NoError(t, err)
		second, err := e.r.Acquire(e.ctx, "t", "free", "busy", "o", "")
		require.NoError(t, err)
		assert.Equal(t, int64(2), second.Epoch)
		before := e.all()

		err = e.r.Update(e.ctx, "r", "o", "busy", boskos.UserData{"k": "v"}, &first.Epoch)
		requireErr(t, err, boskos.EStaleEpoch, "stale epoch for r: request has 1, resource is at 2")
		err = e.r.Release(e.ctx, "r", "dirty", "o", &first.Epoch)
		requireErr(t, err, boskos.EStaleEpoch, "stale epoch for r: request has 1, resource is at 2")
		assert.Equal(t, before, e.all(), "store unchanged")

		require.NoError(t, e.r.Update(e.ctx, "r", "o", "busy", nil, &second.Epoch))
		require.NoError(t, e.r.Release(e.ctx, "r", "dirty", "o", &second.Epoch))
		assert.Equal(t, int64(2), e.mustGet("r").Epoch, "release does not bump the epoch")
	})
}

// TestMetricConfiguredDRLCWithoutResources (§1.6, §9.18): /metric only
// knows types that have resources; a configured dynamic type with none gets
// the plain 404 "no available resource <type>" (not "type does not exist").
func TestMetricConfiguredDRLCWithoutResources(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		require.NoError(t, e.r.SyncConfig(e.ctx, mustConfig(t, `
resources:
- type: st
  names: [s-1]
- type: dt
  min-count: 0
  max-count: 2
`)))
		_, ok := e.drlc("dt")
		require.True(t, ok, "the DRLC is configured")
		_, err := e.r.Metric(e.ctx, "dt")
		requireErr(t, err, boskos.ENotFound, "no available resource dt, try again later.")

		// Once a resource exists (created on demand), it is counted.
		_, err = e.r.Acquire(e.ctx, "dt", "free", "busy", "o", "req1")
		requireErr(t, err, boskos.ETypeNotFound, `resource type "dt" does not exist`)
		got, err := e.r.Metric(e.ctx, "dt")
		require.NoError(t, err)
		assert.Equal(t, boskos.Metric{Type: "dt", Current: map[string]int{"free": 1}, Owners: map[string]int{"": 1}}, got)
	})
}
