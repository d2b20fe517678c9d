package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: boskos <command> [flags]

Commands:
  serve             run the Boskos API server (local, embedded store by default)
  config validate   check a resources config file and print every error
  config apply      sync a store (bolt or DynamoDB) to a resources config file once
  config push       validate a resources config file, then upload it to S3 (the reconciler function's source)
  acquire           acquire a resource lease (boskosctl compatible; --mason: a Mason virtual resource and its leased ones)
  release           release a resource lease (boskosctl compatible; --mason --leased NAMES: a virtual resource and its leased ones)
  metrics           print the metric of a resource type (boskosctl compatible)
  heartbeat         send periodic heartbeats for a lease (boskosctl compatible)
  history NAME      print a resource's lease history, newest first (--json: the API's JSON)
  usage             print resource-hours per owner and type over a range (--since, --until; --json)
  resources         list resources with their state, owner, lease time and last heartbeat (--type, --state, --owner; --json)
  queue TYPE        list the request_ids waiting for a resource of TYPE, with their rank and wait (--state; --json)
  credentials add   add or replace a principal in a credentials file (serve --credentials)
  bench             measure acquire/release cycles per second against a server
  table create      create the DynamoDB table
  table delete      delete the DynamoDB table

Run 'boskos <command> -h' for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status: 0 success,
// 1 failure, 2 usage error. ctx ends on SIGINT/SIGTERM.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr, nil)
	case "config":
		switch {
		case len(rest) > 0 && rest[0] == "validate":
			return cmdConfigValidate(rest[1:], stdout, stderr)
		case len(rest) > 0 && rest[0] == "apply":
			return cmdConfigApply(ctx, rest[1:], stdout, stderr)
		case len(rest) > 0 && rest[0] == "push":
			return cmdConfigPush(ctx, rest[1:], stdout, stderr)
		}
		fmt.Fprint(stderr, "Usage: boskos config validate FILE\n       boskos config apply --config FILE --store SPEC\n       boskos config push --config FILE --to s3://BUCKET/KEY\n")
		return 2
	case "acquire":
		return cmdAcquire(ctx, rest, stdout, stderr)
	case "release":
		return cmdRelease(ctx, rest, stdout, stderr)
	case "metrics":
		return cmdMetrics(ctx, rest, stdout, stderr)
	case "heartbeat":
		return cmdHeartbeat(ctx, rest, stdout, stderr)
	case "history":
		return cmdHistory(ctx, rest, stdout, stderr)
	case "usage":
		return cmdUsage(ctx, rest, stdout, stderr)
	case "resources":
		return cmdResources(ctx, rest, stdout, stderr)
	case "queue":
		return cmdQueue(ctx, rest, stdout, stderr)
	case "credentials":
		return cmdCredentials(rest, os.Stdin, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, stdout, stderr)
	case "table":
		if len(rest) == 0 || (rest[0] != "create" && rest[0] != "delete") {
			fmt.Fprint(stderr, "Usage: boskos table create|delete --table NAME [--endpoint URL] [--region R]\n")
			return 2
		}
		return cmdTable(ctx, rest[0], rest[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "boskos: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("boskos "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args; done is true when the command must stop with
// code (help asked: 0, bad flags or stray arguments: 2).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return 2, true
	}
	return 0, false
}
