package janitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// stderrTailBytes is how much of a failed command's stderr its error keeps.
const stderrTailBytes = 512

// commandWaitDelay bounds how long a killed command's output pipes are
// waited for (a grandchild may hold them open).
const commandWaitDelay = 5 * time.Second

// Command is the cleanup of upstream's janitor: it runs
//
//	PATH ARGS... --<kind>=<name>
//
// where kind is the last '-'-separated segment of the resource's type
// (type gce-project: --project=<name>), so upstream janitor scripts work
// unchanged. The resource's JSON (boskos.Resource's wire format, user data
// included) is on the command's standard input; the environment is the
// janitor's. Exit status 0 is Cleaned; any other, or a command that cannot
// be started, is a failure whose error ends with the tail of its stderr.
// When the context ends the command (with its process group, on Unix) is
// killed and the error wraps ErrStopped.
type Command struct {
	// Path is the program (looked up in PATH when it has no slash).
	Path string
	// Args come before the --<kind>=<name> argument.
	Args []string
	// Logger, if set, receives every line the command writes (stdout and
	// stderr) at debug level, with the resource's type and name; else
	// stdout is discarded. A script that prints credentials leaks them
	// there: keep secrets out of its output.
	Logger *slog.Logger
}

// CommandOptions tune the Commands ParseCommands builds.
type CommandOptions struct {
	// Logger is Command.Logger.
	Logger *slog.Logger
}

// NewCommand parses a command line split as a POSIX shell would split
// words (whitespace, 'single' and "double" quotes, backslash escapes; no
// expansion of variables, globs or operators). It fails on an empty line
// and on unbalanced quotes; it does not check that the program exists
// (see Command.Check).
func NewCommand(line string) (*Command, error) {
	words, err := SplitCommandLine(line)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return &Command{Path: words[0], Args: words[1:]}, nil
}

// Check reports whether the program can be found and executed.
func (c *Command) Check() error {
	if _, err := exec.LookPath(c.Path); err != nil {
		return fmt.Errorf("command %q: %w", c.Path, unwrapExec(err))
	}
	return nil
}

// String returns the command line without the resource argument.
func (c *Command) String() string {
	return strings.Join(append([]string{c.Path}, c.Args...), " ")
}

// ResourceFlag returns upstream's argument for r: --<last segment of the
// type>=<name>.
func ResourceFlag(r boskos.Resource) string {
	kind := r.Type
	if i := strings.LastIndex(kind, "-"); i >= 0 {
		kind = kind[i+1:]
	}
	return "--" + kind + "=" + r.Name
}

// Clean runs the command for r.
func (c *Command) Clean(ctx context.Context, r boskos.Resource) (Outcome, error) {
	in, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("encode resource: %w", err)
	}
	args := append(append([]string(nil), c.Args...), ResourceFlag(r))
	cmd := exec.CommandContext(ctx, c.Path, args...)
	cmd.Stdin = bytes.NewReader(in)
	stderr := &tailBuffer{max: stderrTailBytes}
	cmd.Stderr = stderr
	if c.Logger != nil {
		log := c.Logger.With("type", r.Type, "name", r.Name)
		out, errOut := &lineLogger{log: log, stream: "stdout"}, &lineLogger{log: log, stream: "stderr"}
		defer out.flush()
		defer errOut.flush()
		cmd.Stdout = out
		cmd.Stderr = io.MultiWriter(stderr, errOut)
	}
	cmd.WaitDelay = commandWaitDelay
	setProcessGroup(cmd)
	err = cmd.Run()
	if err == nil {
		return Cleaned, nil
	}
	msg := strings.TrimSpace(stderr.String())
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("%w: %v", ErrStopped, context.Cause(ctx))
	case errors.As(err, &exitErr):
		// exit status N, or signal: killed
	default:
		err = fmt.Errorf("command %q could not run: %w", c.Path, unwrapExec(err))
	}
	if msg != "" {
		return 0, fmt.Errorf("%w: %s", err, msg)
	}
	return 0, err
}

// unwrapExec drops exec's own prefix of a lookup error ("exec: \"x\": ").
func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := tail(string(t.buf), t.max)
	if t.cut && !strings.HasPrefix(s, "…") {
		s = "…" + s
	}
	return s
}

// lineLogger logs each line written to it.
type lineLogger struct {
	mu     sync.Mutex
	log    *slog.Logger
	stream string
	buf    []byte
}

// maxLogLine bounds one logged line.
const maxLogLine = 4096

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			if len(l.buf) > maxLogLine {
				l.emit(l.buf)
				l.buf = l.buf[:0]
			}
			return len(p), nil
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLogger) emit(line []byte) {
	l.log.Debug("cleanup output", "stream", l.stream, "line", truncate(string(line), maxLogLine))
}

// flush logs a last line without a newline.
func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

// SplitCommandLine splits line into words as a POSIX shell would, without
// any expansion: words are separated by unquoted whitespace; 'single
// quotes' keep everything literally; "double quotes" keep everything but
// a backslash before one of $ ` " \ or a newline; an unquoted backslash
// keeps the next character literally. Unbalanced quotes and a trailing
// backslash are errors.
func SplitCommandLine(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			if i+1 >= len(rs) {
				return nil, errors.New("command line ends with a backslash")
			}
			i++
			if rs[i] != '\n' {
				cur.WriteRune(rs[i])
				inWord = true
			}
		case c == '\'':
			inWord = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j >= len(rs) {
				return nil, errors.New("unterminated ' quote in command line")
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
		case c == '"':
			inWord = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("$`\"\\\n", rs[j+1]) {
					j++
					if rs[j] != '\n' {
						cur.WriteRune(rs[j])
					}
					continue
				}
				cur.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, errors.New("unterminated \" quote in command line")
			}
			i = j
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
