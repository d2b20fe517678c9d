package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/client"
)

// readFlags are the flags of the read commands: the server and its
// credentials (boskosctl's names; --owner-name is accepted and unused), the
// output format and the paging.
type readFlags struct {
	ctl    ctlFlags
	json   bool
	limit  int
	cursor string
}

func (f *readFlags) register(fs *flag.FlagSet) {
	f.ctl.register(fs)
	fs.BoolVar(&f.json, "json", false, "Print the API's JSON ({\"items\": [...], \"cursor\": ...}) instead of a table")
	fs.IntVar(&f.limit, "limit", 0, fmt.Sprintf("Ask for one page of at most this many items (1..%d; then --cursor gets the next one); 0: every page", boskos.MaxPageLimit))
	fs.StringVar(&f.cursor, "cursor", "", "With --limit: the cursor of the previous page")
}

// reader returns a client of the read API (no owner needed).
func (f *readFlags) reader() (*client.Client, error) {
	if f.ctl.serverURL == "" {
		return nil, errors.New(`required flag(s) "server-url" not set`)
	}
	owner := f.ctl.ownerName
	if owner == "" {
		owner = "-" // the read API takes no owner
	}
	g := f.ctl
	g.ownerName = owner
	return g.client()
}

// parseWithPositional parses args, allowing at most want positional
// arguments anywhere among the flags (boskos queue TYPE --state s).
func parseWithPositional(fs *flag.FlagSet, args []string, want int) (pos []string, code int, done bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, true
			}
			return nil, 2, true
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) > want {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q\n", fs.Name(), pos[want:])
		return nil, 2, true
	}
	return pos, 0, false
}

// collect returns the items of one page (with --limit) or of every page,
// and the cursor of the next page (only with --limit).
func collect[T any](ctx context.Context, f *readFlags, page func(context.Context, boskos.PageRequest) (boskos.Page[T], error)) (boskos.Page[T], error) {
	if f.limit != 0 {
		return page(ctx, boskos.PageRequest{Limit: f.limit, Cursor: f.cursor})
	}
	items, _, err := client.Collect(ctx, 0, func(ctx context.Context, cursor string) (boskos.Page[T], error) {
		return page(ctx, boskos.PageRequest{Limit: boskos.MaxPageLimit, Cursor: cursor})
	})
	return boskos.Page[T]{Items: items}, err
}

// cmdResources is `boskos resources`: the resources the filters select
// (GET /v1/resources), as an aligned table or the API's JSON.
func cmdResources(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("resources", stderr)
	var f readFlags
	f.register(fs)
	rtype := fs.String("type", "", "Only resources of this type")
	state := fs.String("state", "", "Only resources in this state")
	owner := fs.String("owner", "", "Only resources this owner holds")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	return listCmd(ctx, &f, stdout, stderr, "resources", func(ctx context.Context, c *client.Client, p boskos.PageRequest) (boskos.Page[boskos.ResourceInfo], error) {
		return c.Resources(ctx, boskos.ResourceFilter{Type: *rtype, State: *state, Owner: *owner}, p)
	}, resourcesTable)
}

// cmdQueue is `boskos queue TYPE`: the request_ids waiting for resources
// of TYPE (GET /v1/queue), with their rank and how long they have waited.
func cmdQueue(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("queue", stderr)
	var f readFlags
	f.register(fs)
	state := fs.String("state", "", "Only the queue of this state (default: every state of TYPE)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: boskos queue TYPE [flags]\n")
		fs.PrintDefaults()
	}
	pos, code, done := parseWithPositional(fs, args, 1)
	if done {
		return code
	}
	if len(pos) != 1 || pos[0] == "" {
		fmt.Fprintf(stderr, "Error: the resource type is required: boskos queue TYPE\n")
		return 2
	}
	rtype := pos[0]
	return listCmd(ctx, &f, stdout, stderr, "queue", func(ctx context.Context, c *client.Client, p boskos.PageRequest) (boskos.Page[boskos.QueueEntry], error) {
		return c.Queue(ctx, boskos.QueueFilter{Type: rtype, State: *state}, p)
	}, queueTable)
}

// listCmd runs a read command: the client, the pages, the output.
func listCmd[T any](ctx context.Context, f *readFlags, stdout, stderr io.Writer, what string,
	page func(context.Context, *client.Client, boskos.PageRequest) (boskos.Page[T], error),
	table func(io.Writer, []T)) int {
	if f.cursor != "" && f.limit == 0 {
		fmt.Fprintf(stderr, "Error: --cursor needs --limit\n")
		return 2
	}
	c, err := f.reader()
	if err != nil {
		fmt.Fprintf(stderr, "failed to initialize the Boskos client: %v\n", err)
		return 1
	}
	p, err := collect(ctx, f, func(ctx context.Context, r boskos.PageRequest) (boskos.Page[T], error) { return page(ctx, c, r) })
	if err != nil {
		fmt.Fprintf(stderr, "failed to list the %s: %v\n", what, err)
		return 1
	}
	if f.json {
		b, err := json.Marshal(p)
		if err != nil {
			fmt.Fprintf(stderr, "failed to marshal the %s: %v\n", what, err)
			return 1
		}
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	table(stdout, p.Items)
	if p.Cursor != "" {
		fmt.Fprintf(stderr, "more: --limit %d --cursor %s\n", f.limit, p.Cursor)
	}
	return 0
}

func resourcesTable(out io.Writer, items []boskos.ResourceInfo) {
	reasons := false
	for _, r := range items {
		reasons = reasons || r.QuarantineReason != ""
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	head := "NAME\tTYPE\tSTATE\tOWNER\tHELD FOR\tEPOCH\tLAST HEARTBEAT"
	if reasons {
		head += "\tREASON"
	}
	fmt.Fprintln(tw, head)
	for _, r := range items {
		owner, held := dash(r.Owner), "-"
		if r.Owner != "" && r.HeldSeconds != nil {
			held = humanSeconds(*r.HeldSeconds)
		}
		line := strings.Join([]string{cell(r.Name), cell(r.Type), cell(r.State), cell(owner), held, strconv.FormatInt(r.Epoch, 10), humanSeconds(r.IdleSeconds) + " ago"}, "\t")
		if reasons {
			line += "\t" + cell(dash(r.QuarantineReason))
		}
		fmt.Fprintln(tw, line)
	}
	_ = tw.Flush()
}

func queueTable(out io.Writer, items []boskos.QueueEntry) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tRANK\tREQUEST ID\tWAITING\tNOTE")
	for _, e := range items {
		note := "-"
		if e.Blocked {
			note = "over quota (keeps its place)"
		}
		fmt.Fprintln(tw, strings.Join([]string{cell(e.State), strconv.Itoa(e.Rank), cell(e.RequestID), humanSeconds(e.AgeSeconds), note}, "\t"))
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cell keeps a value on its line and out of the next column: tabs and line
// breaks (a quarantine reason may hold them) become spaces.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// humanSeconds writes n seconds as 45s, 3m07s, 2h05m or 3d04h.
func humanSeconds(n int64) string {
	d := time.Duration(n) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", n)
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", n/60, n%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", n/3600, n/60%60)
	}
	return fmt.Sprintf("%dd%02dh", n/86400, n/3600%24)
}
