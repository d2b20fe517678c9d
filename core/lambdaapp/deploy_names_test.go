package lambdaapp_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// TestDeployRoutes: core/deploy's copy of the route table (which infra/
// imports) is lambdaapp.Routes exactly, and its API functions are the
// functions that have routes.
func TestDeployRoutes(t *testing.T) {
	assert.Equal(t, lambdaapp.Routes, deploy.Routes())
	assert.Equal(t, lambdaapp.CatchAll, deploy.CatchAll)
	var paths []string
	for _, r := range deploy.SortedRoutes() {
		if r != deploy.CatchAll {
			paths = append(paths, r)
		}
	}
	assert.ElementsMatch(t, lambdaapp.APIPaths, paths)
}

// TestDeployFunctionDirs: every function under functions/ is one of
// deploy.Functions (a new function without infrastructure fails here), and
// every API function of deploy.Functions has its directory.
func TestDeployFunctionDirs(t *testing.T) {
	mains, err := filepath.Glob("../../functions/*/main.go")
	require.NoError(t, err)
	require.NotEmpty(t, mains)
	for _, m := range mains {
		name := filepath.Base(filepath.Dir(m))
		_, ok := deploy.Lookup(name)
		assert.True(t, ok, "functions/%s is not in deploy.Functions", name)
	}
	for _, name := range deploy.Names(deploy.API) {
		_, err := os.Stat("../../functions/" + name + "/main.go")
		assert.NoError(t, err, "API function %s has no functions/%s/main.go", name)
	}
}

// TestDeployCredentialsReaders: the functions that read credentials
// (deploy's ReadsCredentials, which the stacks grant the secret) are the
// API functions, and exactly their mains give lambdaapp.Main the client of
// the remote credentials source (lambdacreds.Source); no job links it.
func TestDeployCredentialsReaders(t *testing.T) {
	for _, f := range deploy.Functions {
		t.Run(f.Name, func(t *testing.T) {
			assert.Equal(t, f.Kind == deploy.API, f.ReadsCredentials, "ReadsCredentials")
			src, err := os.ReadFile("../../functions/" + f.Name + "/main.go")
			require.NoError(t, err)
			file, err := parser.ParseFile(token.NewFileSet(), "main.go", src, parser.ImportsOnly)
			require.NoError(t, err)
			imports := false
			for _, imp := range file.Imports {
				imports = imports || imp.Path.Value == `"github.com/boskos-serverless/boskos/core/lambdaapp/lambdacreds"`
			}
			assert.Equal(t, f.ReadsCredentials, imports, "functions/%s imports lambdacreds", f.Name)
			if f.ReadsCredentials {
				assert.Contains(t, string(src), "lambdacreds.Source", "functions/%s passes lambdacreds.Source to Main", f.Name)
			}
		})
	}
}

// TestDeployEnvNames: the environment variable names of core/deploy are
// lambdaapp's. Every BOSKOS_* constant that lambdaapp declares must be one of
// deploy's (so a renamed or added variable fails here); those lambdaapp
// declares today are compared one by one.
func TestDeployEnvNames(t *testing.T) {
	tests := []struct {
		name         string
		deploy, code string
	}{
		{"table", deploy.EnvTable, lambdaapp.EnvTable},
		{"log level", deploy.EnvLogLevel, lambdaapp.EnvLogLevel},
		{"request ttl", deploy.EnvRequestTTL, lambdaapp.EnvRequestTTL},
		{"spread window", deploy.EnvSpreadWindow, lambdaapp.EnvSpreadWindow},
		{"credentials file", deploy.EnvCredentialsFile, lambdaapp.EnvCredentialsFile},
		{"anonymous metrics", deploy.EnvAnonymousMetrics, lambdaapp.EnvAnonymousMetrics},
		{"credentials secret", deploy.EnvCredentialsSecret, lambdaapp.EnvCredentialsSecret},
		{"credentials ttl", deploy.EnvCredentialsTTL, lambdaapp.EnvCredentialsTTL},
		{"history retention", deploy.EnvHistoryRetention, lambdaapp.EnvHistoryRetention},
		{"mason state machine", deploy.EnvMasonStateMachineARN, lambdaapp.EnvMasonStateMachineARN},
		{"mason wait", deploy.EnvMasonWait, lambdaapp.EnvMasonWait},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.code, tc.deploy)
		})
	}
	known := map[string]bool{}
	for _, v := range []string{deploy.EnvTable, deploy.EnvLogLevel, deploy.EnvRequestTTL, deploy.EnvSpreadWindow,
		deploy.EnvConfigURI, deploy.EnvReaperExpire, deploy.EnvReaperTargetState, deploy.EnvReaperExtraStates,
		deploy.EnvJanitorTargets, deploy.EnvJanitorMaxFailures, deploy.EnvCredentialsFile, deploy.EnvAnonymousMetrics,
		deploy.EnvCredentialsSecret, deploy.EnvCredentialsTTL, deploy.EnvHistoryRetention,
		deploy.EnvMasonStateMachineARN, deploy.EnvMasonWait} {
		known[v] = true
	}
	// Variables lambdaapp names only to refuse them at start (TestAuthFromEnv);
	// no function of deploy's may set them (the loop below).
	refused := map[string]bool{"BOSKOS_CREDENTIALS_PARAMETER": true}
	declared := boskosEnvConstants(t)
	require.NotEmpty(t, declared)
	for _, v := range declared {
		assert.True(t, known[v] || refused[v], "lambdaapp reads %s, which core/deploy does not name", v)
	}
	for _, f := range deploy.Functions {
		for _, v := range f.Env {
			assert.True(t, known[v], "%s: unknown variable %s", f.Name, v)
		}
	}
}

// boskosEnvConstants returns the BOSKOS_* string constants declared in
// lambdaapp's non-test files.
func boskosEnvConstants(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if v, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(v, "BOSKOS_") && !strings.ContainsAny(v, " %:") {
				out = append(out, v)
			}
			return true
		})
	}
	return out
}

// actionWorld is the shared DynamoDB Local table of TestDeployDynamoDBActions,
// its clock, and a ranch on an unrecorded client for setup.
type actionWorld struct {
	t     *testing.T
	ctx   context.Context
	table string
	clock *settableClock
	setup *ranch.Ranch
	log   *slog.Logger
	rec   map[string]*dynamotest.Actions
}

type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *settableClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// client returns a client whose IAM actions are recorded under fn, with
// extra options (hooks) applied.
func (w *actionWorld) client(fn string, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	a := w.rec[fn]
	if a == nil {
		a = &dynamotest.Actions{}
		w.rec[fn] = a
	}
	return dynamotest.Client(w.t, append([]func(*dynamodb.Options){a.Option}, opts...)...)
}

// ranch returns a ranch over a recorded client, as a job function builds it.
func (w *actionWorld) ranch(fn string, opts ...func(*dynamodb.Options)) *ranch.Ranch {
	return ranch.New(dynamostore.New(w.client(fn, opts...), w.table, dynamostore.Options{}),
		ranch.Options{Now: w.clock.Now, Logger: w.log})
}

// api returns the API function fn's handler (NewHandler restricted to its
// routes, as lambdaapp.Main serves it) over a recorded client.
func (w *actionWorld) api(fn string, opts ...func(*dynamodb.Options)) http.Handler {
	h, err := lambdaapp.NewHandler(w.ctx, lambdaapp.Config{
		Table: w.table, RequestTTL: ranch.DefaultRequestTTL, SpreadWindow: ranch.DefaultSpreadWindow,
		Now: w.clock.Now, Logger: w.log, Client: w.client(fn, opts...),
	})
	require.NoError(w.t, err)
	return lambdaapp.Only(h, w.log, lambdaapp.Routes[fn]...)
}

// do sends one request to h and checks its status.
func (w *actionWorld) do(t *testing.T, h http.Handler, method, target, body string, status int) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(method, target, rd))
	require.Equal(t, status, rr.Code, "%s %s: %s", method, target, rr.Body.String())
}

// beforeFirst runs fn once, before the client's first request of
// operation op (a concurrent writer, to walk a conflict path).
func beforeFirst(op string, fn func()) func(*dynamodb.Options) {
	var once sync.Once
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("deployTestBeforeFirst",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if middleware.GetOperationName(ctx) == op {
						once.Do(fn)
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	}
}

// staticSource is a maintenance.Source serving one document.
type staticSource struct{ data []byte }

func (s staticSource) Name() string { return "test:config.yaml" }
func (s staticSource) Fetch(_ context.Context, version string) (maintenance.Document, error) {
	v := strconv.Itoa(len(s.data))
	if version == v {
		return maintenance.Document{Version: v, NotModified: true}, nil
	}
	return maintenance.Document{Data: s.data, Version: v}, nil
}

const actionsConfig = `resources:
- type: proj
  state: free
  names: [p-1, p-2, p-3, p-4, p-5, p-6, p-7, p-8]
- type: vm
  state: free
  min-count: 0
  max-count: 4
  lifespan: 10m
  needs: {proj: 1}
`

// TestDeployDynamoDBActions proves every function's deploy.DynamoDBActions
// (its IAM policy in infra/) equal to the DynamoDB actions its handler
// issues: each function runs, on one DynamoDB Local table, the requests
// that walk every path of its use cases that reaches the store (a miss, a
// queued request_id, an on-demand creation, a conflict, a resource that is
// gone...), through a client that records the IAM action of every request
// (dynamotest.Actions: a TransactWriteItems counts as its items' actions).
// An action the handler issues but the list lacks would be AccessDenied in
// AWS; one the list has but no path issues is a needless grant.
//
// The API functions are the real handlers (NewHandler behind Only, as
// Main serves them). The jobs are core/maintenance's passes over a ranch
// on the recorded client. The janitor is driven through the ranch use
// cases core/janitor calls (Acquire without request_id, Update, Release,
// Metric), since its package is not merged yet.
func TestDeployDynamoDBActions(t *testing.T) {
	_, table := dynamotest.NewTable(t)
	log := slog.New(slog.DiscardHandler)
	w := &actionWorld{
		t: t, ctx: context.Background(), table: table, log: log,
		// In the future: DynamoDB Local's TTL sweeper deletes items whose
		// ttl passed by the wall clock.
		clock: &settableClock{t: time.Date(2100, 1, 2, 15, 4, 5, 0, time.UTC)},
		rec:   map[string]*dynamotest.Actions{},
	}
	w.setup = ranch.New(dynamostore.New(dynamotest.Client(t), table, dynamostore.Options{}),
		ranch.Options{Now: w.clock.Now, Logger: log, DRLCCacheTTL: -1})
	cfg, err := boskos.ParseValidConfig([]byte(actionsConfig))
	require.NoError(t, err)
	_, err = maintenance.Apply(w.ctx, w.setup, cfg, ranch.Origin{Source: "test:setup"})
	require.NoError(t, err)
	ctx := w.ctx
	var carols []string // the names acquirebystate leases to carol

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"acquire", func(t *testing.T) {
			h := w.api(deploy.FnAcquire)
			w.do(t, h, "POST", "/acquire?type=proj&state=free&dest=busy&owner=alice", "", 200)
			// No vm exists: the request id is queued and one vm is created
			// on demand (a transaction of a Put and the counter's Update).
			w.do(t, h, "POST", "/acquire?type=vm&state=free&dest=busy&owner=bob&request_id=r1", "", 404)
			// The queued id takes it: the lease and the entry's deletion in
			// one transaction.
			w.do(t, h, "POST", "/acquire?type=vm&state=free&dest=busy&owner=bob&request_id=r1", "", 200)
			// Nothing free, no request id: the type's counter.
			w.do(t, h, "POST", "/acquire?type=proj&state=cleaning&dest=busy&owner=bob", "", 404)
		}},
		{"acquirebystate", func(t *testing.T) {
			// Two free names (acquire picks at random within its spread window).
			all, err := w.setup.Resources(ctx)
			require.NoError(t, err)
			for _, r := range all {
				if r.Type == "proj" && r.State == boskos.Free && len(carols) < 2 {
					carols = append(carols, r.Name)
				}
			}
			require.Len(t, carols, 2)
			h := w.api(deploy.FnAcquireByState)
			w.do(t, h, "POST", "/acquirebystate?state=free&dest=busy&owner=carol&names="+carols[0]+","+carols[1], "", 200)
			w.do(t, h, "POST", "/acquirebystate?state=free&dest=busy&owner=carol&names="+carols[0]+",nope", "", 404)
		}},
		{"update", func(t *testing.T) {
			h := w.api(deploy.FnUpdate)
			w.do(t, h, "POST", "/update?name="+carols[0]+"&state=busy&owner=carol", `{"k":"v"}`, 200)
			var sb strings.Builder
			sb.WriteString("{")
			for i := range 70 {
				if i > 0 {
					sb.WriteString(",")
				}
				sb.WriteString(`"k` + strconv.Itoa(i) + `":"v"`)
			}
			sb.WriteString("}")
			w.do(t, h, "POST", "/update?name="+carols[0]+"&state=busy&owner=carol", sb.String(), 200) // read, merge, write
			w.do(t, h, "POST", "/update?name=nope&state=busy&owner=carol", "", 404)
		}},
		{"release", func(t *testing.T) {
			h := w.api(deploy.FnRelease)
			w.do(t, h, "POST", "/release?name="+carols[1]+"&dest=dirty&owner=carol", "", 200)
			w.do(t, h, "POST", "/release?name=nope&dest=dirty&owner=carol", "", 404)
			// A dynamic resource: its lifespan restarts (the life cycles
			// re-read, a second write).
			vm, err := w.setup.Acquire(ctx, "vm", boskos.Free, boskos.Busy, "dave", "")
			if err != nil { // none free (bob holds the one): create one
				w.do(t, w.api(deploy.FnAcquire), "POST", "/acquire?type=vm&state=free&dest=busy&owner=dave&request_id=r2", "", 404)
				vm, err = w.setup.Acquire(ctx, "vm", boskos.Free, boskos.Busy, "dave", "r2")
			}
			require.NoError(t, err)
			w.do(t, h, "POST", "/release?name="+vm.Name+"&dest=dirty&owner=dave", "", 200)
		}},
		{"reset", func(t *testing.T) {
			w.clock.Add(time.Hour)
			_, err := w.setup.Acquire(ctx, "proj", boskos.Free, boskos.Leased, "erin", "")
			require.NoError(t, err)
			leased, err := w.setup.Acquire(ctx, "proj", boskos.Free, boskos.Leased, "erin", "")
			require.NoError(t, err)
			w.clock.Add(time.Hour)
			// A heartbeat lands between reset's query and its write: the
			// write conflicts and reset re-reads the resource.
			h := w.api(deploy.FnReset, beforeFirst("UpdateItem", func() {
				require.NoError(t, w.setup.Update(ctx, leased.Name, "erin", boskos.Leased, nil, nil))
			}))
			w.do(t, h, "POST", "/reset?type=proj&state=leased&expire=30m&dest=dirty", "", 200)
		}},
		{"metric", func(t *testing.T) {
			h := w.api(deploy.FnMetric)
			w.do(t, h, "GET", "/metric?type=proj", "", 200)
			w.do(t, h, "GET", "/some/other/path", "", 200) // the catch-all
		}},
		{"metrics", func(t *testing.T) {
			w.do(t, w.api(deploy.FnMetrics), "GET", "/metrics", "", 200)
		}},
		{"historywriter", func(t *testing.T) {
			h := lambdaapp.HistoryWriter(dynamostore.New(w.client(deploy.FnHistoryWriter), w.table, dynamostore.Options{}), ranch.HistoryOptions{Now: w.clock.Now}, log)
			ev := historyEvent(w.clock.Now())
			for range 2 { // the second delivery finds its record there
				resp, err := h(ctx, ev)
				require.NoError(t, err)
				require.Empty(t, resp.BatchItemFailures)
			}
		}},
		{"history", func(t *testing.T) {
			h := w.api(deploy.FnHistory)
			w.do(t, h, "GET", "/v1/resources/p-1/history", "", 200)
			w.do(t, h, "GET", "/v1/history", "", 200)
			w.do(t, h, "GET", "/v1/history?type=proj&owner=alice", "", 200)
			w.do(t, h, "GET", "/v1/usage", "", 200)
		}},
		{"read", func(t *testing.T) {
			// The read API over every list (the types' counters, index
			// partitions, the queue's keys) and the dashboard's files.
			h := w.api(deploy.FnRead)
			w.do(t, h, "GET", "/v1/types", "", 200)
			w.do(t, h, "GET", "/v1/resources", "", 200)
			w.do(t, h, "GET", "/v1/resources?type=proj&state=busy&owner=alice&limit=1", "", 200)
			w.do(t, h, "GET", "/v1/queue", "", 200)
			w.do(t, h, "GET", "/v1/queue?type=vm&state=free", "", 200)
			w.do(t, h, "GET", "/ui/", "", 200)
			w.do(t, h, "GET", "/ui/app.js", "", 200)
		}},
		{"janitor", func(t *testing.T) {
			r := w.ranch(deploy.FnJanitor)
			m, err := r.Metric(ctx, "proj")
			require.NoError(t, err)
			require.NotZero(t, m.Current[boskos.Dirty])
			res, err := r.Acquire(ctx, "proj", boskos.Dirty, boskos.Cleaning, "janitor", "")
			require.NoError(t, err)
			require.NoError(t, r.Update(ctx, res.Name, "janitor", boskos.Cleaning, boskos.UserData{"janitor": "1"}, &res.Epoch))
			require.NoError(t, r.Release(ctx, res.Name, boskos.Free, "janitor", &res.Epoch))
			_, err = r.Acquire(ctx, "proj", boskos.Tombstone, boskos.Cleaning, "janitor", "")
			require.Error(t, err) // none: the type's counter
			// A dynamic resource cleaned: release with its lifespan.
			vm, err := w.setup.Acquire(ctx, "vm", boskos.Dirty, boskos.Busy, "x", "")
			require.NoError(t, err)
			require.NoError(t, w.setup.Release(ctx, vm.Name, boskos.Dirty, "x", nil))
			got, err := r.Acquire(ctx, "vm", boskos.Dirty, boskos.Cleaning, "janitor", "")
			require.NoError(t, err)
			require.NoError(t, r.Release(ctx, got.Name, boskos.Free, "janitor", &got.Epoch))
			require.Error(t, r.Release(ctx, "nope", boskos.Free, "janitor", nil))
		}},
		{"reaper", func(t *testing.T) {
			_, err := w.setup.Acquire(ctx, "proj", boskos.Free, boskos.Busy, "frank", "")
			require.NoError(t, err)
			stale, err := w.setup.Acquire(ctx, "proj", boskos.Free, boskos.Busy, "frank", "")
			require.NoError(t, err)
			w.clock.Add(time.Hour)
			p, err := maintenance.NewReaper(w.ranch(deploy.FnReaper, beforeFirst("UpdateItem", func() {
				require.NoError(t, w.setup.Update(ctx, stale.Name, "frank", boskos.Busy, nil, nil))
			})), maintenance.ReaperOptions{Expire: 30 * time.Minute, Logger: log})
			require.NoError(t, err)
			rep, err := p.Reap(ctx)
			require.NoError(t, err)
			require.NotEmpty(t, rep.Reaped)
		}},
		{"cleaner", func(t *testing.T) {
			// Mason's way: a vm holds a proj (in the vm's name as state,
			// listed in leasedResources) and is released toBeDeleted.
			vm, err := w.setup.Acquire(ctx, "vm", boskos.Free, boskos.Busy, "mason", "")
			require.NoError(t, err)
			p, err := w.setup.Acquire(ctx, "proj", boskos.Free, boskos.Busy, "mason", "")
			require.NoError(t, err)
			require.NoError(t, w.setup.Release(ctx, p.Name, vm.Name, "mason", nil))
			lr, err := boskos.FormatLeasedResources([]string{p.Name})
			require.NoError(t, err)
			require.NoError(t, w.setup.Update(ctx, vm.Name, "mason", boskos.Busy, boskos.UserData{boskos.LeasedResources: lr}, nil))
			require.NoError(t, w.setup.Release(ctx, vm.Name, boskos.ToBeDeleted, "mason", nil))
			rep, err := maintenance.NewCleaner(w.ranch(deploy.FnCleaner)).RunOnce(ctx)
			require.NoError(t, err)
			require.NotEmpty(t, rep.(ranch.CleanReport).Tombstoned)
		}},
		{"reconciler", func(t *testing.T) {
			// A stale queue entry, a tombstone (from the cleaner), expired
			// vms, and a new config: a new static name, one dropped, a
			// higher min-count.
			w.do(t, w.api(deploy.FnAcquire), "POST", "/acquire?type=proj&state=nothere&dest=busy&owner=gina&request_id=r9", "", 404)
			w.clock.Add(time.Hour)
			next := strings.Replace(actionsConfig, "p-8]", "p-9]", 1)
			next = strings.Replace(next, "min-count: 0", "min-count: 2", 1)
			c := maintenance.NewReconciler(w.ranch(deploy.FnReconciler),
				maintenance.ReconcilerOptions{Source: staticSource{data: []byte(next)}, Logger: log})
			rep, err := c.Reconcile(ctx)
			require.NoError(t, err)
			require.True(t, rep.Synced, "%+v", rep)
			_, err = c.Reconcile(ctx) // unchanged
			require.NoError(t, err)
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.FailNow()
		}
	}
	for _, f := range deploy.Functions {
		if f.Kind == deploy.Step || f.Name == deploy.FnMasonDispatch {
			continue // TestMasonDynamoDBActions
		}
		t.Run("actions/"+f.Name, func(t *testing.T) {
			a := w.rec[f.Name]
			require.NotNil(t, a, "no scenario ran %s", f.Name)
			assert.Equal(t, f.DynamoDBActions, a.List(), "got the actions %s issued, want deploy.Functions' list", f.Name)
		})
	}
}

// historyEvent is a stream batch of one resource's acquire, as Lambda
// delivers it.
func historyEvent(now time.Time) events.DynamoDBEvent {
	ts := now.UTC().Format("2006-01-02T15:04:05.000000000Z")
	img := func(v, owner string) map[string]events.DynamoDBAttributeValue {
		m := map[string]events.DynamoDBAttributeValue{
			"pk": events.NewStringAttribute("resource"), "sk": events.NewStringAttribute("hw-1"),
			"v": events.NewNumberAttribute(v), "type": events.NewStringAttribute("proj"),
			"name": events.NewStringAttribute("hw-1"), "state": events.NewStringAttribute("free"),
			"lastupdate": events.NewStringAttribute(ts), "epoch": events.NewNumberAttribute("0"),
			"userdata": events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{}),
		}
		if owner != "" {
			m["owner"] = events.NewStringAttribute(owner)
			m["state"] = events.NewStringAttribute("busy")
			m["epoch"] = events.NewNumberAttribute("1")
		}
		return m
	}
	return events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
		EventName: "MODIFY",
		Change: events.DynamoDBStreamRecord{
			SequenceNumber: "100", OldImage: img("1", ""), NewImage: img("2", "alice"),
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: now},
		},
	}}}
}
