package compat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/s3config"
	"github.com/boskos-serverless/boskos/core/s3config/s3test"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/tests/compat/lambdarun"
)

// jobsConfig is the resources file of TestLambdaJobs: static projects and a
// dynamic vm type made of one project each.
const jobsConfig = `resources:
- type: proj
  state: free
  names: [p-1, p-2, p-3]
- type: vm
  state: free
  min-count: 1
  max-count: 2
  needs: {proj: 1}
`

// jobReport is what a job function answers (lambdaapp.JobReport), with the
// results of the jobs this test reads.
type jobReport struct {
	Job               string `json:"job"`
	EventID           string `json:"event_id"`
	StoppedAtDeadline bool   `json:"stopped_at_deadline"`
	Error             string `json:"error"`
	Result            struct {
		// reconciler
		Fetched bool
		Synced  bool
		Invalid string
		// reaper
		Reaped map[string]string
		// cleaner
		Tombstoned []string
		Released   []string
		// janitor
		Claimed map[string]int
	} `json:"result"`
}

// api is a client of the Boskos HTTP API at base.
type api struct {
	t    *testing.T
	base string
}

// call POSTs (or GETs, for /metric) path?query and returns the status and body.
func (a api) call(method, path string, q url.Values, body string) (int, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path+"?"+q.Encode(), strings.NewReader(body))
	require.NoError(a.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	return resp.StatusCode, string(b)
}

// acquire leases a resource of rtype and returns its name.
func (a api) acquire(rtype, owner string) string {
	a.t.Helper()
	code, body := a.call(http.MethodPost, "/acquire", url.Values{"type": {rtype}, "state": {"free"}, "dest": {"busy"}, "owner": {owner}}, "")
	require.Equal(a.t, http.StatusOK, code, body)
	var r struct{ Name string }
	require.NoError(a.t, json.Unmarshal([]byte(body), &r))
	return r.Name
}

// metric returns the resources of rtype by state.
func (a api) metric(rtype string) map[string]int {
	a.t.Helper()
	code, body := a.call(http.MethodGet, "/metric", url.Values{"type": {rtype}}, "")
	require.Equal(a.t, http.StatusOK, code, body)
	var m struct{ Current map[string]int }
	require.NoError(a.t, json.Unmarshal([]byte(body), &m))
	return m.Current
}

// TestLambdaJobs runs the real bootstrap of each scheduled job function
// under the fake Lambda Runtime API, invoked with its sample EventBridge
// scheduled event, against DynamoDB Local and an S3 (gofakes3 over HTTP,
// the real SDK, path-style through AWS_ENDPOINT_URL_S3), and checks their
// effect through the Boskos HTTP API served on the same table.
func TestLambdaJobs(t *testing.T) {
	bins := buildLambdas(t)
	for _, name := range lambdaapp.Jobs() {
		require.Contains(t, bins, name, "job function %s was not built", name)
	}
	endpoint := dynamotest.Endpoint(t)
	client, table := dynamotest.NewTable(t)
	s3srv := s3test.NewServer(t)
	s3srv.CreateBucket(t, "cfg")
	obj := s3config.New(s3srv.Client(t), s3config.URI{Bucket: "cfg", Key: "boskos.yaml"})
	h, err := lambdaapp.NewHandler(context.Background(), lambdaapp.Config{Table: table, Client: client,
		RequestTTL: ranch.DefaultRequestTTL, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	boskos := api{t: t, base: srv.URL}

	env := []string{
		"BOSKOS_TABLE=" + table,
		"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
		"AWS_ENDPOINT_URL_S3=" + s3srv.URL,
		"BOSKOS_CONFIG_URI=s3://cfg/boskos.yaml",
		"BOSKOS_REAPER_EXPIRE=1s",
		"BOSKOS_LOG_LEVEL=info",
	}
	fns := map[string]*lambdarun.Function{}
	for _, name := range []string{lambdaapp.JobReconciler, lambdaapp.JobReaper, lambdaapp.JobCleaner} {
		fn, err := lambdarun.StartFunction(name, bins[name], lambdarun.Options{Env: env, Timeout: 30 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() {
			require.NoError(t, fn.Stop())
			if t.Failed() {
				t.Logf("logs of %s:\n%s", name, fn.Logs())
			}
		})
		fns[name] = fn
	}
	invoke := func(name string) jobReport {
		t.Helper()
		ev, err := os.ReadFile(filepath.Join("..", "..", "events", name, "scheduled.json"))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := fns[name].Invoke(ctx, ev)
		require.NoError(t, err, "invoke %s", name)
		var rep jobReport
		require.NoError(t, json.Unmarshal(out, &rep), "%s answered %s", name, out)
		require.Equal(t, name, rep.Job)
		require.NotEmpty(t, rep.EventID)
		require.Empty(t, rep.Error)
		require.False(t, rep.StoppedAtDeadline)
		return rep
	}
	// poll invokes job until done says the effect is there, at most 20 s.
	poll := func(job string, done func(jobReport) bool) jobReport {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			rep := invoke(job)
			if done(rep) {
				return rep
			}
			require.True(t, time.Now().Before(deadline), "%s: no effect within 20s; last report %+v", job, rep)
			<-tick.C
		}
	}

	t.Run("reconciler applies the config object", func(t *testing.T) {
		_, err := obj.Put(context.Background(), []byte(jobsConfig))
		require.NoError(t, err)
		rep := invoke(lambdaapp.JobReconciler)
		assert.True(t, rep.Result.Fetched && rep.Result.Synced, "%+v", rep)
		assert.Equal(t, map[string]int{"free": 3}, boskos.metric("proj"))
		assert.Equal(t, map[string]int{"free": 1}, boskos.metric("vm"), "min-count")

		s3srv.Reset()
		rep = invoke(lambdaapp.JobReconciler)
		assert.False(t, rep.Result.Fetched || rep.Result.Synced, "%+v", rep)
		assert.Equal(t, map[string]int{"GET 304": 1}, s3srv.Counts(), "an unchanged object costs one S3 request")
	})

	t.Run("reconciler refuses an invalid object and keeps the config in force", func(t *testing.T) {
		_, err := obj.Put(context.Background(), []byte("resources:\n- type: proj\n  names: [P_1]\n- type: vm\n  min-count: 5\n  max-count: 1\n"))
		require.NoError(t, err)
		rep := invoke(lambdaapp.JobReconciler)
		assert.True(t, rep.Result.Fetched)
		assert.False(t, rep.Result.Synced)
		assert.Contains(t, rep.Result.Invalid, "P_1")
		assert.Contains(t, rep.Result.Invalid, "min-count", "every error")
		assert.Equal(t, map[string]int{"free": 3}, boskos.metric("proj"), "config in force kept")
		assert.Contains(t, fns[lambdaapp.JobReconciler].Logs(), `"msg":"reconciler: refused an invalid config document; keeping the config in force"`)

		s3srv.Reset()
		rep = invoke(lambdaapp.JobReconciler)
		assert.NotEmpty(t, rep.Result.Invalid)
		assert.Equal(t, map[string]int{"GET 304": 1}, s3srv.Counts())

		_, err = obj.Put(context.Background(), []byte(jobsConfig))
		require.NoError(t, err)
		rep = invoke(lambdaapp.JobReconciler)
		assert.True(t, rep.Result.Fetched)
		assert.Empty(t, rep.Result.Invalid, "the good object again")
	})

	t.Run("reaper resets a lease that stopped heart-beating", func(t *testing.T) {
		name := boskos.acquire("proj", "alice")
		rep := poll(lambdaapp.JobReaper, func(r jobReport) bool { return r.Result.Reaped[name] != "" })
		assert.Equal(t, "alice", rep.Result.Reaped[name])
		assert.Equal(t, 1, boskos.metric("proj")["dirty"])
		code, body := boskos.call(http.MethodPost, "/release", url.Values{"name": {name}, "dest": {"free"}, "owner": {"alice"}}, "")
		assert.Equal(t, http.StatusUnauthorized, code, "the old holder's release fails: %s", body)
		code, body = boskos.call(http.MethodPost, "/update", url.Values{"name": {name}, "state": {"busy"}, "owner": {"alice"}}, "")
		assert.Equal(t, http.StatusUnauthorized, code, "and its heartbeat: %s", body)
	})

	t.Run("cleaner tombstones a toBeDeleted dynamic resource and releases its leasedResources", func(t *testing.T) {
		vm := boskos.acquire("vm", "mason")
		p := boskos.acquire("proj", "mason")
		code, body := boskos.call(http.MethodPost, "/release", url.Values{"name": {p}, "dest": {vm}, "owner": {"mason"}}, "")
		require.Equal(t, http.StatusOK, code, body)
		code, body = boskos.call(http.MethodPost, "/update", url.Values{"name": {vm}, "state": {"busy"}, "owner": {"mason"}},
			fmt.Sprintf(`{"leasedResources": "[\"%s\"]"}`, p))
		require.Equal(t, http.StatusOK, code, body)
		code, body = boskos.call(http.MethodPost, "/release", url.Values{"name": {vm}, "dest": {"toBeDeleted"}, "owner": {"mason"}}, "")
		require.Equal(t, http.StatusOK, code, body)

		rep := invoke(lambdaapp.JobCleaner)
		assert.Equal(t, []string{vm}, rep.Result.Tombstoned)
		assert.Equal(t, []string{p}, rep.Result.Released)
		assert.Equal(t, 1, boskos.metric("vm")["tombstone"])
		assert.Equal(t, 2, boskos.metric("proj")["dirty"], "the reaped one and the released one")

		invoke(lambdaapp.JobReconciler)
		assert.Equal(t, map[string]int{"free": 1}, boskos.metric("vm"), "tombstone deleted, min-count refilled")
	})

	t.Run("janitor cleans the dirty projects through a webhook", func(t *testing.T) {
		var mu sync.Mutex
		var cleaned []string
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var res struct {
				Name  string `json:"name"`
				State string `json:"state"`
				Owner string `json:"owner"`
			}
			if err := json.NewDecoder(r.Body).Decode(&res); err != nil || res.State != "cleaning" || res.Owner != "janitor" {
				http.Error(w, fmt.Sprintf("unexpected resource %+v (%v)", res, err), http.StatusBadRequest)
				return
			}
			mu.Lock()
			cleaned = append(cleaned, res.Name)
			mu.Unlock()
		}))
		t.Cleanup(hook.Close)
		require.Equal(t, 2, boskos.metric("proj")["dirty"])
		fn, err := lambdarun.StartFunction(lambdaapp.JobJanitor, bins[lambdaapp.JobJanitor], lambdarun.Options{
			Env: append(append([]string(nil), env...), "BOSKOS_JANITOR_TARGETS=proj="+hook.URL), Timeout: 30 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() {
			require.NoError(t, fn.Stop())
			if t.Failed() {
				t.Logf("logs of the janitor:\n%s", fn.Logs())
			}
		})
		fns[lambdaapp.JobJanitor] = fn
		rep := invoke(lambdaapp.JobJanitor)
		assert.Equal(t, map[string]int{"proj": 2}, rep.Result.Claimed)
		assert.Len(t, cleaned, 2)
		assert.Equal(t, map[string]int{"free": 3}, boskos.metric("proj"), "cleaned and released free")
	})

	t.Run("bad environment", func(t *testing.T) {
		tests := []struct {
			name string
			job  string
			env  []string
			want []string
		}{
			{name: "reaper", job: lambdaapp.JobReaper, env: []string{"BOSKOS_REAPER_EXPIRE=-1s", "BOSKOS_REAPER_EXTRA_STATES=a,,b"},
				want: []string{"BOSKOS_TABLE: must be set", `BOSKOS_REAPER_EXPIRE: "-1s" must be positive`, "BOSKOS_REAPER_EXTRA_STATES"}},
			{name: "reconciler", job: lambdaapp.JobReconciler, env: []string{"BOSKOS_TABLE=t-1", "BOSKOS_CONFIG_URI=cfg/boskos.yaml"},
				want: []string{`BOSKOS_CONFIG_URI: "cfg/boskos.yaml" is not an S3 URI (s3://bucket/key)`}},
			{name: "janitor", job: lambdaapp.JobJanitor, env: []string{"BOSKOS_TABLE=t-1", "BOSKOS_JANITOR_TARGETS=proj", "BOSKOS_JANITOR_MAX_FAILURES=0"},
				want: []string{`BOSKOS_JANITOR_TARGETS: entry "proj": want TYPE=TARGET`, "BOSKOS_JANITOR_MAX_FAILURES"}},
			{name: "janitor target neither URL nor function", job: lambdaapp.JobJanitor, env: []string{"BOSKOS_TABLE=t-1", "BOSKOS_JANITOR_TARGETS=proj=not a function"},
				want: []string{`"not a function" is not a Lambda function name or ARN`}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				code, out, err := lambdarun.RunOnce(bins[tc.job], tc.env, time.Minute)
				require.NoError(t, err)
				assert.NotEqual(t, 0, code, "exit code; output:\n%s", out)
				for _, w := range tc.want {
					assert.Contains(t, out, w)
				}
			})
		}
	})
}
