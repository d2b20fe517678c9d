package lambdaapp

import (
	"context"
	"errors"

	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// ErrJanitorNotWired is what the janitor function fails with until package
// janitor is plugged in below.
var ErrJanitorNotWired = errors.New("lambdaapp: the janitor is not wired yet (core/janitor is not merged): no resource is claimed or cleaned")

// newJanitorJob builds the janitor job of functions/janitor.
//
// TODO(lead, after merging core/janitor): THIS IS THE ONE PLACE TO WIRE THE
// JANITOR. Build the core/janitor job over r from the parsed and validated
// settings, e.g.
//
//	return janitor.New(r, janitor.Options{
//		Targets:     jc.JanitorTargets,     // []JanitorTarget: Type, and Webhook or Function
//		MaxFailures: jc.JanitorMaxFailures, // BOSKOS_JANITOR_MAX_FAILURES, default 3
//		Logger:      jc.Log(),
//	})
//
// (a Lambda target needs a Lambda client, built here from ctx like the S3
// client in NewJob; give the function lambda:InvokeFunction on its targets
// in template.yaml). Until then it fails, so the function exits at start
// instead of pretending to clean.
func newJanitorJob(ctx context.Context, r *ranch.Ranch, jc JobConfig) (maintenance.Job, error) {
	return nil, ErrJanitorNotWired
}
