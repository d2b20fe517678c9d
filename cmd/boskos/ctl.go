package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/client"
	"github.com/boskos-serverless/boskos/core/client/masonclient"
)

// ctlFlags are the global flags of boskosctl, accepted by every client
// subcommand.
type ctlFlags struct {
	serverURL    string
	ownerName    string
	username     string
	passwordFile string
}

func (f *ctlFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.serverURL, "server-url", "", "URL of the Boskos server (required)")
	fs.StringVar(&f.ownerName, "owner-name", "", "Name identifying the user of this client (required)")
	fs.StringVar(&f.username, "username", "", "Username used to access the Boskos server")
	fs.StringVar(&f.passwordFile, "password-file", "", "The path to password file used to access the Boskos server")
}

// client checks the global flags and returns a client; onQueue, if set,
// sees the place of every refused /acquire (client.Options.OnQueue).
func (f *ctlFlags) client(onQueue ...func(client.QueueInfo)) (*client.Client, error) {
	var missing []string
	if f.serverURL == "" {
		missing = append(missing, `"server-url"`)
	}
	if f.ownerName == "" {
		missing = append(missing, `"owner-name"`)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("required flag(s) %s not set", strings.Join(missing, ", "))
	}
	if (f.username == "") != (f.passwordFile == "") {
		return nil, errors.New("username and passwordFile must be specified together")
	}
	opts := client.Options{Username: f.username}
	if len(onQueue) > 0 {
		opts.OnQueue = onQueue[0]
	}
	if f.username != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("reading password file: %w", err)
		}
		opts.Password = strings.TrimSpace(string(b))
	}
	return client.New(f.serverURL, f.ownerName, opts)
}

// requireFlags returns an error naming the flags among names left empty.
func requireFlags(vals map[string]string, names ...string) error {
	var missing []string
	for _, n := range names {
		if vals[n] == "" {
			missing = append(missing, strconv.Quote(n))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("required flag(s) %s not set", strings.Join(missing, ", "))
	}
	return nil
}

// cmdAcquire is `boskos acquire`, boskosctl's acquire: one attempt, or with
// --timeout a wait in the request queue (a random request_id, polled every
// --poll-interval; the place in the queue goes to stderr whenever the
// server reports a new one, "waiting: position 3 of 5"). It prints the
// resource JSON and a newline.
//
// With --mason it acquires a Mason virtual resource of --type and the
// physical resources its leasedResources lists (package masonclient), all
// moved to --target-state, and prints one JSON line per resource: the
// virtual one first, then each leased one, in the list's order. If the
// leased resources cannot be taken, everything acquired is released as
// dirty and the command fails (a --timeout wait stops there too).
func cmdAcquire(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acquire", stderr)
	var g ctlFlags
	g.register(fs)
	rtype := fs.String("type", "", "Type of resource to acquire (required)")
	state := fs.String("state", "", "State to acquire the resource in (required)")
	target := fs.String("target-state", "", "Move resource to this state after acquiring (required)")
	timeout := fs.Duration("timeout", 0, "If set, retry this long until the resource has been acquired")
	poll := fs.Duration("poll-interval", 3*time.Second, "How often to retry while waiting (with --timeout)")
	mason := fs.Bool("mason", false, "Acquire a Mason virtual resource with the physical resources its \"leasedResources\" user data lists (taken from state <virtual name> to --target-state); print one JSON line per resource, the virtual one first. If they cannot all be taken, everything acquired is released as dirty")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if err := requireFlags(map[string]string{"type": *rtype, "state": *state, "target-state": *target}, "type", "state", "target-state"); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	if *timeout < 0 {
		fmt.Fprintf(stderr, "Error: --timeout must not be negative\n")
		return 2
	}
	if *timeout > 0 && *poll <= 0 {
		fmt.Fprintf(stderr, "Error: --poll-interval must be positive\n")
		return 2
	}
	var onQueue []func(client.QueueInfo)
	if *timeout > 0 {
		onQueue = append(onQueue, waitPrinter(stderr))
	}
	c, err := g.client(onQueue...)
	if err != nil {
		fmt.Fprintf(stderr, "failed to initialize the Boskos client: %v\n", err)
		return 1
	}
	got, err := acquireLines(ctx, c, *mason, *rtype, *state, *target, *timeout, *poll)
	if err != nil {
		if errors.Is(err, client.ErrNotFound) {
			err = client.ErrNotFound // upstream's text alone, as boskosctl prints it
		}
		fmt.Fprintf(stderr, "failed to acquire a resource: %v\n", err)
		return 1
	}
	for _, res := range got {
		raw, err := json.Marshal(res)
		if err != nil {
			fmt.Fprintf(stderr, "failed to marshal acquired resource: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, string(raw))
	}
	return 0
}

// waitPrinter returns the OnQueue of a waiting `boskos acquire --timeout`:
// it prints the place in the queue to w, "waiting: position 3 of 5" (and
// ", about 42s" with the server's estimate), each time it changes.
func waitPrinter(w io.Writer) func(client.QueueInfo) {
	var last *client.QueueInfo
	return func(q client.QueueInfo) {
		if last != nil && *last == q {
			return
		}
		last = &q
		line := fmt.Sprintf("waiting: position %d of %d", q.Position, q.Length)
		if q.EstimatedWait > 0 {
			line += fmt.Sprintf(", about %s", q.EstimatedWait)
		}
		fmt.Fprintln(w, line)
	}
}

// acquireLines does the acquire of cmdAcquire and returns the resources to
// print: the one acquired, or with mason the virtual one and its leased
// ones. A positive timeout waits in the request queue with a random
// request_id, polling every poll.
func acquireLines(ctx context.Context, c *client.Client, mason bool, rtype, state, dest string, timeout, poll time.Duration) ([]boskos.Resource, error) {
	requestID := strconv.Itoa(rand.Int())
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if mason {
		mc := masonclient.New(c)
		var r masonclient.Resource
		var err error
		if timeout == 0 {
			r, err = mc.Acquire(ctx, rtype, state, dest)
		} else {
			r, err = mc.AcquireWait(ctx, rtype, state, dest, requestID, poll)
		}
		if err != nil {
			return nil, err
		}
		return append([]boskos.Resource{r.Virtual}, r.Leased...), nil
	}
	var r boskos.Resource
	var err error
	if timeout == 0 {
		r, err = c.Acquire(ctx, rtype, state, dest, "")
	} else {
		r, err = c.AcquireWait(ctx, rtype, state, dest, requestID, poll)
	}
	if err != nil {
		return nil, err
	}
	return []boskos.Resource{r}, nil
}

// cmdRelease is `boskos release`, boskosctl's release.
//
// With --mason, --name is a Mason virtual resource and --leased the names
// of its leased resources, as `boskos acquire --mason` printed them (the
// API has no read of one resource, so the command cannot look them up):
// each leased resource and then the virtual one go to --target-state
// (masonclient.Release), and every failure is reported.
func cmdRelease(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("release", stderr)
	var g ctlFlags
	g.register(fs)
	name := fs.String("name", "", "Name of the resource lease to release (required)")
	target := fs.String("target-state", "", "Move resource to this state after releasing (required)")
	epoch := fs.Int64("epoch", 0, "The epoch of the lease (the \"epoch\" of acquire's output): the release then fails with 409 if the lease was reaped and given to someone else (0: not sent)")
	mason := fs.Bool("mason", false, "--name is a Mason virtual resource: release its leased resources (--leased) first, then it; --epoch is the virtual resource's")
	leased := fs.String("leased", "", "With --mason (required there, may be empty): comma-separated names of the virtual resource's leased resources, as boskos acquire --mason printed them")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if err := requireFlags(map[string]string{"name": *name, "target-state": *target}, "name", "target-state"); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	leasedSet := false
	fs.Visit(func(f *flag.Flag) { leasedSet = leasedSet || f.Name == "leased" })
	if *mason && !leasedSet {
		fmt.Fprintf(stderr, "Error: --mason needs --leased (the names of the leased resources boskos acquire --mason printed; \"\" for none)\n")
		return 2
	}
	if !*mason && leasedSet {
		fmt.Fprintf(stderr, "Error: --leased goes with --mason\n")
		return 2
	}
	c, err := g.client()
	if err != nil {
		fmt.Fprintf(stderr, "failed to initialize the Boskos client: %v\n", err)
		return 1
	}
	if *epoch < 0 {
		fmt.Fprintf(stderr, "Error: --epoch must not be negative\n")
		return 2
	}
	if *mason {
		r := masonclient.Resource{Virtual: boskos.Resource{Name: *name, Epoch: *epoch}}
		for _, n := range strings.Split(*leased, ",") {
			if n = strings.TrimSpace(n); n != "" {
				r.Leased = append(r.Leased, boskos.Resource{Name: n})
			}
		}
		if err := masonclient.Release(ctx, c, r, *target); err != nil {
			fmt.Fprintf(stderr, "failed to release resource %q: %v\n", *name, err)
			return 1
		}
		for _, n := range append(r.LeasedNames(), *name) {
			fmt.Fprintf(stdout, "released resource %q\n", n)
		}
		return 0
	}
	if err := c.Release(ctx, *name, *target, *epoch); err != nil {
		fmt.Fprintf(stderr, "failed to release resource %q: %v\n", *name, err)
		return 1
	}
	fmt.Fprintf(stdout, "released resource %q\n", *name)
	return 0
}

// cmdMetrics is `boskos metrics`, boskosctl's metrics.
func cmdMetrics(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("metrics", stderr)
	var g ctlFlags
	g.register(fs)
	rtype := fs.String("type", "", "Type of resource to get metrics for (required)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if err := requireFlags(map[string]string{"type": *rtype}, "type"); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	c, err := g.client()
	if err != nil {
		fmt.Fprintf(stderr, "failed to initialize the Boskos client: %v\n", err)
		return 1
	}
	m, err := c.Metric(ctx, *rtype)
	if err != nil {
		fmt.Fprintf(stderr, "failed to get metrics for resource %q: %v\n", *rtype, err)
		return 1
	}
	raw, err := json.Marshal(m)
	if err != nil {
		fmt.Fprintf(stderr, "failed to marshal metrics for resource %q: %v\n", *rtype, err)
		return 1
	}
	fmt.Fprintln(stdout, string(raw))
	return 0
}

// cmdHeartbeat is `boskos heartbeat`, boskosctl's heartbeat: every --period
// it sends /update for the resource given as JSON, until --timeout or an
// interrupt (exit 0), or more than --retries failures in a row (exit 1).
func cmdHeartbeat(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("heartbeat", stderr)
	var g ctlFlags
	g.register(fs)
	resJSON := fs.String("resource", "", "JSON resource lease object to send heartbeat for (required)")
	period := fs.Duration("period", 30*time.Second, "Period to send heartbeats on")
	timeout := fs.Duration("timeout", 5*time.Hour, "How long to send heartbeats for")
	retries := fs.Int("retries", 10, "How many failed heartbeats to tolerate")
	epoch := fs.Int64("epoch", 0, "The epoch of the lease (default: the \"epoch\" of --resource; 0 there: not sent); a heartbeat with a stale epoch (the lease was reaped and given to someone else) fails with 409 and stops at once")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if err := requireFlags(map[string]string{"resource": *resJSON}, "resource"); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	if *period <= 0 {
		fmt.Fprintf(stderr, "Error: --period must be positive\n")
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "Error: --timeout must be positive\n")
		return 2
	}
	if *retries < 0 {
		fmt.Fprintf(stderr, "Error: --retries must not be negative\n")
		return 2
	}
	c, err := g.client()
	if err != nil {
		fmt.Fprintf(stderr, "failed to initialize the Boskos client: %v\n", err)
		return 1
	}
	var res boskos.Resource
	if err := json.Unmarshal([]byte(*resJSON), &res); err != nil {
		fmt.Fprintf(stderr, "failed to parse resource: %v\n", err)
		return 1
	}
	if res.Name == "" || res.State == "" {
		fmt.Fprintf(stderr, "failed to parse resource: name and state must be set\n")
		return 1
	}
	if *epoch < 0 {
		fmt.Fprintf(stderr, "Error: --epoch must not be negative\n")
		return 2
	}
	if *epoch != 0 {
		res.Epoch = *epoch
	}
	tctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	tick := time.NewTicker(*period)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-tick.C:
			if err := c.Update(tctx, res.Name, res.State, res.UserData, res.Epoch); err != nil {
				if client.IsStatus(err, http.StatusConflict) && res.Epoch != 0 {
					// Fenced out: retrying cannot win the lease back.
					fmt.Fprintf(stderr, "lost the lease of resource %q (epoch %d): %v\n", res.Name, res.Epoch, err)
					return 1
				}
				fmt.Fprintf(stderr, "failed to send heartbeat for resource %q: %v\n", res.Name, err)
				failures++
				if failures > *retries {
					return 1
				}
			} else {
				failures = 0
				fmt.Fprintf(stdout, "heartbeat sent for resource %q\n", res.Name)
			}
		case <-ctx.Done():
			fmt.Fprintf(stdout, "received interrupt, stopping heartbeats for resource %q\n", res.Name)
			return 0
		case <-tctx.Done():
			fmt.Fprintf(stdout, "reached timeout, stopping heartbeats for resource %q\n", res.Name)
			return 0
		}
	}
}
