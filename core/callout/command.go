package callout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// commandWaitDelay bounds how long a killed command's output pipes are
// waited for (a grandchild may hold them open).
const commandWaitDelay = 5 * time.Second

// ErrStopped is wrapped (unless RunOptions.Stopped names another error) by
// the error of a Run whose context ended: the program was killed and runs
// no more.
var ErrStopped = errors.New("stopped before it finished")

// ErrTooLong is wrapped by the error of a call whose answer is longer than
// its bound.
var ErrTooLong = errors.New("answer too long")

// Command is a program and its arguments, run without a shell.
type Command struct {
	// Path is the program (looked up in PATH when it has no slash; a
	// relative path with a slash is relative to the working directory).
	Path string
	// Args are its arguments.
	Args []string
}

// ParseCommand splits line with SplitCommandLine: the first word is the
// program, the others its arguments. An empty line and unbalanced quotes
// are errors; it does not check that the program exists (see Check).
func ParseCommand(line string) (Command, error) {
	words, err := SplitCommandLine(line)
	if err != nil {
		return Command{}, err
	}
	if len(words) == 0 {
		return Command{}, errors.New("empty command")
	}
	return Command{Path: words[0], Args: words[1:]}, nil
}

// Check reports whether the program can be found and executed: its error
// is `command "PATH": why` (no such file, permission denied, not found in
// $PATH).
func (c Command) Check() error {
	if _, err := exec.LookPath(c.Path); err != nil {
		return fmt.Errorf("command %q: %w", c.Path, unwrapExec(err))
	}
	return nil
}

// String returns the program and its arguments, space-separated.
func (c Command) String() string {
	return strings.Join(append([]string{c.Path}, c.Args...), " ")
}

// RunOptions tune one Command.Run.
type RunOptions struct {
	// Args are appended to the command's own arguments.
	Args []string
	// MaxAnswer bounds the answer, the program's standard output: Run
	// returns it, and a longer one fails wrapping ErrTooLong. Zero means
	// the program gives no answer: its standard output is discarded, or
	// logged when Logger is set.
	MaxAnswer int
	// Logger, if set, receives at debug level each line the program
	// writes to stderr (and to stdout when MaxAnswer is zero; never the
	// answer), as LogMessage with the attributes stream and line. A
	// program that prints credentials there leaks them into the log.
	Logger *slog.Logger
	// LogMessage is the message of those lines (default "command output").
	LogMessage string
	// Stopped is the error wrapped by the error of a run whose context
	// ended (default ErrStopped).
	Stopped error
}

// Run runs the program with stdin as its standard input, in the caller's
// environment and working directory, and returns its standard output
// (see RunOptions.MaxAnswer) when it exits with status 0. Its errors end
// with ": " and the tail of stderr (at most TailBytes) when stderr is not
// empty:
//
//   - the context ended: the program, with its process group on Unix, is
//     killed, and the error is "<Stopped>: <context's cause>";
//   - a non-zero exit: "exit status N" (or "signal: killed"), wrapping
//     *exec.ExitError;
//   - a program that cannot be started (missing, not executable): the
//     error is `command "PATH" could not run: why`;
//   - an answer over MaxAnswer wraps ErrTooLong.
func (c Command) Run(ctx context.Context, stdin []byte, o RunOptions) ([]byte, error) {
	args := append(append([]string(nil), c.Args...), o.Args...)
	cmd := exec.CommandContext(ctx, c.Path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	stderr := &tailBuffer{max: TailBytes}
	cmd.Stderr = stderr
	var answer *limitBuffer
	if o.MaxAnswer > 0 {
		answer = &limitBuffer{max: o.MaxAnswer}
		cmd.Stdout = answer
	}
	if o.Logger != nil {
		msg := o.LogMessage
		if msg == "" {
			msg = "command output"
		}
		errOut := &lineLogger{log: o.Logger, msg: msg, stream: "stderr"}
		defer errOut.flush()
		cmd.Stderr = io.MultiWriter(stderr, errOut)
		if answer == nil {
			out := &lineLogger{log: o.Logger, msg: msg, stream: "stdout"}
			defer out.flush()
			cmd.Stdout = out
		}
	}
	cmd.WaitDelay = commandWaitDelay
	setProcessGroup(cmd)
	err := cmd.Run()
	if err == nil {
		if answer == nil {
			return nil, nil
		}
		if answer.over {
			return nil, fmt.Errorf("%w: stdout is over %d bytes", ErrTooLong, o.MaxAnswer)
		}
		return answer.buf.Bytes(), nil
	}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		stopped := o.Stopped
		if stopped == nil {
			stopped = ErrStopped
		}
		err = fmt.Errorf("%w: %v", stopped, context.Cause(ctx))
	case errors.As(err, &exitErr):
		// exit status N, or signal: killed
	default:
		err = fmt.Errorf("command %q could not run: %w", c.Path, unwrapExec(err))
	}
	return nil, withTail(err, stderr.String())
}

// unwrapExec drops exec's own prefix of a lookup error ("exec: \"x\": ").
func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// limitBuffer keeps the first max bytes written to it and notes whether
// more came. It accepts (and drops) the rest, so the program is not
// stopped by a broken pipe.
type limitBuffer struct {
	max  int
	buf  bytes.Buffer
	over bool
}

func (l *limitBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); len(p) > room {
		l.buf.Write(p[:room])
		l.over = true
		return len(p), nil
	}
	l.buf.Write(p)
	return len(p), nil
}

// lineLogger logs each line written to it.
type lineLogger struct {
	mu     sync.Mutex
	log    *slog.Logger
	msg    string
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
	l.log.Debug(l.msg, "stream", l.stream, "line", Truncate(string(line), maxLogLine))
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
