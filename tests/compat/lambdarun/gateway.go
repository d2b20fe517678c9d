package lambdarun

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Invoker runs one Lambda event and returns the function's response
// payload. *Function is one.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// InvokerFunc is a function used as an Invoker.
type InvokerFunc func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

// HTTPRequestEvent is API Gateway's HTTP API event, payload format 2.0 (the
// fields of aws-lambda-go's events.APIGatewayV2HTTPRequest that a gateway
// fills in without authorizers).
type HTTPRequestEvent struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        RequestContext    `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

// RequestContext is the requestContext of an HTTPRequestEvent.
type RequestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         HTTPDetails `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

// HTTPDetails is requestContext.http of an HTTPRequestEvent.
type HTTPDetails struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// HTTPResponse is the response a payload-2.0 function returns.
type HTTPResponse struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
	Cookies           []string            `json:"cookies"`
}

// Gateway plays an API Gateway HTTP API with only a $default stage, routing
// by API Gateway's priority: a request whose path equals a key of Routes goes
// to that function (route "ANY <path>"); else one matching a key with path
// variables ("/v1/resources/{name}/history", each variable one non-empty
// segment) to its function; else one under a greedy key "/p/{proxy+}" to its
// function; any other path to Default (route "$default"). With no Default,
// unmatched paths get API Gateway's 404 {"message":"Not Found"}.
type Gateway struct {
	Routes  map[string]Invoker
	Default Invoker
	// Timeout bounds one invocation (API Gateway's integration timeout);
	// 0 means 30 seconds.
	Timeout time.Duration
	// Logger receives integration failures (default: discarded).
	Logger *slog.Logger

	seq atomic.Int64
}

// ServeHTTP converts r into an event, invokes the routed function and writes
// its response. A function error answers 500 {"message":"Internal Server
// Error"} and a timeout 503 {"message":"Service Unavailable"}, as API
// Gateway does.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	routeKey := "$default"
	fn, ok := g.Routes[r.URL.Path]
	if ok {
		routeKey = "ANY " + r.URL.Path
	} else if route, vfn, vok := g.match(r.URL.Path, matchVariables); vok {
		routeKey, fn = "ANY "+route, vfn
	} else if route, gfn, gok := g.match(r.URL.Path, matchGreedy); gok {
		routeKey, fn = "ANY "+route, gfn
	} else {
		fn = g.Default
	}
	if fn == nil {
		writeGatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
	ev, err := NewEvent(r, routeKey, "req-"+strconv.FormatInt(g.seq.Add(1), 10))
	if err != nil {
		writeGatewayError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	out, err := fn.Invoke(ctx, payload)
	if err != nil {
		g.logger().Error("lambdarun: invocation failed", "route", routeKey, "err", err)
		if ctx.Err() != nil {
			writeGatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
			return
		}
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if err := WriteResponse(w, out); err != nil {
		g.logger().Error("lambdarun: bad function response", "route", routeKey, "err", err, "payload", string(out))
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

// match returns the route of Routes that path matches by m, and its
// function; of several, the one with the most literal characters (the most
// specific, as API Gateway picks), ties broken by name so that routing is
// deterministic.
func (g *Gateway) match(path string, m func(route, path string) bool) (string, Invoker, bool) {
	best := ""
	for route := range g.Routes {
		if !m(route, path) {
			continue
		}
		if best == "" || literal(route) > literal(best) || (literal(route) == literal(best) && route < best) {
			best = route
		}
	}
	if best == "" {
		return "", nil, false
	}
	return best, g.Routes[best], true
}

// matchGreedy reports whether path is under route's greedy variable
// ("/p/{proxy+}" takes "/p/a/b", not "/p").
func matchGreedy(route, path string) bool {
	prefix, ok := strings.CutSuffix(route, "/{proxy+}")
	return ok && strings.HasPrefix(path, prefix+"/")
}

// matchVariables reports whether path matches route segment by segment,
// each "{var}" of route taking one non-empty segment.
func matchVariables(route, path string) bool {
	if !strings.Contains(route, "{") || strings.HasSuffix(route, "+}") {
		return false
	}
	rs, ps := strings.Split(route, "/"), strings.Split(path, "/")
	if len(rs) != len(ps) {
		return false
	}
	for i, seg := range rs {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			if ps[i] == "" {
				return false
			}
		} else if seg != ps[i] {
			return false
		}
	}
	return true
}

// literal is the number of characters of route outside its variables.
func literal(route string) int {
	n := 0
	for _, seg := range strings.Split(route, "/") {
		if !strings.HasPrefix(seg, "{") {
			n += len(seg)
		}
	}
	return n
}

func (g *Gateway) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func writeGatewayError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Apigw-Requestid", "local")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"message":%q}`, msg)
}

// NewEvent converts r as API Gateway's HTTP API does for payload format 2.0:
// header names in lower case with repeated values joined by commas, cookies
// split out of the Cookie header, query parameters decoded with repeated
// values joined by commas (rawQueryString keeps the original), and a body
// that is not text base64-encoded.
func NewEvent(r *http.Request, routeKey, requestID string) (HTTPRequestEvent, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return HTTPRequestEvent{}, err
	}
	now := time.Now().UTC()
	ev := HTTPRequestEvent{
		Version:        "2.0",
		RouteKey:       routeKey,
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		RequestContext: RequestContext{
			AccountID:    "000000000000",
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: strings.Split(r.Host, ".")[0],
			HTTP: HTTPDetails{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP(r.RemoteAddr),
				UserAgent: r.UserAgent(),
			},
			RequestID: requestID,
			RouteKey:  routeKey,
			Stage:     "$default",
			Time:      now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: now.UnixMilli(),
		},
	}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[lk] = strings.Join(vs, ",")
	}
	ev.Headers["x-forwarded-for"] = ev.RequestContext.HTTP.SourceIP
	ev.Headers["x-forwarded-proto"] = "http"
	if len(body) > 0 {
		ev.Headers["content-length"] = strconv.Itoa(len(body))
	}
	// ParseQuery keeps what it could decode when a pair is malformed.
	if q, _ := url.ParseQuery(r.URL.RawQuery); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev, nil
}

// isText reports whether API Gateway would pass a body of this content type
// as text (the rest is base64-encoded).
func isText(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" ||
		mt == "application/xml" || mt == "application/javascript" ||
		mt == "application/x-www-form-urlencoded" || strings.HasSuffix(mt, "+json")
}

func sourceIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

// WriteResponse writes a payload-2.0 function response (an HTTPResponse
// document) to w. Only the headers the function set are sent: Go's content
// sniffing is turned off, as API Gateway adds no Content-Type either.
func WriteResponse(w http.ResponseWriter, payload []byte) error {
	var resp HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return fmt.Errorf("decode function response: %w", err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("function response has status %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("decode function response body: %w", err)
		}
		body = b
	}
	h := w.Header()
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil
	}
	h.Set("Apigw-Requestid", "local")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(body)
	return err
}
