package janitor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/janitor"
)

func TestWebhookClean(t *testing.T) {
	res := boskos.Resource{Type: "gce-project", Name: "p-1", State: boskos.Cleaning, Owner: "janitor",
		LastUpdate: t0, UserData: boskos.UserData{}, Epoch: 3}
	wantBody, err := json.Marshal(res)
	require.NoError(t, err)
	tests := []struct {
		name    string
		status  int
		body    string
		want    janitor.Outcome
		wantErr string // with %s for the server's scheme://host
	}{
		{name: "200 is cleaned", status: 200, want: janitor.Cleaned},
		{name: "204 is cleaned", status: 204, want: janitor.Cleaned},
		{name: "202 is dispatched", status: 202, want: janitor.Dispatched},
		{name: "500 with body", status: 500, body: "cannot delete bucket\n", wantErr: "webhook %s answered 500 Internal Server Error: cannot delete bucket"},
		{name: "404 without body", status: 404, wantErr: "webhook %s answered 404 Not Found"},
		{name: "a redirect is a failure, not followed", status: 302, wantErr: "webhook %s answered 302 Found"},
		{name: "long body keeps its tail", status: 503, body: strings.Repeat("x", 5000) + "END",
			wantErr: "webhook %s answered 503 Service Unavailable: …" + strings.Repeat("x", 509) + "END"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, http.MethodPost, r.Method)
				assert.Equal(t, "/clean", r.URL.Path)
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				assert.Equal(t, "Bearer s3cret", r.Header.Get("Authorization"))
				b, _ := io.ReadAll(r.Body)
				assert.JSONEq(t, string(wantBody), string(b))
				if tc.status == http.StatusFound {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			w, err := janitor.NewWebhook(srv.URL+"/clean?token=x", janitor.WebhookOptions{Header: http.Header{"Authorization": {"Bearer s3cret"}}})
			require.NoError(t, err)
			got, err := w.Clean(context.Background(), res)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, strings.Replace(tc.wantErr, "%s", srv.URL, 1), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	t.Run("unreachable names the host only", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL
		srv.Close()
		w, err := janitor.NewWebhook(u+"/path?token=secret", janitor.WebhookOptions{})
		require.NoError(t, err)
		_, err = w.Clean(context.Background(), res)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "webhook "+u+": "), "%v", err)
		assert.NotContains(t, err.Error(), "secret")
	})
}

// TestWebhookDispatched: a 202 leaves the resource claimed for the
// endpoint, which releases it itself with the epoch it got.
func TestWebhookDispatched(t *testing.T) {
	e := memEnv(t, oneDirty)
	got := make(chan boskos.Resource, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var res boskos.Resource
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&res))
		got <- res
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	w, err := janitor.NewWebhook(srv.URL, janitor.WebhookOptions{})
	require.NoError(t, err)
	results := newResults()
	j := e.newJanitor(janitor.Options{Types: types("gce-project"), Targets: janitor.Targets{All: w}}, results)
	_, err = j.RunOnce(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, janitor.StatusDispatched, results.next(t).Status)
	res := <-got
	assert.Equal(t, boskos.Cleaning, res.State)
	assert.Equal(t, janitor.DefaultOwner, res.Owner)
	assert.Equal(t, res, e.get("p-1"), "untouched after the dispatch")
	// The endpoint's own release, fenced by the epoch.
	require.NoError(t, e.r.Release(e.ctx, res.Name, boskos.Free, res.Owner, &res.Epoch))
	assert.Equal(t, boskos.Free, e.get("p-1").State)
}
