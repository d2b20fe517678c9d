package janitor_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
)

// BenchmarkClean measures resources cleaned per second by one janitor
// with a no-op command (`true`, one fork and exec per resource) at
// per-type concurrency 1, 4 and 16: b.N dirty resources of one type, one
// RunOnce. Each cleanup is a claim, the command, and a release. The
// "func" cases replace the command by an in-process no-op Cleaner: the
// janitor's and the store's own cost.
func BenchmarkClean(b *testing.B) {
	noop := always(janitor.Cleaned, nil)
	cmd, err := janitor.NewCommand("true")
	require.NoError(b, err)
	for _, bk := range backends[:2] { // memstore, boltstore
		for _, cl := range []struct {
			name    string
			cleaner janitor.Cleaner
		}{{"command", cmd}, {"func", noop}} {
			for _, c := range []int{1, 4, 16} {
				benchClean(b, bk.Name+"/"+cl.name+"/concurrency="+itoa(c), bk.Open, cl.cleaner, c)
			}
		}
	}
}

func benchClean(b *testing.B, name string, open func(testing.TB) store.Store, cleaner janitor.Cleaner, c int) {
	b.Run(name, func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		r := ranch.New(s, ranch.Options{Logger: quiet, SpreadWindow: ranch.DefaultSpreadWindow}) // as serve
		cfg := &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "gce-project", State: boskos.Dirty, Names: names("p", b.N)}}}
		require.NoError(b, r.SyncConfig(ctx, cfg))
		j, err := janitor.New(r, janitor.Options{Types: types("gce-project"), Targets: janitor.Targets{All: cleaner},
			Concurrency: c, Logger: quiet})
		require.NoError(b, err)
		b.ResetTimer()
		_, err = j.RunOnce(ctx)
		b.StopTimer()
		require.NoError(b, err)
		require.Equal(b, int64(b.N), j.Stats().Cleaned)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resources/s")
	})
}
