package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/dashboard"
)

// ReadService is what the read API (GET /v1/resources, /v1/queue,
// /v1/types) needs; *ranch.Ranch satisfies it. New serves those paths when
// the Service it is given implements ReadService too; otherwise they answer
// 404 like every unknown path under /v1/. Errors are *boskos.Error values:
// boskos.InvalidParam names the parameter of a 400.
type ReadService interface {
	// ListResources returns one page of the resources the filter selects.
	ListResources(ctx context.Context, f boskos.ResourceFilter, p boskos.PageRequest) (boskos.Page[boskos.ResourceInfo], error)
	// ListQueue returns one page of the waiting request_ids, with ranks.
	ListQueue(ctx context.Context, f boskos.QueueFilter, p boskos.PageRequest) (boskos.Page[boskos.QueueEntry], error)
	// ListTypes returns one page of the types with their counts.
	ListTypes(ctx context.Context, p boskos.PageRequest) (boskos.Page[boskos.TypeSummary], error)
}

// V1Paths are the read API's paths that New serves (with a ReadService).
var V1Paths = []string{"/v1/resources", "/v1/queue", "/v1/types"}

// routesV1 adds the read API and the dashboard to mux: the /v1/ paths of
// svc's ReadService (JSON, GET only), a JSON 404 for any other path under
// /v1/ (upstream's catch-all answers 200 empty, which a JSON client would
// misread), and the dashboard at /ui/ (and /ui).
func (h *handler) routesV1(mux *http.ServeMux) {
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		h.failJSON(w, r, http.StatusNotFound, "", fmt.Sprintf("%s: no such endpoint of the read API", r.URL.Path))
	})
	if rs, ok := h.svc.(ReadService); ok {
		mux.HandleFunc("/v1/resources", h.listResources(rs))
		mux.HandleFunc("/v1/queue", h.listQueue(rs))
		mux.HandleFunc("/v1/types", h.listTypes(rs))
	}
	ui := dashboard.Handler()
	mux.Handle("/ui/", ui)
	mux.Handle("/ui", ui)
}

// v1Params reads the query of a read API request: every parameter must be
// one of known or limit or cursor, and given at most once. It returns the
// known parameters' values ("" when absent), the page request, or an
// InvalidParam error naming the offending parameter.
func v1Params(r *http.Request, known ...string) (map[string]string, boskos.PageRequest, error) {
	q := r.URL.Query()
	vals := map[string]string{}
	var page boskos.PageRequest
	for k, vs := range q {
		if len(vs) > 1 {
			return nil, page, boskos.InvalidParam(k, "given %d times, at most once allowed", len(vs))
		}
		switch {
		case k == "limit":
			if vs[0] == "" {
				continue
			}
			n, err := strconv.Atoi(vs[0])
			if err != nil {
				return nil, page, boskos.InvalidParam("limit", "must be an integer between 1 and %d, got %q", boskos.MaxPageLimit, vs[0])
			}
			if n == 0 {
				// 0 would mean the default to the ranch; on the wire it is
				// simply out of range.
				return nil, page, boskos.InvalidParam("limit", "must be between 1 and %d, got 0", boskos.MaxPageLimit)
			}
			page.Limit = n
		case k == "cursor":
			page.Cursor = vs[0]
		case contains(known, k):
			vals[k] = vs[0]
		default:
			return nil, page, boskos.InvalidParam(k, "unknown parameter (this endpoint takes %s)", strings.Join(append(append([]string(nil), known...), "limit", "cursor"), ", "))
		}
	}
	if _, err := boskos.CheckPageLimit(page.Limit); err != nil {
		return nil, page, err
	}
	return vals, page, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// getOnly answers a method other than GET or HEAD with a JSON 405 and
// reports whether the request may go on.
func (h *handler) getOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	h.failJSON(w, r, http.StatusMethodNotAllowed, "", fmt.Sprintf("method %s not allowed: %s only accepts GET", r.Method, r.URL.Path))
	return false
}

func (h *handler) listResources(rs ReadService) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.getOnly(w, r) {
			return
		}
		v, p, err := v1Params(r, "type", "state", "owner")
		if err != nil {
			h.failV1(w, r, err)
			return
		}
		page, err := rs.ListResources(r.Context(), boskos.ResourceFilter{Type: v["type"], State: v["state"], Owner: v["owner"]}, p)
		if err != nil {
			h.failV1(w, r, err)
			return
		}
		h.writeJSON(w, r, page)
	}
}

func (h *handler) listQueue(rs ReadService) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.getOnly(w, r) {
			return
		}
		v, p, err := v1Params(r, "type", "state")
		if err != nil {
			h.failV1(w, r, err)
			return
		}
		page, err := rs.ListQueue(r.Context(), boskos.QueueFilter{Type: v["type"], State: v["state"]}, p)
		if err != nil {
			h.failV1(w, r, err)
			return
		}
		h.writeJSON(w, r, page)
	}
}

func (h *handler) listTypes(rs ReadService) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.getOnly(w, r) {
			return
		}
		_, p, err := v1Params(r)
		if err != nil {
			h.failV1(w, r, err)
			return
		}
		page, err := rs.ListTypes(r.Context(), p)
		if err != nil {
			h.failV1(w, r, err)
			return
		}
		h.writeJSON(w, r, page)
	}
}

// v1Error is the JSON body of every read API error.
type v1Error struct {
	// Error is the message.
	Error string `json:"error"`
	// Parameter names the request parameter a 400 is about.
	Parameter string `json:"parameter,omitempty"`
}

// failV1 writes a service error as JSON: its status from HTTPStatus, the
// parameter of an InvalidParam.
func (h *handler) failV1(w http.ResponseWriter, r *http.Request, err error) {
	h.failJSON(w, r, HTTPStatus(err), boskos.ParamOf(err), errMessage(err))
}

// failJSON writes and logs (as fail does) a read API error.
func (h *handler) failJSON(w http.ResponseWriter, r *http.Request, status int, param, msg string) {
	level := levelOf(status)
	h.log.Log(r.Context(), level, "httpapi: request failed", "method", r.Method, "path", r.URL.Path, "status", status, "msg", msg)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	b, _ := json.Marshal(v1Error{Error: msg, Parameter: param})
	setJSONHeaders(w)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeJSON writes v with status 200.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.failJSON(w, r, http.StatusInternalServerError, "", err.Error())
		return
	}
	setJSONHeaders(w)
	_, _ = w.Write(append(b, '\n'))
}

// levelOf is the log level of an answer with status: error for 5xx, debug
// otherwise (as fail logs).
func levelOf(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelDebug
}

func setJSONHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// Live data, and behind credentials when there are any.
	w.Header().Set("Cache-Control", "no-store")
}
