package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// Paths of the history read API (GET only; JSON). Upstream never uses
// /v1/.
const (
	// PathResourceHistory lists one resource's records, newest first
	// (?limit=&cursor=).
	PathResourceHistory = "/v1/resources/{name}/history"
	// PathHistory lists the records of a type, or of every type of the
	// config in force, newest first (?type=&owner=&since=&until=&limit=&cursor=).
	PathHistory = "/v1/history"
	// PathUsage sums resource-hours per owner and type
	// (?since=&until=&type=&limit=&cursor=).
	PathUsage = "/v1/usage"
)

// HistoryService is what the history endpoints need; *ranch.Ranch
// satisfies it. New serves them when its Service also implements it.
// Errors are *boskos.Error values, as for Service.
type HistoryService interface {
	// ResourceHistory returns a page of one resource's records.
	ResourceHistory(ctx context.Context, name string, limit int, cursor string) (boskos.HistoryPage, error)
	// History returns a page of the records q selects.
	History(ctx context.Context, q boskos.HistoryQuery) (boskos.HistoryPage, error)
	// Usage returns the resource-hours of q's range.
	Usage(ctx context.Context, q boskos.UsageQuery) (boskos.UsageReport, error)
}

// IsHistoryPath reports whether p is one of the history endpoints (a
// resource's history for any name).
func IsHistoryPath(p string) bool {
	if p == PathHistory || p == PathUsage {
		return true
	}
	name, ok := strings.CutPrefix(p, "/v1/resources/")
	if !ok {
		return false
	}
	name, ok = strings.CutSuffix(name, "/history")
	return ok && name != "" && !strings.Contains(name, "/")
}

// HistoryError is the body of every error of the /v1 history endpoints,
// with the status of the error's code (400 for a bad parameter, naming
// it).
type HistoryError struct {
	Error string `json:"error"`
}

// historyRoutes registers the history endpoints on mux.
func (h *handler) historyRoutes(mux *http.ServeMux, svc HistoryService) {
	mux.HandleFunc(PathResourceHistory, func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		h.historyGet(w, r, []string{"limit", "cursor"}, func(q historyParams) (any, error) {
			return svc.ResourceHistory(r.Context(), name, q.limit, q.get("cursor"))
		})
	})
	mux.HandleFunc(PathHistory, func(w http.ResponseWriter, r *http.Request) {
		h.historyGet(w, r, []string{"type", "owner", "since", "until", "limit", "cursor"}, func(q historyParams) (any, error) {
			return svc.History(r.Context(), boskos.HistoryQuery{
				Type: q.get("type"), Owner: q.get("owner"), Since: q.since, Until: q.until, Limit: q.limit, Cursor: q.get("cursor"),
			})
		})
	})
	mux.HandleFunc(PathUsage, func(w http.ResponseWriter, r *http.Request) {
		h.historyGet(w, r, []string{"type", "since", "until", "limit", "cursor"}, func(q historyParams) (any, error) {
			return svc.Usage(r.Context(), boskos.UsageQuery{
				Type: q.get("type"), Since: q.since, Until: q.until, Limit: q.limit, Cursor: q.get("cursor"),
			})
		})
	})
}

// historyParams are the parsed query parameters of a history request.
type historyParams struct {
	raw          map[string][]string
	limit        int
	since, until time.Time
}

func (p historyParams) get(name string) string { return first(p.raw, name) }

// parseHistoryParams checks the query against allowed: an unknown
// parameter, a repeated or malformed one, is a 400 naming it.
func parseHistoryParams(raw map[string][]string, allowed []string) (historyParams, error) {
	p := historyParams{raw: raw}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			return p, boskos.Invalid("invalid parameter %q: this endpoint takes %s", k, strings.Join(allowed, ", "))
		}
		if len(raw[k]) > 1 {
			return p, boskos.Invalid("invalid %s: given %d times", k, len(raw[k]))
		}
	}
	if v := p.get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > boskos.MaxPageLimit {
			return p, boskos.Invalid("invalid limit: want an integer from 1 to %d, got %q", boskos.MaxPageLimit, v)
		}
		p.limit = n
	}
	for _, tp := range []struct {
		name string
		dst  *time.Time
	}{{"since", &p.since}, {"until", &p.until}} {
		v := p.get(tp.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return p, boskos.Invalid("invalid %s: want an RFC 3339 time such as 2006-01-02T15:04:05Z, got %q", tp.name, v)
		}
		*tp.dst = t
	}
	return p, nil
}

// historyGet answers one GET of the history API with the JSON of run's
// result, or a HistoryError.
func (h *handler) historyGet(w http.ResponseWriter, r *http.Request, allowed []string, run func(historyParams) (any, error)) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		h.historyFail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("method %s: %s only accepts GET", r.Method, r.URL.Path))
		return
	}
	q, err := parseHistoryParams(r.URL.Query(), allowed)
	if err != nil {
		h.historyFail(w, r, HTTPStatus(err), errMessage(err))
		return
	}
	out, err := run(q)
	if err != nil {
		h.historyFail(w, r, HTTPStatus(err), errMessage(err))
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		h.historyFail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	setJSONHeaders(w)
	_, _ = w.Write(append(b, '\n'))
}

// historyFail writes a HistoryError and logs it like fail.
func (h *handler) historyFail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "httpapi: request failed", "method", r.Method, "path", r.URL.Path, "status", status, "msg", msg)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	b, _ := json.Marshal(HistoryError{Error: msg})
	setJSONHeaders(w)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
