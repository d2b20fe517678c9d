package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/client"
)

// readOwner is the owner of the read-only commands' client when
// --owner-name is not given (reads act as nobody).
const readOwner = "boskos-cli"

// readClient is ctlFlags.client for the read commands: --owner-name is
// optional.
func (f *ctlFlags) readClient() (*client.Client, error) {
	if f.ownerName == "" {
		f.ownerName = readOwner
	}
	return f.client()
}

// splitName takes the one positional argument NAME from args, before or
// after the flags.
func splitName(args []string) (name string, rest []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	if n := len(args); n > 0 && !strings.HasPrefix(args[n-1], "-") && (n < 2 || !needsValue(args[n-2])) {
		return args[n-1], args[:n-1]
	}
	return "", args
}

// needsValue reports whether flag arg takes the next argument as its value.
func needsValue(arg string) bool {
	if !strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") {
		return false
	}
	switch strings.TrimLeft(arg, "-") {
	case "json", "h", "help":
		return false
	}
	return true
}

// parseWhen reads a --since/--until value: an RFC 3339 time, or a
// duration meaning that long before now ("24h").
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: want an RFC 3339 time (2006-01-02T15:04:05Z) or a duration before now (24h)", flag, v)
}

// seconds prints a duration in seconds compactly ("" for 0).
func seconds(s float64) string {
	if s == 0 {
		return ""
	}
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

// cmdHistory is `boskos history NAME`: the resource's records, newest
// first, as an aligned table (--json: the API's JSON, the pages merged).
func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name, args := splitName(args)
	fs := newFlagSet("history", stderr)
	var g ctlFlags
	g.register(fs)
	limit := fs.Int("limit", 100, "most records to print, newest first (0: all)")
	asJSON := fs.Bool("json", false, `print the API's JSON ({"items": [...], "cursor": "..."}) instead of a table`)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if name == "" {
		fmt.Fprint(stderr, "Usage: boskos history NAME --server-url URL [--limit N] [--json]\n")
		return 2
	}
	if *limit < 0 {
		fmt.Fprintf(stderr, "Error: --limit must not be negative\n")
		return 2
	}
	c, err := g.readClient()
	if err != nil {
		fmt.Fprintf(stderr, "failed to initialize the Boskos client: %v\n", err)
		return 1
	}
	var all boskos.HistoryPage
	all.Items = []boskos.HistoryRecord{}
	for {
		page := boskos.MaxPageLimit
		if *limit > 0 {
			page = min(page, *limit-len(all.Items))
		}
		p, err := c.ResourceHistory(ctx, name, page, all.Cursor)
		if err != nil {
			fmt.Fprintf(stderr, "failed to read the history of %q: %v\n", name, err)
			return 1
		}
		all.Items = append(all.Items, p.Items...)
		all.Cursor = p.Cursor
		if p.Cursor == "" || (*limit > 0 && len(all.Items) >= *limit) {
			break
		}
	}
	if *asJSON {
		return printJSON(stdout, stderr, all)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tFROM\tTO\tOWNER\tEPOCH\tDETAILS")
	for _, r := range all.Items {
		owner := r.Owner
		if owner == "" {
			owner = r.PrevOwner
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Time.UTC().Format(time.RFC3339), r.Event, r.FromState, r.ToState, owner, r.Epoch, details(r))
	}
	_ = tw.Flush()
	if all.Cursor != "" {
		fmt.Fprintf(stdout, "(older records not shown: --limit %d)\n", *limit)
	}
	return 0
}

// details is the DETAILS column of a record.
func details(r boskos.HistoryRecord) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("request_id", r.RequestID)
	add("waited", seconds(r.WaitedSeconds))
	add("held", seconds(r.HeldSeconds))
	add("idle", seconds(r.IdleSeconds))
	add("for", r.HeldFor)
	add("keys", strings.Join(r.Keys, ","))
	if r.Reason != "" {
		reason := r.Reason
		if len(reason) > 60 {
			reason = reason[:57] + "..."
		}
		add("reason", strconv.Quote(reason))
	}
	return strings.Join(parts, " ")
}

// cmdUsage is `boskos usage`: resource-hours per owner and type over
// [--since, --until] as an aligned table (--json: the API's JSON).
func cmdUsage(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("usage", stderr)
	var g ctlFlags
	g.register(fs)
	since := fs.String("since", "", "start of the range: an RFC 3339 time or a duration before now, e.g. 168h (default: 30 days before --until)")
	until := fs.String("until", "", "end of the range: an RFC 3339 time or a duration before now (default: now)")
	rtype := fs.String("type", "", "count only this resource type")
	asJSON := fs.Bool("json", false, `print the API's JSON ({"since", "until", "items": [...]}) instead of a table`)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	now := time.Now()
	q := boskos.UsageQuery{Type: *rtype, Limit: boskos.MaxPageLimit}
	var err error
	if q.Since, err = parseWhen("since", *since, now); err == nil {
		q.Until, err = parseWhen("until", *until, now)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	c, err := g.readClient()
	if err != nil {
		fmt.Fprintf(stderr, "failed to initialize the Boskos client: %v\n", err)
		return 1
	}
	var rep boskos.UsageReport
	for {
		p, err := c.Usage(ctx, q)
		if err != nil {
			fmt.Fprintf(stderr, "failed to read the usage: %v\n", err)
			return 1
		}
		rep.Since, rep.Until = p.Since, p.Until
		rep.Items = append(rep.Items, p.Items...)
		if p.Cursor == "" {
			break
		}
		q.Cursor = p.Cursor
	}
	if rep.Items == nil {
		rep.Items = []boskos.UsageRow{}
	}
	if *asJSON {
		return printJSON(stdout, stderr, rep)
	}
	fmt.Fprintf(stdout, "from %s to %s\n", rep.Since.UTC().Format(time.RFC3339), rep.Until.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "OWNER\tTYPE\tLEASES\tRESOURCE-HOURS\tCOST\t")
	for _, r := range rep.Items {
		cost := ""
		if r.Cost != nil {
			cost = strconv.FormatFloat(*r.Cost, 'f', 2, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%s\t\n", r.Owner, r.Type, r.Leases, r.ResourceHours, cost)
	}
	_ = tw.Flush()
	return 0
}

func printJSON(stdout, stderr io.Writer, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(stderr, "failed to marshal: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, string(b))
	return 0
}
