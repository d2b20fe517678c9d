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

// client checks the global flags and returns a client.
func (f *ctlFlags) client() (*apiClient, error) {
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
	c, err := newAPIClient(f.serverURL, f.ownerName, nil)
	if err != nil {
		return nil, err
	}
	if f.username != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("reading password file: %w", err)
		}
		c.username, c.password = f.username, strings.TrimSpace(string(b))
	}
	return c, nil
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
// --poll-interval). It prints the resource JSON and a newline.
func cmdAcquire(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acquire", stderr)
	var g ctlFlags
	g.register(fs)
	rtype := fs.String("type", "", "Type of resource to acquire (required)")
	state := fs.String("state", "", "State to acquire the resource in (required)")
	target := fs.String("target-state", "", "Move resource to this state after acquiring (required)")
	timeout := fs.Duration("timeout", 0, "If set, retry this long until the resource has been acquired")
	poll := fs.Duration("poll-interval", 3*time.Second, "How often to retry while waiting (with --timeout)")
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
	c, err := g.client()
	if err != nil {
		fmt.Fprintf(stderr, "failed to initialize the Boskos client: %v\n", err)
		return 1
	}
	var res boskos.Resource
	if *timeout == 0 {
		res, err = c.acquire(ctx, *rtype, *state, *target, "")
	} else {
		wctx, cancel := context.WithTimeout(ctx, *timeout)
		res, err = acquireWait(wctx, c, *rtype, *state, *target, strconv.Itoa(rand.Int()), *poll)
		cancel()
	}
	if err != nil {
		if isStatus(err, 404) {
			err = errNotFound
		}
		fmt.Fprintf(stderr, "failed to acquire a resource: %v\n", err)
		return 1
	}
	raw, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintf(stderr, "failed to marshal acquired resource: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, string(raw))
	return 0
}

// acquireWait polls /acquire with requestID until it succeeds, fails with
// something other than 404, 401 or 429 (over quota: the request_id keeps
// its place while it waits), or ctx ends (then the last error).
func acquireWait(ctx context.Context, c *apiClient, rtype, state, dest, requestID string, every time.Duration) (boskos.Resource, error) {
	var refused error // the last 404, 401 or 429
	for {
		res, err := c.acquire(ctx, rtype, state, dest, requestID)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil && refused != nil {
			// The wait ran out during a request: the answer is what the
			// server last said, not the interrupted request.
			return boskos.Resource{}, refused
		}
		if !isStatus(err, http.StatusNotFound) && !isStatus(err, http.StatusUnauthorized) && !isStatus(err, http.StatusTooManyRequests) {
			return boskos.Resource{}, err
		}
		refused = err
		select {
		case <-ctx.Done():
			return boskos.Resource{}, err
		case <-time.After(every):
		}
	}
}

// cmdRelease is `boskos release`, boskosctl's release.
func cmdRelease(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("release", stderr)
	var g ctlFlags
	g.register(fs)
	name := fs.String("name", "", "Name of the resource lease to release (required)")
	target := fs.String("target-state", "", "Move resource to this state after releasing (required)")
	epoch := fs.Int64("epoch", 0, "The epoch of the lease (the \"epoch\" of acquire's output): the release then fails with 409 if the lease was reaped and given to someone else (0: not sent)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if err := requireFlags(map[string]string{"name": *name, "target-state": *target}, "name", "target-state"); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
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
	if err := c.release(ctx, *name, *target, *epoch); err != nil {
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
	m, err := c.metric(ctx, *rtype)
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
			if err := c.update(tctx, res.Name, res.State, res.UserData, res.Epoch); err != nil {
				if isStatus(err, http.StatusConflict) && res.Epoch != 0 {
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
