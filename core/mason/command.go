package mason

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os/exec"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/callout"
)

// Command is the built-in converter "Command": its config.content is a
// command line, split as a POSIX shell splits words but without a shell
// (no variables, globs, pipes or redirections), whose first word is the
// program (looked up in PATH when it has no slash; a relative path is
// relative to the server's working directory). Construct runs it, in the
// server's environment, with the JSON of a Request on stdin, and decodes
// its stdout with DecodeAnswer (at most MaxAnswerBytes). Its errors start
// with `command "PROGRAM"` and say:
//
//   - the program does not exist, is not executable or is not in $PATH
//     (the same errors as Check);
//   - a non-zero exit: "exit status N" and the tail of stderr
//     (callout.TailBytes);
//   - a bad answer: an error wrapping ErrBadAnswer;
//   - the context ended: the program, with its process group on Unix, is
//     killed, and the error wraps callout.ErrStopped.
//
// Stderr is logged line by line when ConverterOptions.Logger is set; stdout (the
// userdata, which may carry credentials) never is.
type Command struct {
	content string
	cmd     callout.Command
	logger  *slog.Logger
}

var _ Masonable = (*Command)(nil)

// NewCommand returns the Command converter of content, a command line. An
// empty line and unbalanced quotes are errors; it does not look for the
// program (see Check).
func NewCommand(content string, o ConverterOptions) (*Command, error) {
	c, err := callout.ParseCommand(content)
	if err != nil {
		return nil, err
	}
	return &Command{content: content, cmd: c, logger: o.Logger}, nil
}

// String returns the command line, re-joined with spaces.
func (c *Command) String() string { return c.cmd.String() }

// Check reports whether the program can be run: `command "PROGRAM" does
// not exist`, `... is not executable` (both wrapping the fs error), `... is
// not in $PATH` (wrapping exec.ErrNotFound), or another reason. Construct
// checks it first; a server may call it at start-up too, through the
// Masonable its registry returns (interface{ Check() error }).
func (c *Command) Check() error {
	err := c.cmd.Check()
	p := c.cmd.Path
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("command %q does not exist: %w", p, fs.ErrNotExist)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("command %q is not executable: %w", p, fs.ErrPermission)
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("command %q is not in $PATH: %w", p, exec.ErrNotFound)
	}
	return err
}

// Construct runs the command for res and leased (see Command).
func (c *Command) Construct(ctx context.Context, res boskos.Resource, leased TypeToResources) (boskos.UserData, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	in, err := EncodeRequest(res, leased, c.content)
	if err != nil {
		return nil, err
	}
	o := callout.RunOptions{MaxAnswer: MaxAnswerBytes, LogMessage: "converter output"}
	if c.logger != nil {
		o.Logger = c.logger.With("type", res.Type, "name", res.Name)
	}
	out, err := c.cmd.Run(ctx, in, o)
	if err == nil {
		var ud boskos.UserData
		if ud, err = DecodeAnswer(out); err == nil {
			return ud, nil
		}
	}
	return nil, fmt.Errorf("command %q: %w", c.cmd.Path, err)
}
