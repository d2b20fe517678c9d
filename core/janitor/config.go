package janitor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Names of the settings the parsers below read, as errors name them.
const (
	// FlagCommand is the local server's flag (see ParseCommands).
	FlagCommand = "--janitor-command"
	// EnvTargets is the Lambda function's variable (see ParseTargets).
	EnvTargets = "BOSKOS_JANITOR_TARGETS"
	// EnvMaxFailures is the Lambda function's Options.MaxFailures.
	EnvMaxFailures = "BOSKOS_JANITOR_MAX_FAILURES"
	// EnvConcurrency is the Lambda function's Options.Concurrency.
	EnvConcurrency = "BOSKOS_JANITOR_CONCURRENCY"
)

// TargetFactory builds the cleanup of a target that is not an http(s) URL:
// for BOSKOS_JANITOR_TARGETS a Lambda function name or ARN
// (lambdatarget.Factory). Its error says why target is not one.
type TargetFactory func(target string) (Cleaner, error)

// splitType splits "TYPE=REST" when the text before the first '=' can be a
// type: non-empty, without whitespace, quotes or '/'. ok is false for a
// plain command line such as "/bin/x --a=b" or "env A=1 x".
func splitType(s string) (rtype, rest string, ok bool) {
	i := strings.IndexByte(s, '=')
	if i <= 0 {
		return "", s, false
	}
	if strings.ContainsAny(s[:i], " \t\r\n'\"/\\") {
		return "", s, false
	}
	return s[:i], s[i+1:], true
}

// ParseCommands parses the values of the repeatable --janitor-command
// flag: "CMD" cleans every type without its own command, "TYPE=CMD" one
// type (the text before the first '=' is a TYPE when it has no whitespace,
// quote, slash or backslash; so "/path/x --a=b" and "env A=1 x" are plain
// commands). CMD is split by SplitCommandLine and must name an executable
// program (Command.Check). Every problem is reported, joined with
// errors.Join: an empty command, "TYPE=" without a command, unbalanced
// quotes, a program that is missing or not executable, a type or the
// all-types command given twice. Validate the result against the config's
// types with Targets.Validate. o tunes every Command.
func ParseCommands(values []string, o CommandOptions) (Targets, error) {
	t := Targets{ByType: map[string]Cleaner{}}
	var errs []error
	bad := func(v, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %q: %s", FlagCommand, v, fmt.Sprintf(format, args...)))
	}
	for _, v := range values {
		line := strings.TrimSpace(v)
		if line == "" {
			bad(v, "empty command")
			continue
		}
		rtype, cmdLine, typed := splitType(line)
		if typed && strings.TrimSpace(cmdLine) == "" {
			bad(v, "no command for type %q", rtype)
			continue
		}
		c, err := NewCommand(cmdLine)
		if err != nil {
			bad(v, "%v", err)
			continue
		}
		c.Logger = o.Logger
		if err := c.Check(); err != nil {
			bad(v, "%v", err)
			continue
		}
		switch {
		case !typed && t.All != nil:
			bad(v, "a command for all types is already given")
		case !typed:
			t.All = c
		case t.ByType[rtype] != nil:
			bad(v, "type %q has a command already", rtype)
		default:
			t.ByType[rtype] = c
		}
	}
	if len(errs) > 0 {
		return Targets{}, errors.Join(errs...)
	}
	return t, nil
}

// ParseTargets parses BOSKOS_JANITOR_TARGETS: comma-separated TYPE=TARGET
// entries (whitespace around them and empty entries are ignored), where
// TARGET is an http(s) URL (a Webhook with opts) or anything else, which
// lambda builds (a Lambda function name or ARN; nil lambda makes those an
// error). TYPE "*" is the target of every type without its own. Every
// problem is reported, joined with errors.Join: an entry without '=' or
// with an empty TYPE or TARGET, a malformed URL (one with "://" whose
// scheme is not http or https, too), a target lambda refuses, a TYPE given
// twice. An empty spec gives empty Targets (no janitor). Validate the
// result against the config's types with Targets.Validate.
func ParseTargets(spec string, opts WebhookOptions, lambda TargetFactory) (Targets, error) {
	t := Targets{ByType: map[string]Cleaner{}}
	var errs []error
	bad := func(entry, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: entry %q: %s", EnvTargets, entry, fmt.Sprintf(format, args...)))
	}
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		i := strings.IndexByte(entry, '=')
		if i < 0 {
			bad(entry, "want TYPE=TARGET")
			continue
		}
		rtype, target := strings.TrimSpace(entry[:i]), strings.TrimSpace(entry[i+1:])
		if rtype == "" {
			bad(entry, "no type before '='")
			continue
		}
		if target == "" {
			bad(entry, "no target for type %q", rtype)
			continue
		}
		var c Cleaner
		var err error
		switch {
		case strings.HasPrefix(strings.ToLower(target), "http://"), strings.HasPrefix(strings.ToLower(target), "https://"),
			strings.Contains(target, "://"):
			c, err = NewWebhook(target, opts)
		case lambda == nil:
			err = fmt.Errorf("%q is not an http(s) URL, and Lambda function targets are not supported here", target)
		default:
			c, err = lambda(target)
		}
		if err != nil {
			bad(entry, "%v", err)
			continue
		}
		switch {
		case rtype == "*" && t.All != nil, t.ByType[rtype] != nil:
			bad(entry, "type %q has a target already", rtype)
		case rtype == "*":
			t.All = c
		default:
			t.ByType[rtype] = c
		}
	}
	if len(errs) > 0 {
		return Targets{}, errors.Join(errs...)
	}
	return t, nil
}

// Settings are the janitor settings of a Lambda function's environment.
type Settings struct {
	// Targets from BOSKOS_JANITOR_TARGETS (empty: no janitor).
	Targets Targets
	// MaxFailures from BOSKOS_JANITOR_MAX_FAILURES (0: the default).
	MaxFailures int
	// Concurrency from BOSKOS_JANITOR_CONCURRENCY (0: the default).
	Concurrency int
}

// FromEnv reads Settings through lookup (os.LookupEnv in a main), with
// lambda for non-URL targets (see ParseTargets). It reports every problem
// at once, joined with errors.Join.
func FromEnv(lookup func(string) (string, bool), lambda TargetFactory) (Settings, error) {
	var s Settings
	var errs []error
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	if v, ok := get(EnvTargets); ok {
		t, err := ParseTargets(v, WebhookOptions{}, lambda)
		if err != nil {
			errs = append(errs, err)
		}
		s.Targets = t
	}
	for _, n := range []struct {
		name string
		dst  *int
	}{{EnvMaxFailures, &s.MaxFailures}, {EnvConcurrency, &s.Concurrency}} {
		v, ok := get(n.name)
		if !ok {
			continue
		}
		i, err := strconv.Atoi(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not an integer", n.name, v))
		case i <= 0:
			errs = append(errs, fmt.Errorf("%s: %q must be positive", n.name, v))
		default:
			*n.dst = i
		}
	}
	if len(errs) > 0 {
		return Settings{}, errors.Join(errs...)
	}
	return s, nil
}
