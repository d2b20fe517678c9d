package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// TestServeDynamoDB: `boskos table create`, `boskos serve --store
// dynamodb:TABLE` on DynamoDB Local, a lease cycle, `boskos table delete`.
func TestServeDynamoDB(t *testing.T) {
	ctx := context.Background()
	endpoint := dynamotest.Endpoint(t)
	table := dynamotest.TableName(t)

	code, stdout, stderr := runCmd(ctx, "table", "create", "--table", table, "--endpoint", endpoint)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "table "+table+" created\n", stdout)
	defer func() {
		code, stdout, stderr := runCmd(ctx, "table", "delete", "--table", table, "--endpoint", endpoint)
		assert.Equal(t, 0, code, stderr)
		assert.Equal(t, "table "+table+" deleted\n", stdout)
	}()
	// Creating it again is fine (same schema).
	code, _, stderr = runCmd(ctx, "table", "create", "--table", table, "--endpoint", endpoint)
	require.Equal(t, 0, code, stderr)

	cfg := writeFile(t, t.TempDir(), "config.yaml", twoResources)
	args := []string{"--config", cfg, "--store", "dynamodb:" + table, "--dynamodb-endpoint", endpoint}
	srv := startServe(t, args...)
	c := mustClient(t, srv.URL, "me")
	r, err := c.Acquire(ctx, "t", "free", "busy", "")
	require.NoError(t, err)
	require.NoError(t, c.Update(ctx, r.Name, "busy", map[string]string{"k": "v"}, 0))
	require.Equal(t, 0, srv.stop(t))

	// A second server process on the same table sees the lease.
	srv = startServe(t, args...)
	c = mustClient(t, srv.URL, "me")
	m, err := c.Metric(ctx, "t")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"busy": 1, "free": 1}, m.Current)
	require.NoError(t, c.Release(ctx, r.Name, "free", 0))
}

func TestServeDynamoDBMissingTable(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "config.yaml", twoResources)
	code, _, stderr := runCmd(context.Background(), "serve", "--port", "0", "--config", cfg, "--store", "dynamodb:no-such-table", "--dynamodb-endpoint", dynamotest.Endpoint(t))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `dynamodb table "no-such-table" does not exist`)
}

func TestTableUsage(t *testing.T) {
	code, _, stderr := runCmd(context.Background(), "table", "create")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--table is required")
	code, _, stderr = runCmd(context.Background(), "table", "drop")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "Usage: boskos table create|delete")
}

// TestQuotaTwoServers: two servers on one table enforce the quotas of the
// config in force in the store, not of their own files: server A applies a
// lower max from its file, and server B, whose file (and quota cache)
// still says 2, refuses at once.
func TestQuotaTwoServers(t *testing.T) {
	ctx := context.Background()
	endpoint := dynamotest.Endpoint(t)
	table := dynamotest.TableName(t)
	code, _, stderr := runCmd(ctx, "table", "create", "--table", table, "--endpoint", endpoint)
	require.Equal(t, 0, code, stderr)
	defer runCmd(ctx, "table", "delete", "--table", table, "--endpoint", endpoint)

	two := twoResources + "quotas:\n- {owner: alice, type: t, max: 2}\n"
	fileA := writeFile(t, t.TempDir(), "config.yaml", two)
	fileB := writeFile(t, t.TempDir(), "config.yaml", two)
	store := []string{"--store", "dynamodb:" + table, "--dynamodb-endpoint", endpoint, "--reload-delay", "20ms"}
	a := startServe(t, append([]string{"--config", fileA}, store...)...)
	b := startServe(t, append([]string{"--config", fileB}, store...)...)
	viaB := mustClient(t, b.URL, "alice")
	_, err := viaB.Acquire(ctx, "t", "free", "busy", "")
	require.NoError(t, err, "B caches the quota of 2")

	replaceFile(t, fileA, twoResources+"quotas:\n- {owner: alice, type: t, max: 1}\n")
	requireReload(t, a, "")
	_, err = viaB.Acquire(ctx, "t", "free", "busy", "")
	require.True(t, isStatus(err, http.StatusTooManyRequests), "got %v, want 429 from B", err)
	assert.Contains(t, err.Error(), `at most 1 resource of type "t"`)
}
