package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// DefaultTimeout bounds one request of a Client built without
// Options.HTTPClient.
const DefaultTimeout = 30 * time.Second

// maxBodyBytes bounds the answer the client reads (a /reset answer or an
// /acquirebystate of many resources is the largest).
const maxBodyBytes = 64 << 20

// Options configure a Client. The zero value is an anonymous client with
// its own http.Client (DefaultTimeout per request).
type Options struct {
	// HTTPClient sends the requests (default: an http.Client with
	// DefaultTimeout).
	HTTPClient *http.Client
	// Username, when not empty, is sent with Password as HTTP Basic
	// credentials on every request.
	Username string
	// Password goes with Username.
	Password string
	// OnQueue, if set, is called with the place in the queue of every
	// refused /acquire whose answer carries one (a request_id waiting:
	// see QueueInfo), before Acquire returns the refusal; AcquireWait
	// and masonclient's waits call it once per poll, so a waiting caller
	// can show where it stands.
	OnQueue func(QueueInfo)
}

// Client speaks the Boskos API as one owner. Create it with New.
type Client struct {
	base     *url.URL
	owner    string
	http     *http.Client
	username string
	password string
	onQueue  func(QueueInfo)
}

// New returns a client of the server at serverURL (http or https; its path
// is ignored, the API lives at the host root) that acquires, releases and
// updates as owner. It fails on an invalid URL or an empty owner.
func New(serverURL, owner string, opts Options) (*Client, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("invalid server URL %q: %w", serverURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("invalid server URL %q: want http(s)://host[:port]", serverURL)
	}
	if owner == "" {
		return nil, errors.New("client: the owner must not be empty")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{base: u, owner: owner, http: hc, username: opts.Username, password: opts.Password, onQueue: opts.OnQueue}, nil
}

// Owner returns the owner the client acts as.
func (c *Client) Owner() string { return c.owner }

// Acquire leases one resource of rtype in state, moving it to dest (POST
// /acquire), and returns it with its epoch. A non-empty requestID places
// the call in the server's request queue for (rtype, state): poll again
// with the same id to keep the place (see AcquireWait). Nothing free (or
// the caller's turn not come) is a 404 that matches ErrNotFound; an
// unknown type also matches ErrTypeNotFound. With a requestID the 404 may
// say where the id waits (QueueOf; Options.OnQueue).
func (c *Client) Acquire(ctx context.Context, rtype, state, dest, requestID string) (boskos.Resource, error) {
	q := url.Values{"type": {rtype}, "state": {state}, "dest": {dest}, "owner": {c.owner}}
	if requestID != "" {
		q.Set("request_id", requestID)
	}
	b, err := c.do(ctx, http.MethodPost, "/acquire", q, nil)
	if err != nil {
		if p, ok := QueueOf(err); ok && c.onQueue != nil {
			c.onQueue(p)
		}
		return boskos.Resource{}, err
	}
	var r boskos.Resource
	if err := json.Unmarshal(b, &r); err != nil {
		return boskos.Resource{}, fmt.Errorf("acquire: decoding %q: %w", b, err)
	}
	if r.Name == "" {
		return boskos.Resource{}, fmt.Errorf("acquire: unable to parse resource %q", b)
	}
	return r, nil
}

// AcquireWait polls Acquire with requestID every interval until it
// succeeds, fails with an answer other than 404, 401 or 429, or ctx ends; it
// then returns the last refusal (a 404 matching ErrNotFound, the 401
// that upstream's client calls ErrAlreadyInUse, or a 429 over a quota,
// whose request_id keeps its place) rather than the
// interrupted request. An empty requestID polls without a place in the
// queue; interval must be positive.
func (c *Client) AcquireWait(ctx context.Context, rtype, state, dest, requestID string, interval time.Duration) (boskos.Resource, error) {
	if interval <= 0 {
		return boskos.Resource{}, fmt.Errorf("client: AcquireWait: the interval must be positive, got %v", interval)
	}
	var refused error // the last 404, 401 or 429
	for {
		res, err := c.Acquire(ctx, rtype, state, dest, requestID)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil && refused != nil {
			return boskos.Resource{}, refused
		}
		if !IsStatus(err, http.StatusNotFound) && !IsStatus(err, http.StatusUnauthorized) && !IsStatus(err, http.StatusTooManyRequests) {
			return boskos.Resource{}, err
		}
		refused = err
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return boskos.Resource{}, err
		case <-t.C:
		}
	}
}

// AcquireByState leases every resource named in names that is in state
// and unowned, moving each to dest (POST /acquirebystate), and returns
// them. This project's server does it all or nothing: a name missing, in
// another state or owned is a 404 matching ErrNotFound and nothing is
// acquired (upstream's server keeps what it matched). names must not be
// empty (the server answers 400).
func (c *Client) AcquireByState(ctx context.Context, state, dest string, names []string) ([]boskos.Resource, error) {
	q := url.Values{"state": {state}, "dest": {dest}, "owner": {c.owner}, "names": {strings.Join(names, ",")}}
	b, err := c.do(ctx, http.MethodPost, "/acquirebystate", q, nil)
	if err != nil {
		return nil, err
	}
	var rs []boskos.Resource
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("acquirebystate: decoding %q: %w", b, err)
	}
	return rs, nil
}

// Release hands the resource name back, unowned, in state dest (POST
// /release). A non-zero epoch (acquire's fencing token; leases have epochs
// from 1) is sent, so that a holder whose lease was reaped and acquired
// again gets 409 instead of releasing it. Another owner's resource is a
// 401, an unknown one a 404.
func (c *Client) Release(ctx context.Context, name, dest string, epoch int64) error {
	q := url.Values{"name": {name}, "dest": {dest}, "owner": {c.owner}}
	setEpoch(q, epoch)
	_, err := c.do(ctx, http.MethodPost, "/release", q, nil)
	return err
}

// Update is the heartbeat (POST /update): it tells the server the lease of
// name, in state, is alive (the reaper resets leases that stop updating),
// and merges ud into the resource's user data (a "" value deletes a key).
// A nil ud sends no body. A non-zero epoch is sent as for Release. Errors:
// 404 unknown, 401 another owner's, 409 in another state or a stale epoch.
func (c *Client) Update(ctx context.Context, name, state string, ud boskos.UserData, epoch int64) error {
	var body []byte
	if ud != nil {
		b, err := json.Marshal(ud)
		if err != nil {
			return err
		}
		body = append(b, '\n')
	}
	q := url.Values{"name": {name}, "state": {state}, "owner": {c.owner}}
	setEpoch(q, epoch)
	_, err := c.do(ctx, http.MethodPost, "/update", q, body)
	return err
}

// Reset moves every owned resource of rtype in state not updated for
// expire to dest, unowned (POST /reset, what the reaper calls), and returns
// the reset names with their previous owners. expire is sent as
// time.Duration's String ("30m0s"), as upstream's client does.
func (c *Client) Reset(ctx context.Context, rtype, state string, expire time.Duration, dest string) (map[string]string, error) {
	q := url.Values{"type": {rtype}, "state": {state}, "expire": {expire.String()}, "dest": {dest}}
	b, err := c.do(ctx, http.MethodPost, "/reset", q, nil)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reset: decoding %q: %w", b, err)
	}
	return m, nil
}

// Metric returns the counts of rtype's resources by state and by owner
// (GET /metric); a type with no resources is a 404.
func (c *Client) Metric(ctx context.Context, rtype string) (boskos.Metric, error) {
	b, err := c.do(ctx, http.MethodGet, "/metric", url.Values{"type": {rtype}}, nil)
	if err != nil {
		return boskos.Metric{}, err
	}
	var m boskos.Metric
	if err := json.Unmarshal(b, &m); err != nil {
		return boskos.Metric{}, fmt.Errorf("metric: decoding %q: %w", b, err)
	}
	return m, nil
}

// setEpoch adds a non-zero epoch to q.
func setEpoch(q url.Values, epoch int64) {
	if epoch != 0 {
		q.Set("epoch", strconv.FormatInt(epoch, 10))
	}
}

// do sends one request to path with query q and returns the body of a 200;
// any other status is a *StatusError.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, error) {
	u := *c.base
	u.Path = path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.username != "" {
		req.SetBasicAuth(c.username, c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading body: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, newStatusError(path, resp.Status, resp.StatusCode, string(b), resp.Header)
	}
	return b, nil
}
