package callout_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/callout"
)

// writeScript writes an executable sh script named name into dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return p
}

func TestCommandRun(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-exec.sh")
	require.NoError(t, os.WriteFile(notExec, []byte("#!/bin/sh\necho '{}'\n"), 0o644))
	echoIn := writeScript(t, dir, "echo.sh", `printf '%s|' "$@"; cat`)
	tests := []struct {
		name      string
		cmd       callout.Command
		stdin     string
		o         callout.RunOptions
		want      string
		wantErr   string // the whole message, unless wantRe
		wantRe    string
		wantErrIs error
	}{
		{name: "stdout is the answer, args appended, stdin given", cmd: callout.Command{Path: echoIn, Args: []string{"a b"}},
			stdin: `{"x":1}`, o: callout.RunOptions{Args: []string{"--c"}, MaxAnswer: 100}, want: `a b|--c|{"x":1}`},
		{name: "an answer exactly at the bound", cmd: callout.Command{Path: "printf", Args: []string{"12345"}},
			o: callout.RunOptions{MaxAnswer: 5}, want: "12345"},
		{name: "an answer over the bound", cmd: callout.Command{Path: "printf", Args: []string{"123456"}},
			o: callout.RunOptions{MaxAnswer: 5}, wantErrIs: callout.ErrTooLong,
			wantErr: "answer too long: stdout is over 5 bytes"},
		{name: "no answer wanted: stdout dropped", cmd: callout.Command{Path: "echo", Args: []string{"hi"}}},
		{name: "non-zero exit ends with stderr", cmd: callout.Command{Path: writeScript(t, dir, "fail.sh", `echo '{"k":"v"}'; echo "no quota" >&2; exit 4`)},
			o: callout.RunOptions{MaxAnswer: 100}, wantErr: "exit status 4: no quota"},
		{name: "stderr keeps its tail", cmd: callout.Command{Path: writeScript(t, dir, "long.sh", `i=0; while [ $i -lt 300 ]; do echo "line $i" >&2; i=$((i+1)); done; echo END >&2; exit 1`)},
			wantRe: `^exit status 1: …(.|\n){400,}line 299\nEND$`},
		{name: "killed by a signal", cmd: callout.Command{Path: "sh", Args: []string{"-c", "kill -9 $$"}}, wantErr: "signal: killed"},
		{name: "missing program", cmd: callout.Command{Path: filepath.Join(dir, "nope")},
			wantErr: `command "` + filepath.Join(dir, "nope") + `" could not run: fork/exec ` + filepath.Join(dir, "nope") + `: no such file or directory`},
		{name: "not executable", cmd: callout.Command{Path: notExec},
			wantErr: `command "` + notExec + `" could not run: fork/exec ` + notExec + `: permission denied`},
		{name: "not in PATH", cmd: callout.Command{Path: "no-such-callout-program"},
			wantErr: `command "no-such-callout-program" could not run: executable file not found in $PATH`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cmd.Run(context.Background(), []byte(tc.stdin), tc.o)
			if tc.wantErr == "" && tc.wantRe == "" {
				require.NoError(t, err)
				if tc.want == "" {
					assert.Nil(t, got)
				} else {
					assert.Equal(t, tc.want, string(got))
				}
				return
			}
			require.Error(t, err)
			assert.Nil(t, got)
			if tc.wantRe != "" {
				assert.Regexp(t, regexp.MustCompile(tc.wantRe), err.Error())
				assert.LessOrEqual(t, len(err.Error()), len("exit status 1: ")+len("…")+callout.TailBytes)
			} else {
				assert.Equal(t, tc.wantErr, err.Error())
			}
			if tc.wantErrIs != nil {
				assert.ErrorIs(t, err, tc.wantErrIs)
			}
		})
	}
	t.Run("a non-zero exit wraps *exec.ExitError", func(t *testing.T) {
		_, err := callout.Command{Path: "false"}.Run(context.Background(), nil, callout.RunOptions{})
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, 1, ee.ExitCode())
	})
}

// hookHandler is a slog handler that records lines and calls onLine for
// each.
type hookHandler struct {
	mu     sync.Mutex
	lines  []string
	onLine func(line string)
}

func (h *hookHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *hookHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *hookHandler) WithGroup(string) slog.Handler            { return h }
func (h *hookHandler) Handle(_ context.Context, r slog.Record) error {
	var stream, line string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "stream":
			stream = a.Value.String()
		case "line":
			line = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, r.Message+" "+stream+": "+line)
	h.mu.Unlock()
	if h.onLine != nil {
		h.onLine(line)
	}
	return nil
}

func (h *hookHandler) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lines...)
}

// TestCommandRunStopped: when the context ends, the program and its
// children are killed, and the error wraps RunOptions.Stopped. The
// context is cancelled from the log hook, once the script has said that
// its child runs.
func TestCommandRunStopped(t *testing.T) {
	errMine := errors.New("mine stopped")
	for _, tc := range []struct {
		name    string
		stopped error
		want    error
	}{
		{name: "default ErrStopped", want: callout.ErrStopped},
		{name: "the caller's sentinel", stopped: errMine, want: errMine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			pid := make(chan string, 1)
			h := &hookHandler{onLine: func(line string) {
				if p, ok := strings.CutPrefix(line, "child "); ok {
					pid <- p
					cancel(errors.New("shutting down"))
				}
			}}
			prog := writeScript(t, t.TempDir(), "slow.sh", `sleep 60 & echo "child $!" >&2; wait`)
			_, err := callout.Command{Path: prog}.Run(ctx, nil, callout.RunOptions{MaxAnswer: 10, Logger: slog.New(h), Stopped: tc.stopped})
			require.ErrorIs(t, err, tc.want)
			child := <-pid
			assert.Equal(t, tc.want.Error()+": shutting down: child "+child, err.Error())
			// SIGKILL is delivered asynchronously: the grandchild is gone
			// (or a zombie) shortly after.
			assert.Eventually(t, func() bool {
				st, err := os.ReadFile("/proc/" + child + "/stat")
				return err != nil || strings.Contains(string(st), ") Z")
			}, 5*time.Second, 10*time.Millisecond, "the grandchild %s still runs", child)
		})
	}
}

// TestCommandRunLogs: stderr is logged; stdout only when it is not the
// answer (an answer may carry credentials).
func TestCommandRunLogs(t *testing.T) {
	prog := writeScript(t, t.TempDir(), "talk.sh", `echo '{"token":"s3cret"}'; echo "warning one" >&2; printf 'last'`)
	for _, tc := range []struct {
		name string
		o    callout.RunOptions
		want []string
	}{
		{name: "answer not logged", o: callout.RunOptions{MaxAnswer: 100},
			want: []string{"command output stderr: warning one"}},
		{name: "no answer: stdout logged", o: callout.RunOptions{LogMessage: "cleanup output"},
			want: []string{`cleanup output stdout: {"token":"s3cret"}`, "cleanup output stderr: warning one", "cleanup output stdout: last"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &hookHandler{}
			tc.o.Logger = slog.New(h)
			_, err := callout.Command{Path: prog}.Run(context.Background(), nil, tc.o)
			require.NoError(t, err)
			assert.ElementsMatch(t, tc.want, h.got())
		})
	}
}

func TestParseCommandAndCheck(t *testing.T) {
	c, err := callout.ParseCommand(` scripts/x.sh --name 'a b' "c\"d" e\ f `)
	require.NoError(t, err)
	assert.Equal(t, callout.Command{Path: "scripts/x.sh", Args: []string{"--name", "a b", `c"d`, "e f"}}, c)
	assert.Equal(t, "scripts/x.sh --name a b c\"d e f", c.String())
	_, err = callout.ParseCommand(" \t\n")
	require.EqualError(t, err, "empty command")
	_, err = callout.ParseCommand(`x "y`)
	require.EqualError(t, err, `unterminated " quote in command line`)

	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(notExec, nil, 0o644))
	for _, tc := range []struct{ name, path, wantErr string }{
		{name: "in PATH", path: "sh"},
		{name: "a script", path: writeScript(t, dir, "ok.sh", "exit 0")},
		{name: "missing", path: filepath.Join(dir, "nope"), wantErr: `command "` + filepath.Join(dir, "nope") + `": stat ` + filepath.Join(dir, "nope") + `: no such file or directory`},
		{name: "not executable", path: notExec, wantErr: `command "` + notExec + `": permission denied`},
		{name: "not in PATH", path: "no-such-callout-program", wantErr: `command "no-such-callout-program": executable file not found in $PATH`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := callout.Command{Path: tc.path}.Check()
			if tc.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tc.wantErr)
			}
		})
	}
}
