package compat

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/boskos/client"
	"sigs.k8s.io/boskos/common"
)

// CompatConfig is the resources file a server under runCompat must be
// started with (fresh: the suite expects exactly these resources).
const CompatConfig = `resources:
- type: compat-a
  state: free
  names: [a-1, a-2]
- type: compat-b
  state: pool
  names: [b-1, b-2, b-3]
- type: compat-r
  state: free
  names: [r-1]
- type: compat-dyn
  state: free
  min-count: 0
  max-count: 1
`

// suiteMu serializes runCompat: it swaps the client package's SleepFunc.
var suiteMu sync.Mutex

// login is the HTTP Basic credentials the upstream clients of a suite send
// (the zero value: none): a principal that may act as every owner of the
// suite (owners '*', role maintainer or admin: the suite resets).
type login struct{ username, passwordFile string }

// runCompat drives the Boskos API at baseURL (the host root: the upstream
// client drops any path) with the upstream Go client, from a server started
// with CompatConfig and nothing else done to it, sending the credentials
// of as.
func runCompat(t *testing.T, baseURL string, as login) {
	suiteMu.Lock()
	defer suiteMu.Unlock()
	// The client retries failed calls 4 times, sleeping 1s, 4s, 9s: skip the
	// sleeps so that expected failures are quick.
	saved := client.SleepFunc
	client.SleepFunc = func(time.Duration) {}
	defer func() { client.SleepFunc = saved }()

	newClient := func(owner string) *client.Client {
		c, err := client.NewClient(owner, baseURL, as.username, as.passwordFile)
		require.NoError(t, err)
		return c
	}
	metric := func(t *testing.T, rtype string) common.Metric {
		m, err := newClient("observer").Metric(rtype)
		require.NoError(t, err)
		return m
	}
	alice, bob, carol := newClient("alice"), newClient("bob"), newClient("carol")
	var aliceRes *common.Resource

	t.Run("Acquire", func(t *testing.T) {
		r, err := alice.Acquire("compat-a", "free", "busy")
		require.NoError(t, err)
		assert.Contains(t, []string{"a-1", "a-2"}, r.Name)
		assert.Equal(t, "compat-a", r.Type)
		assert.Equal(t, "busy", r.State)
		assert.Equal(t, "alice", r.Owner)
		assert.NotNil(t, r.UserData, "userdata must never be null")
		assert.False(t, r.LastUpdate.IsZero())
		assert.True(t, alice.HasResource())
		aliceRes = r
	})
	require.NotNil(t, aliceRes)

	t.Run("UpdateOne with userdata", func(t *testing.T) {
		ud := common.UserDataFromMap(common.UserDataMap{"project": "p-1", "token": "s3cr3t"})
		require.NoError(t, alice.UpdateOne(aliceRes.Name, "busy", ud))
		// "" deletes a key (upstream's merge rule).
		require.NoError(t, alice.UpdateOne(aliceRes.Name, "busy", common.UserDataFromMap(common.UserDataMap{"token": ""})))
	})

	t.Run("UpdateOne wrong state fails", func(t *testing.T) {
		err := alice.UpdateOne(aliceRes.Name, "free", nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "409")
	})

	t.Run("Update by another owner fails", func(t *testing.T) {
		err := bob.Update(aliceRes.Name, "busy", nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "401")
	})

	t.Run("UpdateAll and SyncAll", func(t *testing.T) {
		require.NoError(t, alice.UpdateAll("busy"))
		require.NoError(t, alice.SyncAll())
		require.NoError(t, newClient("nobody").SyncAll(), "SyncAll with nothing held is a no-op")
	})

	t.Run("AcquireWait while another owner releases", func(t *testing.T) {
		r, err := bob.Acquire("compat-a", "free", "busy")
		require.NoError(t, err)
		require.NotEqual(t, aliceRes.Name, r.Name)
		// Nothing is free now.
		_, err = carol.Acquire("compat-a", "free", "busy")
		require.ErrorIs(t, err, client.ErrNotFound)

		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		got := make(chan *common.Resource, 1)
		errc := make(chan error, 1)
		go func() {
			r, err := carol.AcquireWait(ctx, "compat-a", "free", "busy")
			errc <- err
			got <- r
		}()
		// Carol's first attempt is answered 404 at once; she polls every 3s.
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, bob.ReleaseOne(r.Name, "free"))
		require.NoError(t, <-errc)
		cr := <-got
		assert.Equal(t, r.Name, cr.Name)
		assert.Equal(t, "carol", cr.Owner)
		assert.False(t, bob.HasResource())
		require.NoError(t, carol.ReleaseAll("free"))
	})

	t.Run("ReleaseOne keeps userdata", func(t *testing.T) {
		require.NoError(t, alice.ReleaseOne(aliceRes.Name, "dirty"))
		assert.False(t, alice.HasResource())
		err := alice.ReleaseOne(aliceRes.Name, "dirty")
		require.Error(t, err, "not held any more")
		// Raw release of a resource one does not own: 401.
		err = bob.Release(aliceRes.Name, "free")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "401")

		r, err := bob.Acquire("compat-a", "dirty", "cleaning")
		require.NoError(t, err)
		assert.Equal(t, aliceRes.Name, r.Name)
		assert.Equal(t, common.UserDataMap{"project": "p-1"}, r.UserData.ToMap())
		require.NoError(t, bob.ReleaseOne(r.Name, "free"))
	})

	t.Run("Metric", func(t *testing.T) {
		m := metric(t, "compat-a")
		assert.Equal(t, "compat-a", m.Type)
		assert.Equal(t, map[string]int{"free": 2}, m.Current)
		assert.Equal(t, map[string]int{"": 2}, m.Owners)
		_, err := newClient("observer").Metric("no-such-type")
		require.Error(t, err)
	})

	t.Run("AcquireByState", func(t *testing.T) {
		dave := newClient("dave")
		rs, err := dave.AcquireByState("pool", "leased", []string{"b-2", "b-1"})
		require.NoError(t, err)
		var names []string
		for _, r := range rs {
			names = append(names, r.Name)
			assert.Equal(t, "leased", r.State)
			assert.Equal(t, "dave", r.Owner)
		}
		sort.Strings(names)
		assert.Equal(t, []string{"b-1", "b-2"}, names)

		// b-1 is no longer in "pool": the request fails, and (this
		// project's all-or-nothing /acquirebystate) b-3 stays free.
		_, err = newClient("erin").AcquireByState("pool", "leased", []string{"b-3", "b-1"})
		require.ErrorIs(t, err, client.ErrNotFound)
		m := metric(t, "compat-b")
		assert.Equal(t, map[string]int{"leased": 2, "pool": 1}, m.Current)
		assert.Equal(t, map[string]int{"dave": 2, "": 1}, m.Owners)

		require.NoError(t, dave.ReleaseAll("pool"))
		assert.False(t, dave.HasResource())
		assert.Equal(t, map[string]int{"pool": 3}, metric(t, "compat-b").Current)
		require.Error(t, dave.ReleaseAll("pool"), "nothing held")
	})

	t.Run("Reset", func(t *testing.T) {
		frank := newClient("frank")
		r, err := frank.Acquire("compat-r", "free", "busy")
		require.NoError(t, err)
		reaper := newClient("reaper")
		got, err := reaper.Reset("compat-r", "busy", time.Hour, "dirty")
		require.NoError(t, err)
		assert.Empty(t, got, "nothing idle for an hour")
		got, err = reaper.Reset("compat-r", "busy", 0, "dirty")
		require.NoError(t, err)
		assert.Equal(t, map[string]string{r.Name: "frank"}, got)
		assert.Equal(t, map[string]int{"dirty": 1}, metric(t, "compat-r").Current)
		// Frank lost the lease.
		require.Error(t, frank.UpdateOne(r.Name, "busy", nil))
	})

	t.Run("ErrNotFound vs ErrTypeNotFound", func(t *testing.T) {
		plain := newClient("grace")
		_, err := plain.Acquire("compat-r", "free", "busy")
		assert.ErrorIs(t, err, client.ErrNotFound, "none free")
		_, err = plain.Acquire("no-such-type", "free", "busy")
		assert.ErrorIs(t, err, client.ErrNotFound, "without the flag, an unknown type is not found too")

		d := newClient("grace")
		d.DistinguishNotFoundVsTypeNotFound = true
		_, err = d.Acquire("compat-r", "free", "busy")
		assert.ErrorIs(t, err, client.ErrNotFound)
		_, err = d.Acquire("no-such-type", "free", "busy")
		assert.ErrorIs(t, err, client.ErrTypeNotFound)
		// AcquireWait gives up at once on an unknown type.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = d.AcquireWait(ctx, "no-such-type", "free", "busy")
		assert.ErrorIs(t, err, client.ErrTypeNotFound)
		assert.NoError(t, ctx.Err())
	})

	t.Run("AcquireWait creates a dynamic resource on demand", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		heidi := newClient("heidi")
		r, err := heidi.AcquireWait(ctx, "compat-dyn", "free", "busy")
		require.NoError(t, err)
		assert.Equal(t, "compat-dyn", r.Type)
		assert.Equal(t, "heidi", r.Owner)
		assert.Len(t, r.Name, 36, "dynamic names are UUIDs")
		require.NoError(t, heidi.ReleaseAll("free"))
	})

	t.Run("bad input is a client error", func(t *testing.T) {
		_, err := newClient("ivan").AcquireByState("pool", "leased", nil)
		require.Error(t, err)
		assert.NotErrorIs(t, err, client.ErrNotFound)
		assert.Contains(t, err.Error(), "status 400 Bad Request")
	})
}
