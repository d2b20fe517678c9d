package s3config_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/s3config"
	"github.com/boskos-serverless/boskos/core/s3config/s3test"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// TestMain stops the DynamoDB Local that dynamotest may start.
func TestMain(m *testing.M) { dynamotest.Main(m) }

// staticConfig is a resources file with n static resources of one type and
// one dynamic type.
func staticConfig(n int) []byte {
	var b strings.Builder
	b.WriteString("resources:\n- type: static\n  state: free\n  names:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - static-%04d\n", i)
	}
	b.WriteString("- type: dyn\n  state: free\n  min-count: 1\n  max-count: 2\n")
	return []byte(b.String())
}

// TestReconcilerUnchangedCost pins what a reconciler pass costs when the
// config object did not change: exactly one S3 request (a GET answered
// 304) and the same DynamoDB requests at 10 and at 1000 static resources.
// The figures are logged (go test -v -run ReconcilerUnchangedCost) and
// quoted in the README.
func TestReconcilerUnchangedCost(t *testing.T) {
	ctx := context.Background()
	srv := s3test.NewServer(t)
	srv.CreateBucket(t, "cfg")
	costs := map[int]map[string]int{}
	for _, n := range []int{10, 1000} {
		t.Run(fmt.Sprintf("%d static", n), func(t *testing.T) {
			var ddb dynamotest.Counter
			client, table := dynamotest.NewTable(t, ddb.Option)
			r := ranch.New(dynamostore.New(client, table, dynamostore.Options{}), ranch.Options{Logger: slog.New(slog.DiscardHandler)})
			src := s3config.New(srv.Client(t), s3config.URI{Bucket: "cfg", Key: fmt.Sprintf("n%d.yaml", n)})
			_, err := src.Put(ctx, staticConfig(n))
			require.NoError(t, err)
			rc := maintenance.NewReconciler(r, maintenance.ReconcilerOptions{Source: src, Logger: slog.New(slog.DiscardHandler)})

			first, err := rc.Reconcile(ctx)
			require.NoError(t, err)
			require.True(t, first.Fetched && first.Synced, "the first pass applies the object: %+v", first)
			all, err := r.Resources(ctx)
			require.NoError(t, err)
			require.Len(t, all, n+1, "static resources and min-count dynamic one")

			for pass := range 3 {
				srv.Reset()
				ddb.Reset()
				rep, err := rc.Reconcile(ctx)
				require.NoError(t, err)
				assert.False(t, rep.Fetched || rep.Synced, "pass %d: nothing to do: %+v", pass, rep)
				assert.Equal(t, map[string]int{"GET 304": 1}, srv.Counts(), "pass %d: S3 requests", pass)
				if pass == 0 {
					costs[n] = ddb.Counts()
				} else {
					assert.Equal(t, costs[n], ddb.Counts(), "pass %d: DynamoDB requests are the same every pass", pass)
				}
			}
			t.Logf("unchanged config, %d static resources: S3 1 GET (304); DynamoDB %v (total %d)", n, costs[n], total(costs[n]))
		})
	}
	assert.Equal(t, costs[10], costs[1000], "DynamoDB requests per unchanged pass do not grow with static resources")
	assert.LessOrEqual(t, total(costs[1000]), 8, "DynamoDB requests per unchanged pass")
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestReconcilerRefusesInvalidObject: an object that fails validation is
// refused with every error, the config in force is kept, and while it stays
// unchanged each pass is again one 304.
func TestReconcilerRefusesInvalidObject(t *testing.T) {
	ctx := context.Background()
	srv := s3test.NewServer(t)
	srv.CreateBucket(t, "cfg")
	client, table := dynamotest.NewTable(t)
	r := ranch.New(dynamostore.New(client, table, dynamostore.Options{}), ranch.Options{Logger: slog.New(slog.DiscardHandler)})
	src := s3config.New(srv.Client(t), s3config.URI{Bucket: "cfg", Key: "boskos.yaml"})
	rc := maintenance.NewReconciler(r, maintenance.ReconcilerOptions{Source: src, Logger: slog.New(slog.DiscardHandler)})

	good, err := src.Put(ctx, staticConfig(2))
	require.NoError(t, err)
	_, err = rc.Reconcile(ctx)
	require.NoError(t, err)

	_, err = src.Put(ctx, []byte("resources:\n- type: a\n  names: [Bad_Name]\n- type: b\n  min-count: 3\n  max-count: 1\n"))
	require.NoError(t, err)
	rep, err := rc.Reconcile(ctx)
	require.NoError(t, err)
	assert.True(t, rep.Fetched)
	assert.False(t, rep.Synced)
	assert.Contains(t, rep.Invalid, "Bad_Name")
	assert.Contains(t, rep.Invalid, "min-count", "every error is reported")
	a, err := r.AppliedConfig(ctx)
	require.NoError(t, err)
	assert.Equal(t, good, a.Version, "the config in force is kept")
	assert.Equal(t, []string{"dyn", "static"}, a.Types)

	srv.Reset()
	rep, err = rc.Reconcile(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, rep.Invalid)
	assert.Equal(t, map[string]int{"GET 304": 1}, srv.Counts(), "an unchanged refused object is not read again")
}

// BenchmarkReconcilerUnchanged measures a reconciler pass over an unchanged
// config object on DynamoDB Local, and reports the requests it makes:
//
//	go test ./core/s3config -run '^$' -bench ReconcilerUnchanged
func BenchmarkReconcilerUnchanged(b *testing.B) {
	ctx := context.Background()
	srv := s3test.NewServer(b)
	srv.CreateBucket(b, "cfg")
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("static=%d", n), func(b *testing.B) {
			var ddb dynamotest.Counter
			client, table := dynamotest.NewTable(b, ddb.Option)
			r := ranch.New(dynamostore.New(client, table, dynamostore.Options{}), ranch.Options{Logger: slog.New(slog.DiscardHandler)})
			src := s3config.New(srv.Client(b), s3config.URI{Bucket: "cfg", Key: fmt.Sprintf("bench%d.yaml", n)})
			if _, err := src.Put(ctx, staticConfig(n)); err != nil {
				b.Fatal(err)
			}
			rc := maintenance.NewReconciler(r, maintenance.ReconcilerOptions{Source: src, Logger: slog.New(slog.DiscardHandler)})
			if _, err := rc.Reconcile(ctx); err != nil {
				b.Fatal(err)
			}
			srv.Reset()
			ddb.Reset()
			b.ResetTimer()
			for b.Loop() {
				if _, err := rc.Reconcile(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(srv.Total())/float64(b.N), "s3-requests/op")
			b.ReportMetric(float64(ddb.Total())/float64(b.N), "dynamodb-requests/op")
		})
	}
}
