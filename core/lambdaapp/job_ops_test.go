package lambdaapp_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/s3config"
	"github.com/boskos-serverless/boskos/core/s3config/s3test"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// jobDynamoDBActions are the DynamoDB IAM actions each job function is
// granted in template.yaml (TestSAMTemplateJobs checks the template against
// it) and may issue (TestJobsOnDynamoDB checks what the jobs send against
// it): core/deploy's lists, which the CDK app grants too. A
// TransactWriteItems needs the actions of its items.
var jobDynamoDBActions = func() map[string][]string {
	out := map[string][]string{}
	for _, job := range lambdaapp.Jobs() {
		fn, ok := deploy.Lookup(job)
		if !ok {
			panic("core/deploy has no function " + job)
		}
		for _, a := range fn.DynamoDBActions {
			out[job] = append(out[job], strings.TrimPrefix(a, "dynamodb:"))
		}
	}
	return out
}()

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestJobsOnDynamoDB builds each job with NewJob, as its function does, on
// one DynamoDB Local table and an S3 object in gofakes3, and walks the life
// cycle the jobs maintain: the reconciler applies the object and creates
// the min-count dynamic resource, the reaper resets a stale lease, the
// cleaner tombstones a toBeDeleted dynamic resource and releases its
// leasedResources, the reconciler deletes the tombstone and refills. Every
// job's client counts its requests: what it sends must be within the
// actions its function is granted.
func TestJobsOnDynamoDB(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)}
	log := slog.New(slog.DiscardHandler)
	_, table := dynamotest.NewTable(t)
	srv := s3test.NewServer(t)
	srv.CreateBucket(t, "cfg")
	uri := s3config.URI{Bucket: "cfg", Key: "boskos.yaml"}
	_, err := s3config.New(srv.Client(t), uri).Put(ctx, []byte(`resources:
- type: proj
  state: free
  names: [p-1, p-2, p-3]
- type: vm
  state: free
  min-count: 1
  max-count: 2
  needs: {proj: 1}
`))
	require.NoError(t, err)

	// The IAM actions each job's requests need (a TransactWriteItems
	// counts as its items' actions).
	recorded := map[string]*dynamotest.Actions{}
	job := func(name string, set func(*lambdaapp.JobConfig)) maintenance.Job {
		a := &dynamotest.Actions{}
		recorded[name] = a
		jc := lambdaapp.JobConfig{
			Config: lambdaapp.Config{Table: table, RequestTTL: ranch.DefaultRequestTTL,
				Client: dynamotest.Client(t, a.Option), Now: clk.Now, Logger: log},
			Job: name, S3Client: srv.Client(t),
		}
		if set != nil {
			set(&jc)
		}
		j, err := lambdaapp.NewJob(ctx, jc)
		require.NoError(t, err)
		require.Equal(t, name, j.Name())
		return j
	}
	reconciler := job(lambdaapp.JobReconciler, func(jc *lambdaapp.JobConfig) { jc.ConfigURI = uri })
	reaper := job(lambdaapp.JobReaper, func(jc *lambdaapp.JobConfig) { jc.Reaper.Expire = time.Minute })
	cleaner := job(lambdaapp.JobCleaner, nil)
	// The clients' view through the API's ranch.
	api := ranch.New(dynamostore.New(dynamotest.Client(t), table, dynamostore.Options{}), ranch.Options{Now: clk.Now, Logger: log})
	states := func() map[string]string {
		all, err := api.Resources(ctx)
		require.NoError(t, err)
		out := map[string]string{}
		for _, r := range all {
			out[r.Name] = r.Type + "/" + r.State + "/" + r.Owner
		}
		return out
	}

	res, err := reconciler.RunOnce(ctx)
	require.NoError(t, err)
	assert.True(t, res.(maintenance.ReconcileReport).Synced, "%+v", res)
	vms, err := api.Metric(ctx, "vm")
	require.NoError(t, err)
	require.Equal(t, 1, vms.Current[boskos.Free], "min-count")

	// A lease that stops heart-beating is reset by the reaper once expired.
	p1, err := api.Acquire(ctx, "proj", boskos.Free, boskos.Busy, "alice", "")
	require.NoError(t, err)
	clk.Add(30 * time.Second)
	res, err = reaper.RunOnce(ctx)
	require.NoError(t, err)
	assert.Empty(t, res.(maintenance.ReapReport).Reaped, "not expired yet")
	clk.Add(31 * time.Second)
	res, err = reaper.RunOnce(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{p1.Name: "alice"}, res.(maintenance.ReapReport).Reaped)
	assert.Equal(t, "proj/dirty/", states()[p1.Name])
	assert.Error(t, api.Release(ctx, p1.Name, boskos.Free, "alice", nil), "the old holder's release fails")

	// Mason's way of building a vm: lease it and a proj, park the proj in
	// the vm's name as state, list it in leasedResources; release the vm
	// as toBeDeleted.
	vm, err := api.Acquire(ctx, "vm", boskos.Free, boskos.Busy, "mason", "")
	require.NoError(t, err)
	p, err := api.Acquire(ctx, "proj", boskos.Free, boskos.Busy, "mason", "")
	require.NoError(t, err)
	require.NoError(t, api.Release(ctx, p.Name, vm.Name, "mason", nil))
	lr, err := boskos.FormatLeasedResources([]string{p.Name})
	require.NoError(t, err)
	require.NoError(t, api.Update(ctx, vm.Name, "mason", boskos.Busy, boskos.UserData{boskos.LeasedResources: lr}, nil))
	require.NoError(t, api.Release(ctx, vm.Name, boskos.ToBeDeleted, "mason", nil))
	res, err = cleaner.RunOnce(ctx)
	require.NoError(t, err)
	cr := res.(ranch.CleanReport)
	assert.Equal(t, []string{vm.Name}, cr.Tombstoned)
	assert.Equal(t, []string{p.Name}, cr.Released)
	st := states()
	assert.Equal(t, "vm/tombstone/", st[vm.Name])
	assert.Equal(t, "proj/dirty/", st[p.Name])

	// The reconciler deletes the tombstone and refills min-count.
	_, err = reconciler.RunOnce(ctx)
	require.NoError(t, err)
	st = states()
	assert.NotContains(t, st, vm.Name)
	vms, err = api.Metric(ctx, "vm")
	require.NoError(t, err)
	assert.Equal(t, 1, vms.Current[boskos.Free], "min-count refilled")

	// The janitor cleans the two dirty projects through a webhook.
	var mu sync.Mutex
	var cleaned []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var res boskos.Resource
		if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		cleaned = append(cleaned, res.Name)
		mu.Unlock()
	}))
	defer hook.Close()
	jan := job(lambdaapp.JobJanitor, func(jc *lambdaapp.JobConfig) { jc.JanitorTargets = "proj=" + hook.URL })
	_, err = jan.RunOnce(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{p1.Name, p.Name}, cleaned)
	st = states()
	assert.Equal(t, "proj/free/", st[p1.Name])
	assert.Equal(t, "proj/free/", st[p.Name])

	for name, a := range recorded {
		var got []string
		for _, x := range a.List() {
			got = append(got, strings.TrimPrefix(x, "dynamodb:"))
		}
		t.Logf("%s needed %v", name, got)
		assert.Subset(t, jobDynamoDBActions[name], got, "%s issues DynamoDB actions it is not granted", name)
	}
}
