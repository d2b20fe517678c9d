package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

const costResources = `resources:
- type: t
  state: free
  names: [a, b]
  cost-per-hour: 3
`

// TestHistoryCommands: a lease cycle through `boskos serve`, then `boskos
// history NAME` and `boskos usage` (tables and --json) on every store: in
// memory and bolt the hook records it, on DynamoDB Local the server's
// stream reader (the history appears within a poll).
func TestHistoryCommands(t *testing.T) {
	ctx := context.Background()
	specs := storeSpecs(t)
	table := dynamotest.TableName(t)
	specs = append(specs, struct{ name, spec string }{"dynamodb", "dynamodb:" + table})
	for _, sp := range specs {
		t.Run(sp.name, func(t *testing.T) {
			cfg := writeFile(t, t.TempDir(), "config.yaml", costResources)
			args := []string{"--config", cfg, "--store", sp.spec}
			if sp.name == "dynamodb" {
				endpoint := dynamotest.Endpoint(t)
				code, _, stderr := runCmd(ctx, "table", "create", "--table", table, "--endpoint", endpoint)
				require.Equal(t, 0, code, stderr)
				t.Cleanup(func() { runCmd(context.Background(), "table", "delete", "--table", table, "--endpoint", endpoint) })
				args = append(args, "--dynamodb-endpoint", endpoint)
			}
			srv := startServe(t, args...)
			c := mustClient(t, srv.URL, "me")
			res, err := c.Acquire(ctx, "t", "free", "busy", "")
			require.NoError(t, err)
			require.NoError(t, c.Update(ctx, res.Name, "busy", map[string]string{"k": "secret"}, res.Epoch))
			require.NoError(t, c.Update(ctx, res.Name, "busy", nil, res.Epoch))
			require.NoError(t, c.Release(ctx, res.Name, "dirty", res.Epoch))

			var page boskos.HistoryPage
			require.Eventually(t, func() bool {
				code, stdout, stderr := runCmd(ctx, "history", res.Name, "--server-url", srv.URL, "--json")
				require.Equal(t, 0, code, stderr)
				require.NoError(t, json.Unmarshal([]byte(stdout), &page))
				return len(page.Items) == 4
			}, 30*time.Second, 50*time.Millisecond, "the history of %s", res.Name)
			var events []string
			for _, r := range page.Items {
				events = append(events, r.Event)
			}
			assert.Equal(t, []string{"release", "update", "acquire", "create"}, events)

			code, stdout, stderr := runCmd(ctx, "history", "--server-url", srv.URL, res.Name)
			require.Equal(t, 0, code, stderr)
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			require.Len(t, lines, 5, stdout)
			assert.Regexp(t, `^TIME +EVENT +FROM +TO +OWNER +EPOCH +DETAILS$`, lines[0])
			assert.Regexp(t, `^\S+Z +release +busy +dirty +me +1 +held=`, lines[1])
			assert.Regexp(t, `^\S+Z +update +busy +busy +me +1 +keys=k$`, lines[2])
			assert.Regexp(t, `^\S+Z +acquire +free +busy +me +1`, lines[3])
			assert.Regexp(t, `^\S+Z +create +free +0`, lines[4])
			assert.NotContains(t, stdout, "secret")

			code, stdout, stderr = runCmd(ctx, "usage", "--server-url", srv.URL, "--since", "1h", "--json")
			require.Equal(t, 0, code, stderr)
			var rep boskos.UsageReport
			require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
			require.Len(t, rep.Items, 1, stdout)
			assert.Equal(t, "me", rep.Items[0].Owner)
			assert.Equal(t, 1, rep.Items[0].Leases)
			require.NotNil(t, rep.Items[0].CostPerHour)
			assert.Equal(t, 3.0, *rep.Items[0].CostPerHour)

			code, stdout, stderr = runCmd(ctx, "usage", "--server-url", srv.URL, "--type", "t")
			require.Equal(t, 0, code, stderr)
			assert.Regexp(t, `(?m)^ +OWNER +TYPE +LEASES +RESOURCE-HOURS +COST$`, stdout)
			assert.Regexp(t, `(?m)^ +me +t +1 +0\.00 +0\.00$`, stdout)
		})
	}
}

func TestHistoryCommandErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"history without a name", []string{"history", "--server-url", "http://127.0.0.1:1"}, 2, "Usage: boskos history NAME"},
		{"history without a server", []string{"history", "a"}, 1, `required flag(s) "server-url" not set`},
		{"negative limit", []string{"history", "a", "--server-url", "http://x", "--limit", "-1"}, 2, "--limit must not be negative"},
		{"bad since", []string{"usage", "--server-url", "http://x", "--since", "yesterday"}, 2, `--since "yesterday": want an RFC 3339 time`},
		{"server down", []string{"usage", "--server-url", "http://127.0.0.1:1"}, 1, "failed to read the usage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(ctx, tc.args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.stderr)
		})
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct {
		args    []string
		name    string
		restLen int
		comment string
	}{
		{[]string{"a", "--json"}, "a", 1, "name first"},
		{[]string{"--json", "a"}, "a", 1, "name last after a bool flag"},
		{[]string{"--server-url", "u", "a"}, "a", 2, "name last after a valued flag"},
		{[]string{"--server-url", "u"}, "", 2, "no name"},
	}
	for _, tc := range tests {
		t.Run(tc.comment, func(t *testing.T) {
			name, rest := splitName(tc.args)
			assert.Equal(t, tc.name, name)
			assert.Len(t, rest, tc.restLen)
		})
	}
}
