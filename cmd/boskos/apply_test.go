package main

import (
	"context"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// names returns the "type/name state owner" of every resource in st.
func names(t *testing.T, st store.Store) []string {
	t.Helper()
	all, err := ranch.New(st, ranch.Options{}).Resources(context.Background())
	require.NoError(t, err)
	var out []string
	for _, r := range all {
		out = append(out, r.Type+"/"+r.Name+" "+r.State+" "+r.Owner)
	}
	sort.Strings(out)
	return out
}

// TestConfigApply: `boskos config apply` syncs a store to a config file
// once, on the embedded store and on DynamoDB (Local), and leaves leased
// resources that left the config for a later apply, saying so.
func TestConfigApply(t *testing.T) {
	ctx := context.Background()
	backends := []struct {
		name string
		spec func(t *testing.T) (spec string, extra []string, open func() store.Store)
	}{
		{"bolt", func(t *testing.T) (string, []string, func() store.Store) {
			path := filepath.Join(t.TempDir(), "b.db")
			return "bolt:" + path, nil, func() store.Store {
				s, err := boltstore.Open(path, boltstore.Options{})
				require.NoError(t, err)
				t.Cleanup(func() { _ = s.Close() })
				return s
			}
		}},
		{"dynamodb", func(t *testing.T) (string, []string, func() store.Store) {
			client, table := dynamotest.NewTable(t)
			return "dynamodb:" + table, []string{"--dynamodb-endpoint", dynamotest.Endpoint(t)}, func() store.Store {
				return dynamostore.New(client, table, dynamostore.Options{})
			}
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			spec, extra, open := b.spec(t)
			dir := t.TempDir()
			apply := func(content string) (int, string, string) {
				cfg := writeFile(t, dir, "config.yaml", content)
				return runCmd(ctx, append([]string{"config", "apply", "--config", cfg, "--store", spec}, extra...)...)
			}
			code, stdout, stderr := apply(twoResources)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "2 resources (0 leased), 0 stale queue entries removed")
			assert.NotContains(t, stdout, "apply again")

			// Lease a, then apply a config without it: a stays while leased.
			st := open()
			_, err := ranch.New(st, ranch.Options{}).Acquire(ctx, "t", boskos.Free, boskos.Busy, "me", "")
			require.NoError(t, err)
			closeIfBolt(t, st)
			code, stdout, stderr = apply("resources:\n- type: t\n  names: [b, c]\n")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "3 resources (1 leased)")
			assert.Contains(t, stdout, "apply again after they are released")
			st = open()
			assert.Equal(t, []string{"t/a busy me", "t/b free ", "t/c free "}, names(t, st))
			require.NoError(t, ranch.New(st, ranch.Options{}).Release(ctx, "a", boskos.Dirty, "me", nil))
			closeIfBolt(t, st)

			code, stdout, stderr = apply("resources:\n- type: t\n  names: [b, c]\n")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "2 resources (0 leased)")
			assert.Equal(t, []string{"t/b free ", "t/c free "}, names(t, open()))
		})
	}
}

// closeIfBolt closes a bolt store, whose file lock the command needs.
func closeIfBolt(t *testing.T, st store.Store) {
	t.Helper()
	if b, ok := st.(*boltstore.Store); ok {
		require.NoError(t, b.Close())
	}
}

func TestConfigApplyUsage(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", twoResources)
	bad := writeFile(t, dir, "bad.yaml", "resources:\n- type: t\n")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"nothing", nil, 2, []string{"--config is required", "--store is required"}},
		{"memory", []string{"--config", good, "--store", "memory"}, 2, []string{"--store memory: nothing would outlive this command"}},
		{"unknown store", []string{"--config", good, "--store", "redis:x"}, 2, []string{`--store: unknown store "redis:x"`}},
		{"bad level", []string{"--config", good, "--store", "bolt:" + filepath.Join(dir, "x.db"), "--log-level", "loud"}, 2, []string{`--log-level "loud"`}},
		{"invalid config", []string{"--config", bad, "--store", "bolt:" + filepath.Join(dir, "x.db")}, 1, []string{"invalid config", "max-count"}},
		{"missing config", []string{"--config", filepath.Join(dir, "nope.yaml"), "--store", "bolt:" + filepath.Join(dir, "x.db")}, 1, []string{"no such file"}},
		{"missing table", []string{"--config", good, "--store", "dynamodb:no-such-table", "--dynamodb-endpoint", dynamotest.Endpoint(t)}, 1, []string{`dynamodb table "no-such-table" does not exist`}},
		{"stray argument", []string{"--config", good, "--store", "bolt:x.db", "extra"}, 2, []string{"unexpected arguments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(context.Background(), append([]string{"config", "apply"}, tc.args...)...)
			assert.Equal(t, tc.wantCode, code, "stderr:\n%s", stderr)
			assert.Empty(t, stdout)
			for _, w := range tc.want {
				assert.Contains(t, stderr, w)
			}
		})
	}
	code, _, stderr := runCmd(context.Background(), "config", "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "boskos config apply --config FILE --store SPEC")
}
