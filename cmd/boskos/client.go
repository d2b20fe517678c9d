package main

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

// errNotFound is what a 404 from /acquire or /acquirebystate becomes, with
// the text of the upstream client's ErrNotFound.
var errNotFound = errors.New("resources not found")

// statusError is a non-200 answer of the server.
type statusError struct {
	Status string // e.g. "404 Not Found"
	Code   int
	Body   string
}

func (e *statusError) Error() string {
	msg := strings.TrimSpace(e.Body)
	if msg == "" {
		return fmt.Sprintf("status %s", e.Status)
	}
	return fmt.Sprintf("status %s: %s", e.Status, msg)
}

// apiClient is a small client of the Boskos HTTP API. Unlike the upstream Go
// client it keeps no local state and does not retry: callers see every
// answer (the bench counts them, the boskosctl-style commands print them).
type apiClient struct {
	base  *url.URL
	owner string
	http  *http.Client
	// username and password, when username is set, are sent as HTTP Basic
	// auth on every request (as the upstream client does).
	username string
	password string
}

// newAPIClient returns a client for the server at serverURL (its path is
// ignored: the API lives at the host root, as for the upstream client).
func newAPIClient(serverURL, owner string, hc *http.Client) (*apiClient, error) {
	u, err := newBase(serverURL)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &apiClient{base: u, owner: owner, http: hc}, nil
}

// newBase parses and checks a server URL.
func newBase(serverURL string) (*url.URL, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("invalid server URL %q: %w", serverURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("invalid server URL %q: want http(s)://host[:port]", serverURL)
	}
	return u, nil
}

func (c *apiClient) do(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, error) {
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
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading body: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return b, &statusError{Status: resp.Status, Code: resp.StatusCode, Body: string(b)}
	}
	return b, nil
}

// acquire calls POST /acquire. A 404 is returned as a *statusError too;
// use isStatus(err, 404) to tell "nothing free" from failures.
func (c *apiClient) acquire(ctx context.Context, rtype, state, dest, requestID string) (boskos.Resource, error) {
	q := url.Values{"type": {rtype}, "state": {state}, "dest": {dest}, "owner": {c.owner}}
	if requestID != "" {
		q.Set("request_id", requestID)
	}
	b, err := c.do(ctx, http.MethodPost, "/acquire", q, nil)
	if err != nil {
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

// release calls POST /release. A non-zero epoch (acquire's fencing token;
// leases have epochs from 1) is sent, so a holder whose lease was reaped
// and given to someone else gets 409 instead of releasing it.
func (c *apiClient) release(ctx context.Context, name, dest string, epoch int64) error {
	q := url.Values{"name": {name}, "dest": {dest}, "owner": {c.owner}}
	setEpoch(q, epoch)
	_, err := c.do(ctx, http.MethodPost, "/release", q, nil)
	return err
}

// setEpoch adds a non-zero epoch to q.
func setEpoch(q url.Values, epoch int64) {
	if epoch != 0 {
		q.Set("epoch", strconv.FormatInt(epoch, 10))
	}
}

// update calls POST /update (the heartbeat). A nil ud sends no body; a
// non-zero epoch is sent as for release.
func (c *apiClient) update(ctx context.Context, name, state string, ud boskos.UserData, epoch int64) error {
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

// metric calls GET /metric.
func (c *apiClient) metric(ctx context.Context, rtype string) (boskos.Metric, error) {
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

// isStatus reports whether err is a *statusError with the given code.
func isStatus(err error, code int) bool {
	var se *statusError
	return errors.As(err, &se) && se.Code == code
}
