package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// The history read API (GET /v1/...): a *StatusError for any answer but
// 200, its Body the server's JSON error ({"error":"..."}).

// ResourceHistory returns one page of the history of the resource name,
// newest first (GET /v1/resources/{name}/history): limit records (0: the
// server's default, 100) after cursor ("" for the first page; a page's
// Cursor for the next, empty on the last).
func (c *Client) ResourceHistory(ctx context.Context, name string, limit int, cursor string) (boskos.HistoryPage, error) {
	var p boskos.HistoryPage
	err := c.getJSON(ctx, "/v1/resources/"+name+"/history", historyPageQuery(url.Values{}, limit, cursor), &p)
	return p, err
}

// History returns one page of the records q selects, newest first (GET
// /v1/history).
func (c *Client) History(ctx context.Context, q boskos.HistoryQuery) (boskos.HistoryPage, error) {
	v := url.Values{}
	setNonEmpty(v, "type", q.Type)
	setNonEmpty(v, "owner", q.Owner)
	setTime(v, "since", q.Since)
	setTime(v, "until", q.Until)
	var p boskos.HistoryPage
	err := c.getJSON(ctx, "/v1/history", historyPageQuery(v, q.Limit, q.Cursor), &p)
	return p, err
}

// Usage returns the resource-hours per owner and type over q's range (GET
// /v1/usage).
func (c *Client) Usage(ctx context.Context, q boskos.UsageQuery) (boskos.UsageReport, error) {
	v := url.Values{}
	setNonEmpty(v, "type", q.Type)
	setTime(v, "since", q.Since)
	setTime(v, "until", q.Until)
	var u boskos.UsageReport
	err := c.getJSON(ctx, "/v1/usage", historyPageQuery(v, q.Limit, q.Cursor), &u)
	return u, err
}

func historyPageQuery(v url.Values, limit int, cursor string) url.Values {
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	setNonEmpty(v, "cursor", cursor)
	return v
}

func setNonEmpty(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

func setTime(v url.Values, k string, t time.Time) {
	if !t.IsZero() {
		v.Set(k, t.UTC().Format(time.RFC3339Nano))
	}
}

// getJSON GETs path and decodes its JSON answer into out.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	b, err := c.do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: decoding the answer: %w", path, err)
	}
	return nil
}
