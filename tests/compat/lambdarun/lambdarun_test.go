package lambdarun

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// poll plays one bootstrap process: it takes events from the Runtime API
// over HTTP and answers each with answer(event), as aws-lambda-go does.
func poll(t *testing.T, ctx context.Context, addr string, answer func(id string, payload []byte) (kind string, body []byte)) {
	t.Helper()
	base := "http://" + addr + "/2018-06-01/runtime/invocation/"
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"next", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		payload, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		if resp.Header.Get("Lambda-Runtime-Deadline-Ms") == "" || id == "" {
			t.Errorf("next: missing request id or deadline headers: %v", resp.Header)
		}
		kind, body := answer(id, payload)
		r, err := http.Post(base+id+"/"+kind, "application/json", bytes.NewReader(body))
		if err != nil {
			return
		}
		r.Body.Close()
		if r.StatusCode != http.StatusAccepted {
			t.Errorf("post %s: got status %d, want 202", kind, r.StatusCode)
		}
	}
}

func TestRuntime(t *testing.T) {
	rt := NewRuntime(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 { // two execution environments share the queue
		go poll(t, ctx, rt.Addr(), func(_ string, p []byte) (string, []byte) {
			if string(p) == `"fail"` {
				return "error", []byte(`{"errorMessage":"boom","errorType":"errorString"}`)
			}
			return "response", append([]byte("echo:"), p...)
		})
	}

	for _, in := range []string{`"a"`, `"b"`, `"c"`} {
		out, err := rt.Invoke(ctx, []byte(in))
		require.NoError(t, err)
		assert.Equal(t, "echo:"+in, string(out))
	}

	_, err := rt.Invoke(ctx, []byte(`"fail"`))
	var ie *InvokeError
	require.ErrorAs(t, err, &ie)
	assert.Contains(t, ie.Payload, "boom")

	short, c2 := context.WithTimeout(ctx, 0)
	defer c2()
	_, err = rt.Invoke(short, []byte(`"x"`))
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	rt.Close()
	_, err = rt.Invoke(context.Background(), []byte(`"late"`))
	assert.ErrorIs(t, err, ErrStopped)
}

func TestRuntimeRejectsUnknownInvocation(t *testing.T) {
	rt := NewRuntime(0)
	defer rt.Close()
	resp, err := http.Post("http://"+rt.Addr()+"/2018-06-01/runtime/invocation/nope/response", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestGateway(t *testing.T) {
	var got []HTTPRequestEvent
	reply := func(resp HTTPResponse) InvokerFunc {
		return func(_ context.Context, p []byte) ([]byte, error) {
			var ev HTTPRequestEvent
			if err := json.Unmarshal(p, &ev); err != nil {
				return nil, err
			}
			got = append(got, ev)
			return json.Marshal(resp)
		}
	}
	fail := InvokerFunc(func(context.Context, []byte) ([]byte, error) { return nil, errors.New("crashed") })
	slow := InvokerFunc(func(ctx context.Context, _ []byte) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() })

	tests := []struct {
		name        string
		gw          *Gateway
		method      string
		target      string
		body        string
		contentType string
		wantStatus  int
		wantBody    string
		wantHeader  map[string]string
		check       func(t *testing.T, ev HTTPRequestEvent)
	}{
		{
			name: "routed path with query and text body",
			gw: &Gateway{Routes: map[string]Invoker{"/update": reply(HTTPResponse{StatusCode: 200})},
				Default: fail},
			method: "POST", target: "/update?name=a&owner=o&state=s&owner=second", body: `{"k":"v"}`,
			contentType: "application/json", wantStatus: 200, wantBody: "",
			check: func(t *testing.T, ev HTTPRequestEvent) {
				assert.Equal(t, "2.0", ev.Version)
				assert.Equal(t, "ANY /update", ev.RouteKey)
				assert.Equal(t, "ANY /update", ev.RequestContext.RouteKey)
				assert.Equal(t, "/update", ev.RawPath)
				assert.Equal(t, "name=a&owner=o&state=s&owner=second", ev.RawQueryString)
				assert.Equal(t, "o,second", ev.QueryStringParameters["owner"])
				assert.Equal(t, "POST", ev.RequestContext.HTTP.Method)
				assert.Equal(t, "$default", ev.RequestContext.Stage)
				assert.Equal(t, `{"k":"v"}`, ev.Body)
				assert.False(t, ev.IsBase64Encoded)
				assert.Equal(t, "application/json", ev.Headers["content-type"])
				assert.Equal(t, "127.0.0.1", ev.RequestContext.HTTP.SourceIP)
			},
		},
		{
			name:   "binary body is base64",
			gw:     &Gateway{Routes: map[string]Invoker{"/update": reply(HTTPResponse{StatusCode: 200})}},
			method: "POST", target: "/update", body: "\x00\x01raw", contentType: "application/octet-stream",
			wantStatus: 200,
			check: func(t *testing.T, ev HTTPRequestEvent) {
				assert.True(t, ev.IsBase64Encoded)
				assert.Equal(t, base64.StdEncoding.EncodeToString([]byte("\x00\x01raw")), ev.Body)
			},
		},
		{
			name: "unknown path goes to the default route",
			gw: &Gateway{Routes: map[string]Invoker{"/acquire": fail},
				Default: reply(HTTPResponse{StatusCode: 200})},
			method: "GET", target: "/acquire/", wantStatus: 200,
			check: func(t *testing.T, ev HTTPRequestEvent) {
				assert.Equal(t, "$default", ev.RouteKey)
				assert.Equal(t, "/acquire/", ev.RequestContext.HTTP.Path)
			},
		},
		{
			name: "path variable route",
			gw: &Gateway{Routes: map[string]Invoker{
				"/v1/resources/{name}/history": reply(HTTPResponse{StatusCode: 200}),
				"/v1/history":                  fail,
				"/ui/{proxy+}":                 fail,
			}, Default: fail},
			method: "GET", target: "/v1/resources/p-1/history?limit=2", wantStatus: 200,
			check: func(t *testing.T, ev HTTPRequestEvent) {
				assert.Equal(t, "ANY /v1/resources/{name}/history", ev.RouteKey)
				assert.Equal(t, "/v1/resources/p-1/history", ev.RawPath)
			},
		},
		{
			name: "an empty or extra segment is not a path variable",
			gw: &Gateway{Routes: map[string]Invoker{"/v1/resources/{name}/history": fail},
				Default: reply(HTTPResponse{StatusCode: 404})},
			method: "GET", target: "/v1/resources//history", wantStatus: 404,
			check: func(t *testing.T, ev HTTPRequestEvent) { assert.Equal(t, "$default", ev.RouteKey) },
		},
		{
			name: "exact route before variables before greedy",
			gw: &Gateway{Routes: map[string]Invoker{
				"/v1/resources/{name}":  fail,
				"/v1/resources/pinned":  reply(HTTPResponse{StatusCode: 201}),
				"/v1/{proxy+}":          fail,
				"/v1/resources/{other}": fail,
			}, Default: fail},
			method: "GET", target: "/v1/resources/pinned", wantStatus: 201,
			check: func(t *testing.T, ev HTTPRequestEvent) { assert.Equal(t, "ANY /v1/resources/pinned", ev.RouteKey) },
		},
		{
			name: "the most specific greedy route",
			gw: &Gateway{Routes: map[string]Invoker{
				"/v1/{proxy+}":    fail,
				"/v1/ui/{proxy+}": reply(HTTPResponse{StatusCode: 200}),
			}, Default: fail},
			method: "GET", target: "/v1/ui/app.js", wantStatus: 200,
			check: func(t *testing.T, ev HTTPRequestEvent) { assert.Equal(t, "ANY /v1/ui/{proxy+}", ev.RouteKey) },
		},
		{
			name:   "no default route",
			gw:     &Gateway{Routes: map[string]Invoker{"/acquire": fail}},
			method: "GET", target: "/foo", wantStatus: 404, wantBody: `{"message":"Not Found"}`,
		},
		{
			name: "response headers and base64 body",
			gw: &Gateway{Default: reply(HTTPResponse{StatusCode: 409,
				Headers:         map[string]string{"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
				Body:            base64.StdEncoding.EncodeToString([]byte("state mismatch\n")),
				IsBase64Encoded: true})},
			method: "POST", target: "/x", wantStatus: 409, wantBody: "state mismatch\n",
			wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
		},
		{
			name:   "no content type is added",
			gw:     &Gateway{Default: reply(HTTPResponse{StatusCode: 200, Body: "<html>"})},
			method: "GET", target: "/x", wantStatus: 200, wantBody: "<html>",
			wantHeader: map[string]string{"Content-Type": ""},
		},
		{
			name:   "function error",
			gw:     &Gateway{Default: fail},
			method: "GET", target: "/x", wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name:   "timeout",
			gw:     &Gateway{Default: slow, Timeout: time.Millisecond},
			method: "GET", target: "/x", wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`,
		},
		{
			name:   "invalid function response",
			gw:     &Gateway{Default: InvokerFunc(func(context.Context, []byte) ([]byte, error) { return []byte(`{"statusCode":0}`), nil })},
			method: "GET", target: "/x", wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			srv := httptest.NewServer(tc.gw)
			defer srv.Close()
			req, err := http.NewRequest(tc.method, srv.URL+tc.target, strings.NewReader(tc.body))
			require.NoError(t, err)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.wantStatus, resp.StatusCode, "status")
			assert.Equal(t, tc.wantBody, string(body), "body")
			for k, v := range tc.wantHeader {
				assert.Equal(t, v, resp.Header.Get(k), "header %s", k)
			}
			if tc.check != nil {
				require.Len(t, got, 1, "invocations")
				tc.check(t, got[0])
			}
		})
	}
}
