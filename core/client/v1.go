package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// NewReader returns a client of the read API (Resources, Queue, Types) of
// the server at serverURL that acts as no owner: its lease methods send an
// empty owner, which servers refuse (400). It fails on an invalid URL.
func NewReader(serverURL string, opts Options) (*Client, error) {
	c, err := New(serverURL, "-", opts)
	if err != nil {
		return nil, err
	}
	c.owner = ""
	return c, nil
}

// Resources returns one page of the resources f selects (GET
// /v1/resources): at most p.Limit (0: the server's default, 100), after
// p.Cursor (the Cursor of the previous page; "" for the first). The last
// page has no Cursor. A bad filter, limit or cursor is a 400 *StatusError
// whose Param names the parameter.
func (c *Client) Resources(ctx context.Context, f boskos.ResourceFilter, p boskos.PageRequest) (boskos.Page[boskos.ResourceInfo], error) {
	q := pageQuery(p)
	setIf(q, "type", f.Type)
	setIf(q, "state", f.State)
	setIf(q, "owner", f.Owner)
	return getPage[boskos.ResourceInfo](ctx, c, "/v1/resources", q)
}

// Queue returns one page of the request_ids waiting in the acquire queues
// f selects, with their ranks and ages (GET /v1/queue); paging as
// Resources.
func (c *Client) Queue(ctx context.Context, f boskos.QueueFilter, p boskos.PageRequest) (boskos.Page[boskos.QueueEntry], error) {
	q := pageQuery(p)
	setIf(q, "type", f.Type)
	setIf(q, "state", f.State)
	return getPage[boskos.QueueEntry](ctx, c, "/v1/queue", q)
}

// Types returns one page of the resource types with their counts by state
// and owner (GET /v1/types); paging as Resources.
func (c *Client) Types(ctx context.Context, p boskos.PageRequest) (boskos.Page[boskos.TypeSummary], error) {
	return getPage[boskos.TypeSummary](ctx, c, "/v1/types", pageQuery(p))
}

// Collect calls page with "" and then with each page's cursor until the
// last page, and returns every item (at most max when max > 0; more
// exists when truncated). Each call is one request: nothing is retried.
func Collect[T any](ctx context.Context, max int, page func(ctx context.Context, cursor string) (boskos.Page[T], error)) (items []T, truncated bool, err error) {
	items = []T{}
	cursor := ""
	for {
		p, err := page(ctx, cursor)
		if err != nil {
			return items, false, err
		}
		items = append(items, p.Items...)
		if max > 0 && len(items) >= max {
			return items[:max], len(items) > max || p.Cursor != "", nil
		}
		if p.Cursor == "" {
			return items, false, nil
		}
		cursor = p.Cursor
	}
}

func pageQuery(p boskos.PageRequest) url.Values {
	q := url.Values{}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	setIf(q, "cursor", p.Cursor)
	return q
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func getPage[T any](ctx context.Context, c *Client, path string, q url.Values) (boskos.Page[T], error) {
	b, err := c.do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return boskos.Page[T]{}, err
	}
	var p boskos.Page[T]
	if err := json.Unmarshal(b, &p); err != nil {
		return boskos.Page[T]{}, fmt.Errorf("%s: decoding the answer: %w", path, err)
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p, nil
}

// v1Error reads the JSON error body of the read API: its message and the
// parameter it names; ok is false for any other body.
func v1Error(body string) (msg, param string, ok bool) {
	var e struct {
		Error     string `json:"error"`
		Parameter string `json:"parameter"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
		return "", "", false
	}
	return e.Error, e.Parameter, true
}
