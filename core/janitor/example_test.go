package janitor_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// A local server: --janitor-command values, checked against the config's
// types at start-up, then a pass every period with the server's lifetime
// context (cleanups outlive a pass).
func ExampleJanitor_Pass() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	r := ranch.New(memstore.New(), ranch.Options{})
	configTypes := func(context.Context) ([]string, error) { return []string{"gce-project"}, nil }

	targets, err := janitor.ParseCommands([]string{"gce-project=scripts/janitor-example.sh"},
		janitor.CommandOptions{Logger: slog.Default()})
	if err != nil {
		slog.Error("bad --janitor-command", "error", err)
		os.Exit(2)
	}
	j, err := janitor.New(r, janitor.Options{Types: configTypes, Targets: targets, Concurrency: 4, MaxFailures: 3,
		OnQuarantined: func(rtype string, n int) { /* boskos_quarantined{type}.Set(n) */ }})
	if err == nil {
		err = j.Validate(ctx) // a TYPE not in the config is a start-up error
	}
	if err != nil {
		slog.Error("janitor", "error", err)
		os.Exit(2)
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for ctx.Err() == nil {
		if _, err := j.Pass(ctx); err != nil {
			slog.Warn("janitor pass", "error", err)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
}

// A Lambda function: settings from the environment (every error at once),
// then one bounded run per scheduled event. Lambda targets need
// lambdatarget.Factory(lambda.NewFromConfig(awsConfig)) instead of nil.
func ExampleJanitor_RunOnce() {
	settings, err := janitor.FromEnv(os.LookupEnv, nil)
	if err != nil {
		slog.Error("environment", "error", err)
		os.Exit(2)
	}
	r := ranch.New(memstore.New(), ranch.Options{})
	j, err := janitor.New(r, janitor.Options{
		Types:       func(context.Context) ([]string, error) { return []string{"aws-account"}, nil },
		Targets:     settings.Targets,
		MaxFailures: settings.MaxFailures,
		Concurrency: settings.Concurrency,
	})
	if err != nil {
		slog.Error("janitor", "error", err)
		os.Exit(2)
	}
	handler := func(ctx context.Context) error { // ctx carries the invocation's deadline
		rep, err := j.RunOnce(ctx)
		slog.Info("janitor run", "claimed", rep.Claimed, "still running", rep.Running)
		return err
	}
	_ = handler
}
