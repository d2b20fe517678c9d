package mason_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/callout"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/mason/masontest"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// program writes an executable sh script into a temporary directory.
func program(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "convert.sh")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return p
}

func construct(t *testing.T, m mason.Masonable) (boskos.UserData, error) {
	t.Helper()
	return m.Construct(context.Background(), virtual, leased)
}

func newCommand(t *testing.T, line string, o mason.ConverterOptions) *mason.Command {
	t.Helper()
	c, err := mason.NewCommand(line, o)
	require.NoError(t, err)
	return c
}

// TestCommandAnswers: the program's stdout goes through DecodeAnswer.
func TestCommandAnswers(t *testing.T) {
	cat := program(t, `cat >/dev/null; cat "$1"`)
	for _, tc := range masontest.AnswerCases() {
		t.Run(tc.Name, func(t *testing.T) {
			answer := filepath.Join(t.TempDir(), "answer")
			require.NoError(t, os.WriteFile(answer, []byte(tc.Answer), 0o644))
			got, err := construct(t, newCommand(t, cat+" "+answer, mason.ConverterOptions{}))
			tc.Check(t, `command "`+cat+`": `, got, err)
		})
	}
}

// TestCommandRequest: stdin is exactly the documented request, content
// included as configured.
func TestCommandRequest(t *testing.T) {
	dir := t.TempDir()
	stdin := filepath.Join(dir, "stdin")
	line := program(t, `cat > "$1"; echo '{}'`) + " '" + stdin + "'"
	_, err := construct(t, newCommand(t, line, mason.ConverterOptions{}))
	require.NoError(t, err)
	b, err := os.ReadFile(stdin)
	require.NoError(t, err)
	want, err := mason.EncodeRequest(virtual, leased, line)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(b))
	assert.Equal(t, strings.Replace(string(goldenRequest(t)), `"content": "c"`, `"content": "`+line+`"`, 1), string(indent(t, b)))
}

func TestCommandFailures(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-exec.sh")
	require.NoError(t, os.WriteFile(notExec, []byte("#!/bin/sh\necho '{}'\n"), 0o644))
	missing := filepath.Join(dir, "missing.sh")
	fail := program(t, `echo '{"token":"`+masontest.Secret+`"}'; echo "first" >&2; echo "no account has quota" >&2; exit 3`)
	chatty := program(t, `i=0; while [ $i -lt 200 ]; do echo "noise $i" >&2; i=$((i+1)); done; echo "the reason" >&2; exit 1`)
	flood := program(t, `printf '{"a":"'; head -c 1048577 /dev/zero | tr '\0' x; printf '"}'`)
	tests := []struct {
		name    string
		line    string
		wantErr string
		is      error
		// check: Check fails the same way (the program cannot run).
		check bool
	}{
		{name: "non-zero exit with stderr", line: fail, wantErr: `command "` + fail + `": exit status 3: first` + "\nno account has quota"},
		{name: "non-zero exit without stderr", line: "false", wantErr: `command "false": exit status 1`},
		{name: "long stderr keeps its tail", line: chatty},
		{name: "not executable", line: notExec, wantErr: `command "` + notExec + `" is not executable: permission denied`, is: fs.ErrPermission, check: true},
		{name: "missing", line: missing, wantErr: `command "` + missing + `" does not exist: file does not exist`, is: fs.ErrNotExist, check: true},
		{name: "not in PATH", line: "no-such-mason-converter --x", wantErr: `command "no-such-mason-converter" is not in $PATH: executable file not found in $PATH`, is: exec.ErrNotFound, check: true},
		{name: "a directory", line: dir, wantErr: `command "` + dir + `": is a directory`, check: true},
		{name: "stdout over MaxAnswerBytes", line: flood, wantErr: `command "` + flood + `": answer too long: stdout is over 1048576 bytes`, is: callout.ErrTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCommand(t, tc.line, mason.ConverterOptions{})
			got, err := construct(t, c)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.NotContains(t, err.Error(), masontest.Secret)
			if tc.wantErr == "" {
				assert.True(t, strings.HasPrefix(err.Error(), `command "`+tc.line+`": exit status 1: …`), "got %q", err)
				assert.True(t, strings.HasSuffix(err.Error(), "noise 199\nthe reason"), "got %q", err)
				assert.Less(t, len(err.Error()), len(tc.line)+callout.TailBytes+40)
				return
			}
			assert.EqualError(t, err, tc.wantErr)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			if tc.check {
				assert.EqualError(t, c.Check(), tc.wantErr, "Check says the same")
			} else {
				assert.NoError(t, c.Check())
			}
		})
	}
}

// cancelOn is a log writer that calls cancel once a line holding word is
// written: the hook by which a test waits for a program to start.
type cancelOn struct {
	word   string
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(c.word)) {
		c.once.Do(c.cancel)
	}
	return len(p), nil
}

// TestCommandCancelled: the context's end kills the program with its
// children (a child holding stderr open would otherwise delay the return
// by exec's WaitDelay, 5s).
func TestCommandCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(&cancelOn{word: "started", cancel: cancel}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newCommand(t, program(t, `sleep 60 & echo started >&2; wait`), mason.ConverterOptions{Logger: log})
	start := time.Now()
	_, err := c.Construct(ctx, virtual, leased)
	require.ErrorIs(t, err, callout.ErrStopped)
	assert.True(t, strings.HasSuffix(err.Error(), ": stopped before it finished: context canceled: started"), "got %q", err)
	assert.Less(t, time.Since(start), 4*time.Second)
}

// TestCommandLogsStderrOnly: stderr lines are logged with the virtual
// resource; stdout, the userdata, is not.
func TestCommandLogsStderrOnly(t *testing.T) {
	var buf testkit.SyncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	c := newCommand(t, program(t, `echo '{"token":"`+masontest.Secret+`"}'; echo "building" >&2`), mason.ConverterOptions{Logger: log})
	got, err := construct(t, c)
	require.NoError(t, err)
	assert.Equal(t, boskos.UserData{"token": masontest.Secret}, got)
	assert.Equal(t, `level=DEBUG msg="converter output" type=cluster name=cluster-1 stream=stderr line=building`+"\n", buf.String())
}

// exampleScript is the path of scripts/mason-example.sh.
func exampleScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../scripts/mason-example.sh")
	require.NoError(t, err)
	return p
}

// TestExampleScript runs scripts/mason-example.sh for real, as the Command
// converter of the example config, under every POSIX shell found.
func TestExampleScript(t *testing.T) {
	kubeconfig := func(cluster, accounts string) string {
		return "apiVersion: v1\nkind: Config\nclusters:\n- name: " + cluster + "\n  cluster:\n    server: https://" + cluster +
			".example.invalid\n# fake kubeconfig for " + cluster + ", built from " + accounts + "\n"
	}
	two := mason.TypeToResources{"aws-account": {leased["aws-account"][0], {Type: "aws-account", Name: "a2",
		UserData: boskos.UserData{"type": "x", "name": "not-a-resource"}}}}
	tests := []struct {
		name    string
		leased  mason.TypeToResources
		fail    string
		want    boskos.UserData
		wantErr string
	}{
		{name: "one account", leased: leased, want: boskos.UserData{"kubeconfig": kubeconfig("cluster-1", "a1"), "accounts": "a1"}},
		{name: "two accounts, userdata that looks like a resource", leased: two,
			want: boskos.UserData{"kubeconfig": kubeconfig("cluster-1", "a1,a2"), "accounts": "a1,a2"}},
		{name: "nothing leased", leased: nil, wantErr: "exit status 1: mason-example: nothing leased for cluster-1 (a cluster needs an aws-account)"},
		{name: "MASON_EXAMPLE_FAIL", leased: leased, fail: "1", wantErr: "exit status 1: mason-example: failing on purpose (MASON_EXAMPLE_FAIL=1)"},
	}
	shells := []string{""} // the script's own #!/bin/sh
	for _, sh := range []string{"dash", "bash", "busybox"} {
		if _, err := exec.LookPath(sh); err == nil {
			shells = append(shells, sh)
		}
	}
	for _, sh := range shells {
		line := exampleScript(t)
		switch sh {
		case "":
		case "busybox":
			line = "busybox sh " + line
		default:
			line = sh + " " + line
		}
		for _, tc := range tests {
			t.Run(strings.TrimPrefix(sh+"/", "/")+tc.name, func(t *testing.T) {
				t.Setenv("MASON_EXAMPLE_FAIL", tc.fail)
				c := newCommand(t, line, mason.ConverterOptions{})
				got, err := c.Construct(context.Background(), virtual, tc.leased)
				if tc.wantErr != "" {
					prog := strings.Fields(line)[0]
					require.EqualError(t, err, `command "`+prog+`": `+tc.wantErr)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
			})
		}
	}
	t.Run("through the registry, as the example config names it", func(t *testing.T) {
		m, err := mason.NewDefaultRegistry(mason.ConverterOptions{}).Converter(boskos.ConfigType{Type: "Command", Content: exampleScript(t)})
		require.NoError(t, err)
		require.NoError(t, m.(interface{ Check() error }).Check())
		got, err := construct(t, m)
		require.NoError(t, err)
		assert.Equal(t, "a1", got["accounts"])
	})
}
