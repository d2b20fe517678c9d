package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// TestReadCommands: boskos resources and boskos queue against a real
// server: aligned tables, the API's JSON, filters, paging, bad input.
func TestReadCommands(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "config.yaml", "resources:\n- type: thing\n  state: free\n  names: [thing-1, thing-2]\n- type: other\n  state: dirty\n  names: [other-1]\n")
	// Strict least-recently-updated order, so that alice gets thing-1
	// (the default spread window picks at random among equal ones: a flake).
	srv := startServe(t, "--config", cfg, "--in_memory", "--spread-window", "0")
	ctx := context.Background()
	s := []string{"--server-url", srv.URL}
	g := func(owner string) []string { return []string{"--server-url", srv.URL, "--owner-name", owner} }
	code, _, stderr := runCmd(ctx, append([]string{"acquire", "--type", "thing", "--state", "free", "--target-state", "busy"}, g("alice")...)...)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCmd(ctx, append([]string{"acquire", "--type", "thing", "--state", "free", "--target-state", "busy"}, g("bob")...)...)
	require.Equal(t, 0, code, stderr)
	// carol waits in the queue of (thing, free) with a request_id.
	code, _, _ = runCmd(ctx, append([]string{"acquire", "--type", "thing", "--state", "free", "--target-state", "busy", "--timeout", "300ms", "--poll-interval", "100ms"}, g("carol")...)...)
	require.Equal(t, 1, code)

	code, stdout, stderr := runCmd(ctx, append([]string{"resources"}, s...)...)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 4, stdout)
	assert.Regexp(t, `^NAME +TYPE +STATE +OWNER +HELD FOR +EPOCH +LAST HEARTBEAT$`, lines[0])
	assert.Regexp(t, `^other-1 +other +dirty +- +- +0 +\d+s ago$`, lines[1])
	assert.Regexp(t, `^thing-1 +thing +busy +alice +\d+s +1 +\d+s ago$`, lines[2])
	assert.Regexp(t, `^thing-2 +thing +busy +bob +\d+s +1 +\d+s ago$`, lines[3])
	col := strings.Index(lines[0], "STATE")
	for _, l := range lines[1:] {
		assert.NotEqual(t, byte(' '), l[col], "aligned: %q", l)
		assert.Equal(t, byte(' '), l[col-1], "aligned: %q", l)
	}

	code, stdout, stderr = runCmd(ctx, append([]string{"resources", "--owner", "bob", "--json"}, s...)...)
	require.Equal(t, 0, code, stderr)
	var page boskos.Page[boskos.ResourceInfo]
	require.NoError(t, json.Unmarshal([]byte(stdout), &page))
	require.Len(t, page.Items, 1)
	assert.Equal(t, "thing-2", page.Items[0].Name)
	assert.NotContains(t, stdout, `"cursor"`)

	code, stdout, stderr = runCmd(ctx, append([]string{"resources", "--type", "thing", "--state", "busy", "--limit", "1"}, s...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "thing-1")
	assert.NotContains(t, stdout, "thing-2")
	require.True(t, strings.HasPrefix(stderr, "more: --limit 1 --cursor "), stderr)
	cursor := strings.TrimSpace(strings.TrimPrefix(stderr, "more: --limit 1 --cursor "))
	code, stdout, stderr = runCmd(ctx, append([]string{"resources", "--type", "thing", "--state", "busy", "--limit", "1", "--cursor", cursor, "--json"}, s...)...)
	require.Equal(t, 0, code, stderr)
	page = boskos.Page[boskos.ResourceInfo]{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &page))
	require.Len(t, page.Items, 1)
	assert.Equal(t, "thing-2", page.Items[0].Name)
	assert.Empty(t, page.Cursor)

	code, stdout, stderr = runCmd(ctx, append([]string{"queue", "thing", "--state", "free"}, s...)...)
	require.Equal(t, 0, code, stderr)
	lines = strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 2, stdout)
	assert.Regexp(t, `^STATE +RANK +REQUEST ID +WAITING +NOTE$`, lines[0])
	assert.Regexp(t, `^free +1 +\S+ +\d+s +-$`, lines[1])
	code, stdout, stderr = runCmd(ctx, append(append([]string{"queue"}, s...), "thing", "--json")...)
	require.Equal(t, 0, code, stderr)
	var q boskos.Page[boskos.QueueEntry]
	require.NoError(t, json.Unmarshal([]byte(stdout), &q))
	require.Len(t, q.Items, 1)
	assert.Equal(t, 1, q.Items[0].Rank)
	assert.Equal(t, "thing", q.Items[0].Type)

	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"queue without type", append([]string{"queue"}, s...), 2, "Error: the resource type is required: boskos queue TYPE\n"},
		{"queue with two types", append([]string{"queue", "a", "b"}, s...), 2, "boskos queue: unexpected arguments [\"b\"]\n"},
		{"no server", []string{"resources"}, 1, "failed to initialize the Boskos client: required flag(s) \"server-url\" not set\n"},
		{"cursor without limit", append([]string{"resources", "--cursor", "x"}, s...), 2, "Error: --cursor needs --limit\n"},
		{"bad limit", append([]string{"resources", "--limit", "5000"}, s...), 1, "failed to list the resources: status 400 Bad Request: invalid limit: must be between 1 and 1000, got 5000\n"},
		{"bad cursor", append([]string{"queue", "thing", "--limit", "1", "--cursor", "nope"}, s...), 1, "failed to list the queue: status 400 Bad Request: invalid cursor: not a cursor of this list (pass the cursor of the previous page unchanged)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(ctx, tc.args...)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.err, stderr)
		})
	}
}

func TestHumanSeconds(t *testing.T) {
	for n, want := range map[int64]string{0: "0s", 59: "59s", 60: "1m00s", 187: "3m07s", 3600: "1h00m", 7500: "2h05m", 86400: "1d00h", 273600: "3d04h"} {
		assert.Equal(t, want, humanSeconds(n), "%d", n)
	}
	assert.Equal(t, "a b c", cell("a\tb\nc"))
}
