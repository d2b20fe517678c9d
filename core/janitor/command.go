package janitor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/callout"
)

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
// killed and the error wraps ErrStopped. It runs on callout.Command.
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
// words (SplitCommandLine: whitespace, 'single' and "double" quotes,
// backslash escapes; no expansion of variables, globs or operators). It
// fails on an empty line and on unbalanced quotes; it does not check that
// the program exists (see Command.Check).
func NewCommand(line string) (*Command, error) {
	c, err := callout.ParseCommand(line)
	if err != nil {
		return nil, err
	}
	return &Command{Path: c.Path, Args: c.Args}, nil
}

// program is c as a callout.Command.
func (c *Command) program() callout.Command { return callout.Command{Path: c.Path, Args: c.Args} }

// Check reports whether the program can be found and executed.
func (c *Command) Check() error { return c.program().Check() }

// String returns the command line without the resource argument.
func (c *Command) String() string { return c.program().String() }

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
	o := callout.RunOptions{Args: []string{ResourceFlag(r)}, LogMessage: "cleanup output", Stopped: ErrStopped}
	if c.Logger != nil {
		o.Logger = c.Logger.With("type", r.Type, "name", r.Name)
	}
	if _, err := c.program().Run(ctx, in, o); err != nil {
		return 0, err
	}
	return Cleaned, nil
}

// SplitCommandLine splits line into words as a POSIX shell would, without
// any expansion (callout.SplitCommandLine).
func SplitCommandLine(line string) ([]string, error) { return callout.SplitCommandLine(line) }
