package mason_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/callout"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/mason/masontest"
)

// converterServer answers every POST with status and body, and checks the
// request: the documented JSON of virtual and leased, content the URL.
func converterServer(t *testing.T, status int, body string) (srv *httptest.Server, url string) {
	t.Helper()
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.Equal(t, "Bearer t", r.Header.Get("Authorization"))
		b, _ := io.ReadAll(r.Body)
		want, err := mason.EncodeRequest(virtual, leased, url)
		assert.NoError(t, err)
		assert.Equal(t, string(want), string(b))
		if status/100 == 3 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, srv.URL + "/convert?key=" + masontest.Secret
}

func newWebhook(t *testing.T, url string) *mason.Webhook {
	t.Helper()
	w, err := mason.NewWebhook(url, mason.ConverterOptions{Header: http.Header{"Authorization": {"Bearer t"}}})
	require.NoError(t, err)
	return w
}

// TestWebhookAnswers: a 2xx body goes through DecodeAnswer.
func TestWebhookAnswers(t *testing.T) {
	for _, tc := range masontest.AnswerCases() {
		t.Run(tc.Name, func(t *testing.T) {
			srv, url := converterServer(t, http.StatusOK, tc.Answer)
			w := newWebhook(t, url)
			assert.Equal(t, "webhook "+srv.URL, w.String())
			got, err := construct(t, w)
			tc.Check(t, "webhook "+srv.URL+": ", got, err)
		})
	}
}

func TestWebhookFailures(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string // after "webhook <server>"
	}{
		{name: "500 with body", status: 500, body: "no account has quota\n", wantErr: " answered 500 Internal Server Error: no account has quota"},
		{name: "404 without body", status: 404, wantErr: " answered 404 Not Found"},
		{name: "a redirect is not followed", status: 302, body: `{"a":"b"}`, wantErr: " answered 302 Found: {\"a\":\"b\"}"},
		{name: "long body keeps its tail", status: 502, body: strings.Repeat("x", 3000) + "END",
			wantErr: " answered 502 Bad Gateway: …" + strings.Repeat("x", callout.TailBytes-3) + "END"},
		{name: "answer over MaxAnswerBytes", status: 200, body: `{"a":"` + strings.Repeat("x", mason.MaxAnswerBytes) + `"}`,
			wantErr: ": answer too long: the body is over 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := converterServer(t, tc.status, tc.body)
			got, err := construct(t, newWebhook(t, url))
			require.EqualError(t, err, "webhook "+srv.URL+tc.wantErr)
			assert.Nil(t, got)
		})
	}
	t.Run("unreachable: the host only", func(t *testing.T) {
		srv, url := converterServer(t, 200, "{}")
		srv.Close()
		_, err := construct(t, newWebhook(t, url))
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "webhook "+srv.URL+": "), "got %q", err)
		assert.NotContains(t, err.Error(), masontest.Secret)
	})
	t.Run("the context ends the request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cancel() // the request has arrived
			<-release
		}))
		defer srv.Close()
		defer close(release)
		_, err := newWebhook(t, srv.URL).Construct(ctx, virtual, leased)
		require.ErrorContains(t, err, "context canceled")
	})
	for _, bad := range []string{"", "ftp://h/x", "h/convert", "http:///convert"} {
		_, err := mason.NewWebhook(bad, mason.ConverterOptions{})
		assert.ErrorContains(t, err, "invalid URL", "%q", bad)
	}
}
