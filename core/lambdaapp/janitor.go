package lambdaapp

import (
	"context"
	"fmt"

	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// newJanitorJob builds the janitor job of functions/janitor from the
// validated settings: the cleanups of BOSKOS_JANITOR_TARGETS (webhooks, and
// Lambda functions, jc.LambdaTargets), over the types of the
// config in force. Each invocation is one janitor.RunOnce: claims stop a
// margin before the deadline and the pass waits for its cleanups; a cleanup
// that outlives one invocation answers "dispatched" and releases the
// resource itself.
func newJanitorJob(_ context.Context, r *ranch.Ranch, jc JobConfig, em *emf.Emitter) (maintenance.Job, error) {
	factory := jc.LambdaTargets
	if factory == nil {
		factory = func(target string) (janitor.Cleaner, error) {
			return nil, fmt.Errorf("no Lambda client for target %s (JobConfig.LambdaTargets: package janitorlambda)", target)
		}
	}
	targets, err := janitor.ParseTargets(jc.JanitorTargets, janitor.WebhookOptions{}, factory)
	if err != nil {
		return nil, fmt.Errorf("lambdaapp: %w", err)
	}
	j, err := janitor.New(r, janitor.Options{
		Types:         maintenance.ConfigTypes(r),
		Targets:       targets,
		MaxFailures:   jc.JanitorMaxFailures,
		Concurrency:   jc.JanitorConcurrency,
		Logger:        jc.Log(),
		OnResult:      janitorResult(em),
		OnQuarantined: em.OnQuarantined,
	})
	if err != nil {
		return nil, fmt.Errorf("lambdaapp: %w", err)
	}
	return maintenance.JanitorJob(j, true), nil
}
