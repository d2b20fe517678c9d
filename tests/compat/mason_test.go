package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/boskos/client"
	"sigs.k8s.io/boskos/common"
	"sigs.k8s.io/boskos/mason"
)

// masonPool is the number of virtual (type2) and physical (type1)
// resources of TestUpstreamMasonClient, as in upstream's mason_test.go.
const masonPool = 10

// TestUpstreamMasonClient drives upstream's Mason client
// (sigs.k8s.io/boskos/mason) against `boskos serve`, from the state
// upstream's Mason leaves (its TestMason): 10 type2 virtual resources free,
// each with leasedResources naming one type1 resource that sits unowned in
// state type2-<n> (upstream's test names them type2_<n>, which its fake
// storage accepts; resource names must be DNS-1123 subdomains). Ten acquires of type2 free→Used succeed and take their
// type1 along, an eleventh fails, and releasing them all as dirty leaves
// every resource dirty and unowned.
func TestUpstreamMasonClient(t *testing.T) {
	suiteMu.Lock()
	defer suiteMu.Unlock()
	saved := client.SleepFunc
	client.SleepFunc = func(time.Duration) {} // the basic client's retry sleeps
	defer func() { client.SleepFunc = saved }()

	var cfg strings.Builder
	cfg.WriteString("resources:\n- type: type1\n  state: free\n  names:\n")
	for i := range masonPool {
		fmt.Fprintf(&cfg, "  - type1-%d\n", i)
	}
	cfg.WriteString("- type: type2\n  state: dirty\n  names:\n")
	for i := range masonPool {
		fmt.Fprintf(&cfg, "  - type2-%d\n", i)
	}
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg.String()), 0o644))
	p := startBoskos(t, buildBoskos(t), "--config", cfgPath, "--store", "memory")

	newClient := func(owner string) *client.Client {
		c, err := client.NewClient(owner, p.URL, "", "")
		require.NoError(t, err)
		return c
	}
	metric := func(rtype string) common.Metric {
		m, err := newClient("observer").Metric(rtype)
		require.NoError(t, err)
		return m
	}

	// What Mason does for each virtual resource, with the upstream basic
	// client as owner "mason": lease both, record the physical name in
	// leasedResources (UserData.Set writes the YAML list), release the
	// virtual one free and the physical one to state <virtual name>.
	m := newClient("mason")
	for i := range masonPool {
		virtual, physical := fmt.Sprintf("type2-%d", i), fmt.Sprintf("type1-%d", i)
		_, err := m.AcquireByState(common.Dirty, common.Cleaning, []string{virtual})
		require.NoError(t, err)
		_, err = m.AcquireByState(common.Free, common.Leased, []string{physical})
		require.NoError(t, err)
		ud := &common.UserData{}
		require.NoError(t, ud.Set(mason.LeasedResources, common.LeasedResources{physical}))
		require.NoError(t, m.UpdateOne(virtual, common.Cleaning, ud))
		require.NoError(t, m.ReleaseOne(virtual, common.Free))
		require.NoError(t, m.ReleaseOne(physical, virtual))
	}
	assert.Equal(t, map[string]int{common.Free: masonPool}, metric("type2").Current)
	require.Len(t, metric("type1").Current, masonPool, "each type1 in its own type2-<n> state")

	consumeLikeUpstream(t, newClient, metric, false)
}

// consumeLikeUpstream is the consumer half of upstream's TestMason with
// upstream's Mason client: ten acquires of type2 free→Used take their type1
// along, an eleventh fails, releasing them all as dirty leaves every
// resource dirty and unowned.
// With the server's Mason running (rebuilding), a type2 released dirty may
// already be claimed again (cleaning, owned by mason): its type1 stays
// dirty, nothing being free to rebuild it with.
func consumeLikeUpstream(t *testing.T, newClient func(string) *client.Client, metric func(string) common.Metric, rebuilding bool) {
	mc := mason.NewClient(newClient("consumer"))
	var got []string
	for range masonPool {
		res, err := mc.Acquire("type2", common.Free, "Used")
		require.NoError(t, err)
		got = append(got, res.Name)
	}
	_, err := mc.Acquire("type2", common.Free, "Used")
	require.ErrorIs(t, err, client.ErrNotFound, "an 11th acquire")
	for _, rtype := range []string{"type1", "type2"} {
		m := metric(rtype)
		assert.Equal(t, map[string]int{"Used": masonPool}, m.Current, rtype)
		assert.Equal(t, map[string]int{"consumer": masonPool}, m.Owners, rtype)
	}

	for _, name := range got {
		require.NoError(t, mc.ReleaseOne(name, common.Dirty))
	}
	for _, rtype := range []string{"type1", "type2"} {
		m := metric(rtype)
		if rebuilding && rtype == "type2" {
			assert.Equal(t, masonPool, m.Current[common.Dirty]+m.Current[common.Cleaning], "type2: %v", m.Current)
			assert.Equal(t, masonPool, m.Owners[""]+m.Owners["mason"], "type2: %v", m.Owners)
			continue
		}
		assert.Equal(t, map[string]int{common.Dirty: masonPool}, m.Current, rtype)
		assert.Equal(t, map[string]int{"": masonPool}, m.Owners, rtype)
	}
}

// TestUpstreamMasonScenario is upstream's TestMason end to end against
// `boskos serve`: the server's own Mason builds 10 type2 from 10 type1 with
// the Command converter (scripts/mason-example.sh), then upstream's Mason
// client consumes them.
func TestUpstreamMasonScenario(t *testing.T) {
	suiteMu.Lock()
	defer suiteMu.Unlock()
	saved := client.SleepFunc
	client.SleepFunc = func(time.Duration) {}
	defer func() { client.SleepFunc = saved }()

	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "mason-example.sh"))
	require.NoError(t, err)
	var cfg strings.Builder
	cfg.WriteString("resources:\n- type: type1\n  state: free\n  names:\n")
	for i := range masonPool {
		fmt.Fprintf(&cfg, "  - type1-%d\n", i)
	}
	fmt.Fprintf(&cfg, "- type: type2\n  state: dirty\n  min-count: %d\n  max-count: %d\n  lifespan: 48h\n  needs: {type1: 1}\n  config: {type: Command, content: %q}\n", masonPool, masonPool, script)
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg.String()), 0o644))
	p := startBoskos(t, buildBoskos(t), "--config", cfgPath, "--store", "memory", "--gc-period", "100ms", "--mason-wait", "1s")

	newClient := func(owner string) *client.Client {
		c, err := client.NewClient(owner, p.URL, "", "")
		require.NoError(t, err)
		return c
	}
	metric := func(rtype string) common.Metric {
		m, err := newClient("observer").Metric(rtype)
		require.NoError(t, err)
		return m
	}
	require.Eventually(t, func() bool {
		return metric("type2").Current[common.Free] == masonPool
	}, time.Minute, 50*time.Millisecond, "the server's Mason builds every type2")
	t1 := metric("type1")
	require.Len(t, t1.Current, masonPool, "each type1 in the state of its own type2")
	assert.Equal(t, map[string]int{"": masonPool}, t1.Owners)
	consumeLikeUpstream(t, newClient, metric, true)
}
