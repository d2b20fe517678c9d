package maintenance

import (
	"context"
	"errors"

	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// ConfigTypes returns the function that janitor.Options.Types wants: the
// types of the config in force in r's store (none before a config was
// applied), without the virtual ones: a dynamic type whose config.type
// names a Mason converter is Mason's to rebuild (core/mason claims its
// dirty resources), never a janitor's, as upstream janitors are only given
// physical types. Two reads per call (the DRLCs are cached).
func ConfigTypes(r *ranch.Ranch) func(ctx context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		a, err := r.AppliedConfig(ctx)
		if errors.Is(err, ranch.ErrNoConfig) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		drlcs, err := r.DynamicTypes(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(a.Types))
		for _, t := range a.Types {
			if d, ok := drlcs[t]; ok && d.Config.Type != "" {
				continue
			}
			out = append(out, t)
		}
		return out, nil
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
