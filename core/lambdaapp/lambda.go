package lambdaapp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/boskos-serverless/boskos/core/auth"
)

// CatchAll is the route of API Gateway's $default: a function given it also
// serves every path that is not another function's route (upstream's
// catch-all: 200, empty body).
const CatchAll = "$default"

// Routes are the routes of each function, by its directory under
// functions/ (the function mains and the tests share them).
var Routes = map[string][]string{
	"acquire":        {"/acquire"},
	"acquirebystate": {"/acquirebystate"},
	"release":        {"/release"},
	"update":         {"/update"},
	"reset":          {"/reset"},
	"metric":         {"/metric", CatchAll},
	"metrics":        {"/metrics"},
	"history":        {"/v1/resources/{name}/history", "/v1/history", "/v1/usage"},
	"read":           {"/v1/resources", "/v1/queue", "/v1/types", "/ui", "/ui/{proxy+}"},
}

// APIPaths are the routes that each have a function of their own (paths,
// "{param}" segments matching any one segment, and greedy routes ending in
// "/{proxy+}": see MatchRoute).
var APIPaths = []string{"/acquire", "/acquirebystate", "/release", "/update", "/reset", "/metric", "/metrics",
	"/v1/resources/{name}/history", "/v1/history", "/v1/usage",
	"/v1/resources", "/v1/queue", "/v1/types", "/ui", "/ui/{proxy+}"}

// greedy is the suffix of a route with API Gateway's greedy path variable.
const greedy = "/{proxy+}"

// MatchRoute reports whether API Gateway routes path to route (not
// CatchAll): the same path; for a route with "{param}" segments, a path
// of as many segments, each "{param}" matching any non-empty one (API
// Gateway's path parameters); for a greedy route "/p/{proxy+}" any path
// under "/p/" (API Gateway also sends "/p/" itself there).
func MatchRoute(route, path string) bool {
	if prefix, ok := strings.CutSuffix(route, greedy); ok {
		return strings.HasPrefix(path, prefix+"/")
	}
	if !strings.Contains(route, "{") {
		return route == path
	}
	rs, ps := strings.Split(route, "/"), strings.Split(path, "/")
	if len(rs) != len(ps) {
		return false
	}
	for i, r := range rs {
		if strings.HasPrefix(r, "{") && strings.HasSuffix(r, "}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if r != ps[i] {
			return false
		}
	}
	return true
}

// matchAny reports whether path matches one of routes.
func matchAny(routes []string, path string) bool {
	return slices.ContainsFunc(routes, func(r string) bool { return MatchRoute(r, path) })
}

// Only returns a handler that passes to h the requests for routes (exact
// paths, greedy routes (MatchRoute), or CatchAll) and answers any other request with 500 "<path> is not
// served by this function": a request for another function's path means
// the API's routes are misconfigured, and executing it here would run it
// with this function's permissions (the metric function may only read).
// Unknown paths go to h only through CatchAll, and h answers them as
// upstream does.
func Only(h http.Handler, log *slog.Logger, routes ...string) http.Handler {
	catchAll := slices.Contains(routes, CatchAll)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if matchAny(routes, p) || (catchAll && !matchAny(APIPaths, p)) {
			h.ServeHTTP(w, r)
			return
		}
		log.Error("lambdaapp: request for a path this function does not serve: check the API routes",
			"path", p, "routes", routes)
		http.Error(w, p+" is not served by this function", http.StatusInternalServerError)
	})
}

// Lambda returns the Lambda handler of an API Gateway HTTP API (payload
// format 2.0) function that serves routes with h. The caller that API
// Gateway's IAM authorization verified (the event's
// requestContext.authorizer.iam.userArn) is the request's IAM caller for
// package auth (auth.WithIAMCaller); without IAM authorization on the
// route the event has none.
func Lambda(h http.Handler, log *slog.Logger, routes ...string) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpadapter.NewV2(withStatus(withIAMCaller(Only(h, log, routes...)))).ProxyWithContext
}

// withIAMCaller puts the IAM caller of the API Gateway event into the
// request's context. It reads the event that the adapter keeps in the
// context, never a header: a client cannot make one up.
func withIAMCaller(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && rc.Authorizer != nil && rc.Authorizer.IAM != nil {
			r = r.WithContext(auth.WithIAMCaller(r.Context(), rc.Authorizer.IAM.UserARN))
		}
		h.ServeHTTP(w, r)
	})
}

// Start serves routes with h as a Lambda function; it does not return. The
// handler h comes from NewHandler, once per execution environment.
func Start(h http.Handler, log *slog.Logger, routes ...string) {
	lambda.Start(Lambda(h, log, routes...))
}

// withStatus makes every response carry a status: the proxy adapter refuses
// a response on which neither WriteHeader nor Write was called (a 200 with
// an empty body, as /release and the catch-all answer), which net/http
// sends as 200.
func withStatus(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if !sw.wrote {
			sw.WriteHeader(http.StatusOK)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Main is the whole body of a function's main: it reads the configuration
// through lookup, applies opts (lambdacreds.Source gives it the client of
// a remote credentials source), builds the handler and serves the routes
// of the function called name (a key of Routes) until the Lambda runtime
// ends the process. It returns only when it cannot start, with the exit
// code for os.Exit, after writing every problem to stderr: 2 for a bad
// name or configuration, 1 for a failure to build the handler (an
// unreadable credentials source included).
func Main(name string, lookup func(string) (string, bool), stderr io.Writer, opts ...func(*Config)) int {
	routes, ok := Routes[name]
	if !ok {
		fmt.Fprintf(stderr, "%s: not a function of this service\n", name)
		return 2
	}
	cfg, err := FromEnv(lookup)
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", name, err)
		return 2
	}
	cfg.Function = functionName(name, lookup)
	cfg.AWS = AWSFromEnv(lookup)
	for _, o := range opts {
		o(&cfg)
	}
	h, err := NewHandler(context.Background(), cfg)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	Start(h, cfg.Log(), routes...)
	return 0
}
