package lambdaapp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/streams"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

var update = flag.Bool("update", false, "rewrite events/golden/*.json from the current responses")

func TestMain(m *testing.M) { dynamotest.Main(m) }

// eventsDir holds the sample events, events/<function>/<case>.json.
const eventsDir = "../../events"

// seedTime is the fixed clock of the event tests.
var seedTime = time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)

// seedConfig is the table every sample event runs against (events/README.md).
var seedConfig = boskos.Config{Resources: []boskos.ResourceEntry{
	{Type: "solo", State: boskos.Free, Names: []string{"solo-1"}},
	{Type: "pair", State: boskos.Free, Names: []string{"pair-1", "pair-2"}},
	{Type: "held", State: boskos.Free, Names: []string{"held-1", "held-2"}},
}}

// seedStep is one write of a story: do, through the ranch, with its clock
// at seedTime + at.
type seedStep struct {
	at time.Duration
	do func(ctx context.Context, r *ranch.Ranch) error
}

// seedStory is the seed's story: the config synced three hours before
// seedTime, a lease of solo-1 by bob released dirty, the janitor cleaning
// it, and at seedTime held-1 and held-2 leased by alice (state busy).
var seedStory = []seedStep{
	{-3 * time.Hour, func(ctx context.Context, r *ranch.Ranch) error { return r.SyncConfig(ctx, &seedConfig) }},
	{-2 * time.Hour, func(ctx context.Context, r *ranch.Ranch) error {
		_, err := r.Acquire(ctx, "solo", boskos.Free, boskos.Busy, "bob", "")
		return err
	}},
	{-1 * time.Hour, func(ctx context.Context, r *ranch.Ranch) error {
		return r.Release(ctx, "solo-1", boskos.Dirty, "bob", nil)
	}},
	{-30 * time.Minute, func(ctx context.Context, r *ranch.Ranch) error {
		_, err := r.Acquire(ctx, "solo", boskos.Dirty, boskos.Cleaning, "janitor", "")
		return err
	}},
	{-20 * time.Minute, func(ctx context.Context, r *ranch.Ranch) error {
		return r.Release(ctx, "solo-1", boskos.Free, "janitor", nil)
	}},
	{0, func(ctx context.Context, r *ranch.Ranch) error {
		_, err := r.AcquireByState(ctx, boskos.Free, boskos.Busy, "alice", []string{"held-1", "held-2"})
		return err
	}},
}

// seed fills a fresh table with seedStory and then writes its history as
// `boskos serve --store dynamodb:TABLE` does: one pass of the table's
// stream (package streams) into ranch.WriteHistory.
// seededHandler is the API functions' handler over a fresh table seeded by
// seed, at seedTime; adjust, if set, changes the config first.
func seededHandler(t *testing.T, adjust func(*Config)) http.Handler {
	t.Helper()
	client, table := dynamotest.NewTable(t)
	cfg := Config{Table: table, RequestTTL: ranch.DefaultRequestTTL, Client: client,
		Now: func() time.Time { return seedTime }, Logger: slog.New(slog.DiscardHandler)}
	if adjust != nil {
		adjust(&cfg)
	}
	seed(t, cfg)
	h, err := NewHandler(context.Background(), cfg)
	require.NoError(t, err)
	return h
}

func seed(t *testing.T, cfg Config) {
	t.Helper()
	ctx := context.Background()
	st := dynamostore.New(cfg.Client, cfg.Table, dynamostore.Options{})
	var now time.Time
	clock := func() time.Time { return now }
	r := ranch.New(st, ranch.Options{Now: clock, Logger: cfg.Logger})
	for _, step := range seedStory {
		now = seedTime.Add(step.at)
		require.NoError(t, step.do(ctx, r), "seed step at %s", now.Format(time.TimeOnly))
	}
	n, err := streamPass(t, cfg, func(ctx context.Context, ch []store.Change) error {
		_, err := ranch.WriteHistory(ctx, st, ch, ranch.HistoryOptions{Now: clock})
		return err
	})
	require.NoError(t, err)
	require.NotZero(t, n, "the seed's stream records")
}

// streamPass reads the stream of cfg's table from its start (checkpoints
// in memory: the table gets none) and hands its changes to h. It returns
// how many records it delivered.
func streamPass(t *testing.T, cfg Config, h streams.Handler) (int, error) {
	t.Helper()
	tables, ok := cfg.Client.(streams.TableAPI)
	require.True(t, ok, "the test's DynamoDB client describes tables")
	sc := streams.NewClientFromConfig(aws.Config{}, dynamostore.ClientConfig{
		Region: dynamotest.Region, Endpoint: dynamotest.Endpoint(t),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	return streams.New(sc, tables, cfg.Table, h, streams.Options{
		Checkpoints: memstore.New(), Logger: cfg.Log(),
	}).Pass(context.Background())
}

// isAPIEvents reports whether events/<dir> holds API Gateway events of an
// API function: not the goldens, nor the events of the scheduled jobs
// (TestScheduledEvents), Mason's steps (TestMasonEvents) or the history
// writer's stream (TestHistoryWriterEvents).
func isAPIEvents(dir string) bool {
	_, job := JobEnv[dir]
	_, step := MasonSteps[dir]
	return dir != "golden" && dir != deploy.FnHistoryWriter && !job && !step
}

// goldenResponse is what events/golden/<function>-<case>.json pins.
type goldenResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// pinnedHeaders are the response headers clients may depend on.
var pinnedHeaders = []string{"Content-Type", "X-Content-Type-Options",
	httpapi.HeaderQueuePosition, httpapi.HeaderQueueLength, httpapi.HeaderEstimatedWait}

// TestEvents feeds every sample event through the real Lambda handler
// (httpadapter over the Boskos handler over dynamostore on DynamoDB Local),
// each on a freshly seeded table, and compares the response with its golden
// file.
func TestEvents(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "*", "*.json"))
	require.NoError(t, err)
	var n int
	for _, f := range files {
		fn := filepath.Base(filepath.Dir(f))
		if !isAPIEvents(fn) {
			continue
		}
		n++
		name := fn + "-" + strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			routes, ok := Routes[fn]
			require.True(t, ok, "events/%s: no function %q in Routes", fn, fn)
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			var ev events.APIGatewayV2HTTPRequest
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&ev), "%s is not an API Gateway v2 HTTP event", f)
			require.Equal(t, "2.0", ev.Version)

			h := seededHandler(t, nil)
			resp, err := Lambda(h, slog.New(slog.DiscardHandler), routes...)(context.Background(), ev)
			require.NoError(t, err)
			got := goldenResponse{Status: resp.StatusCode, Headers: map[string]string{}, Body: resp.Body}
			require.False(t, resp.IsBase64Encoded, "text responses are not base64")
			for _, k := range pinnedHeaders {
				if v, ok := resp.Headers[k]; ok {
					got.Headers[k] = v
				}
			}
			if fn == "metrics" && resp.StatusCode == 200 {
				got.Body = boskosLines(got.Body) // Go and process metrics vary
			}
			compareGolden(t, filepath.Join(eventsDir, "golden", name+".json"), got)
		})
	}
	assert.GreaterOrEqual(t, n, 30, "sample events")
}

// boskosLines keeps the lines of a Prometheus exposition about boskos_
// metrics.
func boskosLines(body string) string {
	var keep []string
	for l := range strings.Lines(body) {
		if strings.HasPrefix(l, "boskos_") || strings.HasPrefix(l, "# HELP boskos_") || strings.HasPrefix(l, "# TYPE boskos_") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

func compareGolden(t *testing.T, path string, got goldenResponse) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	require.NoError(t, err)
	b = append(b, '\n')
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, b, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file: run go test ./core/lambdaapp -run TestEvents -update")
	assert.Equal(t, string(want), string(b), "response differs from %s (go test -update to accept)", path)
}

// TestEventsAreConsistent checks each sample event the way API Gateway
// would have built it, since the handler reads only some of its fields but
// `sam local invoke -e` users read all of them: the route key is the
// function's (ANY <route>, or $default for the catch-all) and routes the
// raw path, pathParameters hold the values of the route's path variables
// (none for a route without any), the raw and parsed forms of the path
// and query agree, header names are lower case, and content-length is the
// length of the decoded body.
func TestEventsAreConsistent(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "*", "*.json"))
	require.NoError(t, err)
	for _, f := range files {
		fn := filepath.Base(filepath.Dir(f))
		if !isAPIEvents(fn) {
			continue
		}
		t.Run(fn+"-"+strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			var ev events.APIGatewayV2HTTPRequest
			require.NoError(t, json.Unmarshal(raw, &ev))
			rc := ev.RequestContext

			var keys []string
			for _, r := range Routes[fn] {
				if r == CatchAll {
					keys = append(keys, CatchAll)
				} else {
					keys = append(keys, "ANY "+r)
				}
			}
			assert.Contains(t, keys, ev.RouteKey, "routeKey of a %s event", fn)
			assert.Equal(t, ev.RouteKey, rc.RouteKey, "requestContext.routeKey")
			route, routed := strings.CutPrefix(ev.RouteKey, "ANY ")
			if routed {
				assert.True(t, MatchRoute(route, ev.RawPath), "rawPath %s is not routed to %s", ev.RawPath, ev.RouteKey)
			}
			wantParams := pathParameters(route, ev.RawPath) // nil for $default
			gotParams := ev.PathParameters
			if len(gotParams) == 0 {
				gotParams = nil
			}
			assert.Equal(t, wantParams, gotParams, "pathParameters of %s for %s", ev.RouteKey, ev.RawPath)
			assert.Equal(t, "$default", rc.Stage, "the API is served at the host root")
			assert.Equal(t, ev.RawPath, rc.HTTP.Path, "requestContext.http.path")
			assert.NotEmpty(t, rc.HTTP.Method)
			assert.NotEmpty(t, rc.RequestID)

			q, err := url.ParseQuery(ev.RawQueryString)
			require.NoError(t, err)
			want := map[string]string{}
			for k, v := range q {
				want[k] = strings.Join(v, ",") // API Gateway joins repeated parameters with commas
			}
			got := ev.QueryStringParameters
			if got == nil {
				got = map[string]string{}
			}
			assert.Equal(t, want, got, "queryStringParameters vs rawQueryString")

			for k := range ev.Headers {
				assert.Equal(t, strings.ToLower(k), k, "header names are lower case in payload 2.0")
			}
			body := []byte(ev.Body)
			if ev.IsBase64Encoded {
				body, err = base64.StdEncoding.DecodeString(ev.Body)
				require.NoError(t, err, "isBase64Encoded body")
			}
			if cl, ok := ev.Headers["content-length"]; ok {
				assert.Equal(t, strconv.Itoa(len(body)), cl, "content-length")
			} else {
				assert.Empty(t, body, "a body comes with content-length")
			}
		})
	}
}

// pathParameters is what API Gateway puts in pathParameters for path
// routed to route: each "{var}" segment's value from the same segment of
// path, a greedy "{proxy+}" the rest of path after its prefix; nil for a
// route without variables (or not a route: $default). The values are the
// segments as sent (the sample events' need no escaping).
func pathParameters(route, path string) map[string]string {
	if !strings.Contains(route, "{") {
		return nil
	}
	out := map[string]string{}
	if prefix, ok := strings.CutSuffix(route, greedy); ok {
		out["proxy"] = strings.TrimPrefix(path, prefix+"/")
		return out
	}
	ps := strings.Split(path, "/")
	for i, seg := range strings.Split(route, "/") {
		if v, ok := strings.CutPrefix(seg, "{"); ok && i < len(ps) {
			out[strings.TrimSuffix(v, "}")] = ps[i]
		}
	}
	return out
}

func TestPathParameters(t *testing.T) {
	tests := []struct {
		name, route, path string
		want              map[string]string
	}{
		{"no variables", "/v1/history", "/v1/history", nil},
		{"the catch-all", CatchAll, "/foo", nil},
		{"one variable", "/v1/resources/{name}/history", "/v1/resources/solo-1/history", map[string]string{"name": "solo-1"}},
		{"two variables", "/a/{x}/b/{y}", "/a/1/b/2", map[string]string{"x": "1", "y": "2"}},
		{"greedy", "/ui/{proxy+}", "/ui/js/app.js", map[string]string{"proxy": "js/app.js"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := pathParameters(tc.route, tc.path)
			assert.Equal(t, tc.want, got, "got %v, want %v", got, tc.want)
		})
	}
}

// TestLambdaQueueHeaders: through the real Lambda handler (httpadapter
// over the Boskos handler over dynamostore), a refused /acquire with a
// request_id carries its place in the queue as headers; the body is
// upstream's.
func TestLambdaQueueHeaders(t *testing.T) {
	fn := Lambda(seededHandler(t, nil), slog.New(slog.DiscardHandler), Routes["acquire"]...)
	for _, tc := range []struct {
		id, position, length string
	}{{"req-1", "1", "1"}, {"req-2", "2", "2"}, {"req-1", "1", "2"}} {
		resp, err := fn(context.Background(), event("POST", "/acquire", "type=held&state=free&dest=busy&owner=bob&request_id="+tc.id))
		require.NoError(t, err)
		assert.Equal(t, 404, resp.StatusCode, tc.id)
		assert.Equal(t, "Acquire failed: no available resource held, try again later.\n", resp.Body, tc.id)
		assert.Equal(t, tc.position, resp.Headers[httpapi.HeaderQueuePosition], "%s: position", tc.id)
		assert.Equal(t, tc.length, resp.Headers[httpapi.HeaderQueueLength], "%s: length", tc.id)
	}
}
