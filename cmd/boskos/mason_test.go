package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
)

// masonConfig: a cluster built from one account by the repository's
// example converter; a gpu-cluster whose needs are never free.
func masonConfig(t *testing.T) string {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "mason-example.sh"))
	require.NoError(t, err)
	return writeFile(t, t.TempDir(), "config.yaml", `resources:
- {type: account, state: free, names: [a-1, a-2]}
- {type: gpu, state: dirty, names: [g-1]}
- type: cluster
  state: dirty
  min-count: 1
  max-count: 1
  needs: {account: 1}
  config: {type: Command, content: "`+script+`"}
- type: gpu-cluster
  state: dirty
  min-count: 1
  max-count: 1
  needs: {gpu: 1}
  config: {type: Command, content: "`+script+`"}
`)
}

// TestServeMason: `boskos serve` builds a cluster with the Command
// converter, `boskos acquire --mason` takes it with its account, and a
// construction still waiting when the server stops is released as dirty
// with the reason.
func TestServeMason(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "boskos.db")
	srv := startServe(t, "--config", masonConfig(t), "--store", "bolt:"+db, "--gc-period", "100ms", "--mason-wait", "1s")
	me := mustClient(t, srv.URL, "me")
	eventually(t, "the cluster is built", func() (bool, any) {
		m, err := me.Metric(ctx, "cluster")
		return err == nil && m.Current[boskos.Free] == 1, m
	})
	code, stdout, stderr := runCmd(ctx, "acquire", "--mason", "--type", "cluster", "--state", "free", "--target-state", "busy", "--server-url", srv.URL, "--owner-name", "alice")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2, stdout)
	var virtual, account boskos.Resource
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &virtual))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &account))
	assert.Equal(t, "cluster", virtual.Type)
	assert.Equal(t, "account", account.Type)
	assert.Equal(t, "- "+account.Name+"\n", virtual.UserData[boskos.LeasedResources])
	assert.NotEmpty(t, virtual.UserData["kubeconfig"], "the example converter's userdata: %v", virtual.UserData)
	logs := srv.Stderr.String()
	assert.Contains(t, logs, "mason: building virtual resources")
	assert.Contains(t, logs, "step=Construct")

	// The gpu-cluster waits for a gpu that stays dirty; stopping the
	// server releases it.
	eventually(t, "the gpu-cluster waits", func() (bool, any) {
		m, err := me.Metric(ctx, "gpu-cluster")
		return err == nil && m.Current[boskos.Cleaning] == 1, m
	})
	require.Equal(t, 0, srv.stop(t))
	st, err := boltstore.Open(db, boltstore.Options{})
	require.NoError(t, err)
	defer st.Close()
	all, err := ranch.New(st, ranch.Options{}).Resources(ctx)
	require.NoError(t, err)
	for _, r := range all {
		if r.Type == "gpu-cluster" {
			assert.Equal(t, boskos.Dirty+"/", r.State+"/"+r.Owner)
			assert.Contains(t, r.UserData[ranch.MasonErrorKey], "the server stopped during the construction")
		}
	}
}

// TestServeMasonOff: with --mason=false the virtual resources stay dirty
// for an external Mason.
func TestServeMasonOff(t *testing.T) {
	ctx := context.Background()
	srv := startServe(t, "--config", masonConfig(t), "--in_memory", "--gc-period", "50ms", "--mason=false")
	me := mustClient(t, srv.URL, "me")
	eventually(t, "a few maintenance passes", func() (bool, any) {
		n := strings.Count(srv.Stderr.String(), `job=reconciler`)
		return n >= 3, n
	})
	m, err := me.Metric(ctx, "cluster")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{boskos.Dirty: 1}, m.Current)
	assert.NotContains(t, srv.Stderr.String(), "mason:")
}
