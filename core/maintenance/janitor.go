package maintenance

import (
	"context"
	"errors"

	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// ConfigTypes returns the function that janitor.Options.Types wants: the
// types of the config in force in r's store (none before a config was
// applied). One read per call.
func ConfigTypes(r *ranch.Ranch) func(ctx context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		a, err := r.AppliedConfig(ctx)
		if errors.Is(err, ranch.ErrNoConfig) {
			return nil, nil
		}
		return a.Types, err
	}
}

// JanitorJob runs a janitor as a Job. With wait false (the local server,
// whose janitor lives as long as the server) each pass claims work and
// starts the cleanups without waiting for them, so a slow or hanging
// cleanup never delays the next pass; with wait true (a Lambda invocation)
// a pass is janitor.RunOnce: it stops claiming before the context's
// deadline and waits for the cleanups it started.
func JanitorJob(j *janitor.Janitor, wait bool) Job { return janitorJob{j: j, wait: wait} }

type janitorJob struct {
	j    *janitor.Janitor
	wait bool
}

func (janitorJob) Name() string { return "janitor" }

func (jj janitorJob) RunOnce(ctx context.Context) (any, error) {
	if jj.wait {
		return jj.j.RunOnce(ctx)
	}
	return jj.j.Pass(ctx)
}
