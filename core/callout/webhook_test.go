package callout_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/callout"
)

func TestWebhookPost(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		maxAnswer  int
		wantStatus int
		want       string
		wantErr    string // %s: the server's scheme://host
	}{
		{name: "2xx body is the answer", status: 200, body: `{"k":"v"}`, maxAnswer: 100, wantStatus: 200, want: `{"k":"v"}`},
		{name: "201 too", status: 201, body: `{}`, maxAnswer: 100, wantStatus: 201, want: `{}`},
		{name: "an answer at the bound", status: 200, body: "12345", maxAnswer: 5, wantStatus: 200, want: "12345"},
		{name: "an answer over the bound", status: 200, body: "123456", maxAnswer: 5,
			wantErr: "webhook %s: answer too long: the body is over 5 bytes"},
		{name: "no answer wanted", status: 202, body: "ignored", wantStatus: 202},
		{name: "500 ends with the body", status: 500, body: "  database down\n", maxAnswer: 100,
			wantErr: "webhook %s answered 500 Internal Server Error: database down"},
		{name: "redirect not followed", status: 307, maxAnswer: 100, wantErr: "webhook %s answered 307 Temporary Redirect"},
		{name: "long error body keeps its tail", status: 400, body: strings.Repeat("é", 2000) + "END",
			wantErr: "webhook %s answered 400 Bad Request: …" + strings.Repeat("é", 254) + "END"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, http.MethodPost, r.Method)
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				assert.Equal(t, []string{"a", "b"}, r.Header.Values("X-Extra"))
				b, _ := io.ReadAll(r.Body)
				assert.Equal(t, `{"in":true}`, string(b))
				if tc.status/100 == 3 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			hook, err := callout.NewWebhook(srv.URL+"/p?token=secret", callout.WebhookOptions{Header: http.Header{"X-Extra": {"a", "b"}}})
			require.NoError(t, err)
			status, got, err := hook.Post(context.Background(), []byte(`{"in":true}`), tc.maxAnswer)
			if tc.wantErr != "" {
				require.EqualError(t, err, strings.Replace(tc.wantErr, "%s", srv.URL, 1))
				assert.Nil(t, got)
				assert.Equal(t, strings.Contains(tc.wantErr, "too long"), errors.Is(err, callout.ErrTooLong))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantStatus, status)
			if tc.want == "" {
				assert.Nil(t, got)
			} else {
				assert.Equal(t, tc.want, string(got))
			}
		})
	}
	t.Run("no answer: the error names the host only", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL
		srv.Close()
		hook, err := callout.NewWebhook(u+"/hook/s3cret?token=s3cret", callout.WebhookOptions{})
		require.NoError(t, err)
		assert.Equal(t, "webhook "+u, hook.String())
		assert.Equal(t, u, hook.Endpoint())
		_, _, err = hook.Post(context.Background(), nil, 10)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "webhook "+u+": "), "got %q", err)
		assert.NotContains(t, err.Error(), "s3cret")
	})
	t.Run("the context ends the request", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		hook, err := callout.NewWebhook(srv.URL, callout.WebhookOptions{})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err = hook.Post(ctx, nil, 10)
		require.ErrorContains(t, err, "context canceled")
	})
}

func TestCheckHTTPURL(t *testing.T) {
	for _, tc := range []struct{ name, url, wantErr string }{
		{name: "https", url: "https://h.example/x?y=1"},
		{name: "http with port", url: "http://127.0.0.1:8080"},
		{name: "ftp", url: "ftp://h/x", wantErr: `invalid URL "ftp://h/x": the scheme must be http or https`},
		{name: "relative", url: "/x", wantErr: `invalid URL "/x": the scheme must be http or https`},
		{name: "no host", url: "http:///x", wantErr: `invalid URL "http:///x": no host`},
		{name: "port only", url: "http://:80/x", wantErr: `invalid URL "http://:80/x": no host`},
		{name: "unparsable", url: "http://h/%zz", wantErr: `invalid URL "http://h/%zz": invalid URL escape "%zz"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := callout.CheckHTTPURL(tc.url)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tc.wantErr)
			_, err = callout.NewWebhook(tc.url, callout.WebhookOptions{})
			assert.EqualError(t, err, tc.wantErr)
		})
	}
}
