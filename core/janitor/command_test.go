package janitor_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/testkit"
)

func TestSplitCommandLine(t *testing.T) {
	tests := []struct {
		name, line string
		want       []string
		wantErr    string
	}{
		{name: "empty", line: "  ", want: nil},
		{name: "words", line: " a  b\tc ", want: []string{"a", "b", "c"}},
		{name: "single quotes", line: `sh -c 'echo "$1" \x'`, want: []string{"sh", "-c", `echo "$1" \x`}},
		{name: "double quotes", line: `x "a b" "q\"uote" "back\\slash" "keep\n"`, want: []string{"x", "a b", `q"uote`, `back\slash`, `keep\n`}},
		{name: "backslash", line: `a\ b c\'d`, want: []string{"a b", "c'd"}},
		{name: "adjacent quotes join", line: `--x='a b'"c"d`, want: []string{"--x=a bcd"}},
		{name: "empty quoted word", line: `a '' ""`, want: []string{"a", "", ""}},
		{name: "unicode", line: `échoir 'ü'`, want: []string{"échoir", "ü"}},
		{name: "unterminated single", line: `a 'b`, wantErr: "unterminated ' quote in command line"},
		{name: "unterminated double", line: `a "b`, wantErr: `unterminated " quote in command line`},
		{name: "trailing backslash", line: `a \`, wantErr: "command line ends with a backslash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := janitor.SplitCommandLine(tc.line)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestResourceFlag(t *testing.T) {
	tests := []struct{ rtype, want string }{
		{"gce-project", "--project=n"},
		{"aws-account", "--account=n"},
		{"gke-e2e-cluster", "--cluster=n"},
		{"plain", "--plain=n"},
		{"trailing-", "--=n"},
	}
	for _, tc := range tests {
		t.Run(tc.rtype, func(t *testing.T) {
			assert.Equal(t, tc.want, janitor.ResourceFlag(boskos.Resource{Type: tc.rtype, Name: "n"}))
		})
	}
}

// script writes an executable shell script into a temporary directory.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clean.sh")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return p
}

func TestCommandClean(t *testing.T) {
	res := boskos.Resource{Type: "gce-project", Name: "p-1", State: boskos.Cleaning, Owner: "janitor",
		LastUpdate: t0, UserData: boskos.UserData{"k": "v"}, Epoch: 7}
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-exec.sh")
	require.NoError(t, os.WriteFile(notExec, []byte("#!/bin/sh\nexit 0\n"), 0o644))
	argsFile := filepath.Join(dir, "args")
	stdinFile := filepath.Join(dir, "stdin")
	tests := []struct {
		name    string
		line    string
		want    janitor.Outcome
		wantErr string // prefix
		check   func(t *testing.T)
	}{
		{name: "exit 0 is cleaned", line: "true", want: janitor.Cleaned},
		{name: "arguments and stdin", want: janitor.Cleaned,
			line: script(t, `printf '%s\n' "$@" > `+argsFile+`; cat > `+stdinFile) + ` --dry-run 'two words'`,
			check: func(t *testing.T) {
				b, err := os.ReadFile(argsFile)
				require.NoError(t, err)
				assert.Equal(t, "--dry-run\ntwo words\n--project=p-1\n", string(b))
				b, err = os.ReadFile(stdinFile)
				require.NoError(t, err)
				var got boskos.Resource
				require.NoError(t, json.Unmarshal(b, &got))
				assert.Equal(t, res, got)
			}},
		{name: "non-zero exit with stderr", line: script(t, `echo "first line" >&2; echo "quota exceeded" >&2; exit 3`),
			wantErr: "exit status 3: first line\nquota exceeded"},
		{name: "non-zero exit without stderr", line: "false", wantErr: "exit status 1"},
		{name: "long stderr keeps its tail", line: script(t, `i=0; while [ $i -lt 500 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 1`),
			wantErr: "exit status 1: …", check: nil},
		{name: "missing command", line: filepath.Join(dir, "nope"), wantErr: `command "` + filepath.Join(dir, "nope") + `" could not run: `},
		{name: "not executable", line: notExec, wantErr: `command "` + notExec + `" could not run: `},
		{name: "not in PATH", line: "no-such-janitor-command", wantErr: `command "no-such-janitor-command" could not run: executable file not found in $PATH`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := janitor.NewCommand(tc.line)
			require.NoError(t, err)
			got, err := c.Clean(context.Background(), res)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.True(t, strings.HasPrefix(err.Error(), tc.wantErr), "got %q, want prefix %q", err, tc.wantErr)
				assert.Less(t, len(err.Error()), 700, "error bounded")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
	t.Run("context ends: the process group is killed", func(t *testing.T) {
		pidFile := filepath.Join(dir, "child")
		c, err := janitor.NewCommand(script(t, `sleep 60 & echo $! > `+pidFile+`; wait`))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = c.Clean(ctx, res)
		require.ErrorIs(t, err, janitor.ErrStopped)
		assert.Less(t, time.Since(start), 5*time.Second)
		b, err := os.ReadFile(pidFile)
		require.NoError(t, err)
		pid := strings.TrimSpace(string(b))
		// SIGKILL is delivered asynchronously: the grandchild is gone
		// (or a zombie) shortly after.
		assert.Eventually(t, func() bool {
			st, err := os.ReadFile("/proc/" + pid + "/stat")
			return err != nil || strings.Contains(string(st), ") Z")
		}, 5*time.Second, 10*time.Millisecond, "the grandchild %s still runs", pid)
	})
	assert.Equal(t, "true --x", mustCommand(t, "true --x").String())
}

func mustCommand(t *testing.T, line string) *janitor.Command {
	t.Helper()
	c, err := janitor.NewCommand(line)
	require.NoError(t, err)
	return c
}

func TestNewCommandErrors(t *testing.T) {
	_, err := janitor.NewCommand("   ")
	require.EqualError(t, err, "empty command")
	_, err = janitor.NewCommand(`x 'y`)
	require.EqualError(t, err, "unterminated ' quote in command line")
	require.NoError(t, mustCommand(t, "sh").Check())
	require.EqualError(t, mustCommand(t, "/no/such/thing").Check(), `command "/no/such/thing": stat /no/such/thing: no such file or directory`)
}

// exampleScript is the path of scripts/janitor-example.sh.
func exampleScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../scripts/janitor-example.sh")
	require.NoError(t, err)
	return p
}

// TestExampleScript runs scripts/janitor-example.sh through the Command
// cleanup, and through a janitor until it quarantines a resource.
func TestExampleScript(t *testing.T) {
	t.Setenv("JANITOR_EXAMPLE_SLEEP", "0")
	res := boskos.Resource{Type: "gce-project", Name: "p-1"}
	tests := []struct {
		name, args, env string
		wantErr         string
	}{
		{name: "cleans"},
		{name: "--fail", args: " --fail", wantErr: "exit status 1: janitor-example: failed to clean project p-1 (JANITOR_EXAMPLE_FAIL or --fail)"},
		{name: "JANITOR_EXAMPLE_FAIL", env: "1", wantErr: "exit status 1: janitor-example: failed to clean project p-1 (JANITOR_EXAMPLE_FAIL or --fail)"},
		{name: "--sleep", args: " --sleep=0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("JANITOR_EXAMPLE_FAIL", tc.env)
			c := mustCommand(t, exampleScript(t)+tc.args)
			got, err := c.Clean(context.Background(), res)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, janitor.Cleaned, got)
		})
	}
	t.Run("through a janitor", func(t *testing.T) {
		e := memEnv(t, `
resources:
- type: gce-project
  state: dirty
  names: [p-1, p-2]
- type: aws-account
  state: dirty
  names: [a-1]
`)
		targets, err := janitor.ParseCommands([]string{exampleScript(t), "aws-account=" + exampleScript(t) + " --fail"}, janitor.CommandOptions{})
		require.NoError(t, err)
		require.NoError(t, targets.Validate([]string{"gce-project", "aws-account"}))
		results := newResults()
		j := e.newJanitor(janitor.Options{Types: types("gce-project", "aws-account"), Targets: targets}, results)
		for i := 0; i < janitor.DefaultMaxFailures; i++ {
			_, err := j.RunOnce(e.ctx)
			require.NoError(t, err)
			e.clock.Add(janitor.DefaultRetryDelay)
		}
		assert.Equal(t, map[string]string{"p-1": "free", "p-2": "free", "a-1": "quarantined"}, e.states())
		assert.Equal(t, "janitor-example: failed to clean account a-1 (JANITOR_EXAMPLE_FAIL or --fail)",
			strings.TrimPrefix(e.get("a-1").UserData[janitor.KeyReason], "exit status 1: "))
		assert.Equal(t, []janitor.Status{"failed", "failed", "quarantined"}, results.statuses()["a-1"])
	})
}

type syncBuffer = testkit.SyncBuffer

func TestCommandOutputLogged(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	targets, err := janitor.ParseCommands([]string{script(t, `echo "deleting VMs"; echo "one warning" >&2; printf 'no newline'`)},
		janitor.CommandOptions{Logger: log})
	require.NoError(t, err)
	_, err = targets.All.Clean(context.Background(), boskos.Resource{Type: "gce-project", Name: "p-1"})
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	sort.Strings(lines)
	assert.Equal(t, []string{
		`level=DEBUG msg="cleanup output" type=gce-project name=p-1 stream=stderr line="one warning"`,
		`level=DEBUG msg="cleanup output" type=gce-project name=p-1 stream=stdout line="deleting VMs"`,
		`level=DEBUG msg="cleanup output" type=gce-project name=p-1 stream=stdout line="no newline"`,
	}, lines)
}
