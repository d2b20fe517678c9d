package lambdaapp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/s3config"
)

// Names of the environment variables JobFromEnv reads besides FromEnv's.
const (
	EnvConfigURI          = "BOSKOS_CONFIG_URI"
	EnvS3Endpoint         = "AWS_ENDPOINT_URL_S3"
	EnvReaperExpire       = "BOSKOS_REAPER_EXPIRE"
	EnvReaperTargetState  = "BOSKOS_REAPER_TARGET_STATE"
	EnvReaperExtraStates  = "BOSKOS_REAPER_EXTRA_STATES"
	EnvJanitorTargets     = janitor.EnvTargets
	EnvJanitorMaxFailures = janitor.EnvMaxFailures
	EnvJanitorConcurrency = janitor.EnvConcurrency
	// EnvMasonStateMachineARN is the Mason workflow's state machine, in
	// which the dispatcher (mason-dispatch) starts executions.
	EnvMasonStateMachineARN = "BOSKOS_MASON_STATE_MACHINE_ARN"
)

// Names of the scheduled jobs, by their directory under functions/.
const (
	JobReaper     = "reaper"
	JobReconciler = "reconciler"
	JobCleaner    = "cleaner"
	JobJanitor    = "janitor"
	// JobMasonDispatch is Mason's dispatcher (mason.Dispatcher): it claims
	// dirty virtual resources and starts their workflow executions.
	JobMasonDispatch = "mason-dispatch"
)

// JobEnv lists, for every scheduled job function (by its directory under
// functions/), the environment variables it reads besides FromEnv's; those
// of JobRequiredEnv must be set. The template test checks template.yaml
// against both.
var JobEnv = map[string][]string{
	JobReaper:     {EnvReaperExpire, EnvReaperTargetState, EnvReaperExtraStates},
	JobReconciler: {EnvConfigURI, EnvS3Endpoint},
	JobCleaner:    nil,
	JobJanitor:    {EnvJanitorTargets, EnvJanitorMaxFailures, EnvJanitorConcurrency},
	// The dispatcher's Step Functions client takes AWS_ENDPOINT_URL
	// (AWSEnv) as its endpoint override.
	JobMasonDispatch: {EnvMasonStateMachineARN},
}

// JobRequiredEnv lists the variables of JobEnv that have no default.
var JobRequiredEnv = map[string][]string{
	JobReconciler:    {EnvConfigURI},
	JobJanitor:       {EnvJanitorTargets},
	JobMasonDispatch: {EnvMasonStateMachineARN},
}

// Jobs returns the names of the scheduled job functions, sorted.
func Jobs() []string {
	out := make([]string, 0, len(JobEnv))
	for j := range JobEnv {
		out = append(out, j)
	}
	sort.Strings(out)
	return out
}

// JobConfig is what a scheduled job function needs: the API functions'
// Config (table, log level, endpoints) and its job's settings.
type JobConfig struct {
	Config
	// Job is the job's name (a key of JobEnv).
	Job string

	// ConfigURI is the resources file the reconciler applies
	// (BOSKOS_CONFIG_URI).
	ConfigURI s3config.URI
	// S3Endpoint overrides the S3 endpoint (AWS_ENDPOINT_URL_S3); buckets
	// are then addressed path-style.
	S3Endpoint string

	// Reaper holds BOSKOS_REAPER_EXPIRE, BOSKOS_REAPER_TARGET_STATE and
	// BOSKOS_REAPER_EXTRA_STATES (unset fields mean the reaper's defaults).
	Reaper maintenance.ReaperOptions

	// JanitorTargets is BOSKOS_JANITOR_TARGETS, validated (janitor.ParseTargets
	// builds the cleanups from it when the function starts).
	JanitorTargets string
	// JanitorMaxFailures (BOSKOS_JANITOR_MAX_FAILURES) and
	// JanitorConcurrency (BOSKOS_JANITOR_CONCURRENCY); 0 means the
	// janitor's defaults.
	JanitorMaxFailures int
	JanitorConcurrency int

	// MasonStateMachineARN is BOSKOS_MASON_STATE_MACHINE_ARN, checked to
	// be a state machine's ARN.
	MasonStateMachineARN string

	// The fields below are not read from the environment; tests set them.

	// S3Client, if set, is used instead of a client built from S3Endpoint.
	S3Client s3config.API
	// LambdaTargets builds the janitor's cleaners of Lambda function
	// targets (lambdatarget.Factory over a Lambda client; functions/janitor
	// sets it with package janitorlambda, so that only the janitor's
	// bootstrap links the Lambda client). Nil: Lambda targets are refused.
	LambdaTargets janitor.TargetFactory
	// MasonJob builds the dispatcher's job (MasonDispatcher) and
	// MasonStarter starts its executions: package masonsfn sets both for
	// functions/mason-dispatch (a Starter over Step Functions), so that
	// only its bootstrap links the dispatcher and the Step Functions
	// client; tests set them. Nil: the dispatcher cannot be built.
	MasonJob     func(r *ranch.Ranch, jc JobConfig) (maintenance.Job, error)
	MasonStarter mason.Starter
	// MasonRegistry, if set, replaces the dispatcher's converters
	// (masonRegistry; tests).
	MasonRegistry *mason.Registry
	// SafetyMargin is how long before the invocation's deadline a pass
	// stops claiming new work (default: DefaultSafetyMargin, at most a
	// fifth of the time left).
	SafetyMargin time.Duration
}

// JobFromEnv reads the configuration of the job function job (a key of
// JobEnv) through lookup: FromEnv's variables and the job's own (JobEnv).
// It reports every problem at once, joined with errors.Join, one per line.
// Variables of other jobs are ignored.
func JobFromEnv(job string, lookup func(string) (string, bool)) (JobConfig, error) {
	var errs []error
	if _, ok := JobEnv[job]; !ok {
		return JobConfig{}, fmt.Errorf("%q is not a scheduled job (%s)", job, strings.Join(Jobs(), ", "))
	}
	base, err := FromEnv(lookup)
	if err != nil {
		errs = append(errs, err)
	}
	jc := JobConfig{Config: base, Job: job}
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	reads := func(name string) bool { return slices.Contains(JobEnv[job], name) }
	for _, name := range JobRequiredEnv[job] {
		if _, ok := get(name); !ok {
			errs = append(errs, fmt.Errorf("%s: must be set for the %s", name, job))
		}
	}

	if v, ok := get(EnvConfigURI); ok && reads(EnvConfigURI) {
		u, err := s3config.ParseURI(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", EnvConfigURI, err))
		} else {
			jc.ConfigURI = u
		}
	}
	if v, ok := get(EnvS3Endpoint); ok && reads(EnvS3Endpoint) {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", EnvS3Endpoint, v))
		} else {
			jc.S3Endpoint = v
		}
	}

	if reads(EnvReaperExpire) {
		jc.Reaper.Expire = maintenance.DefaultReaperExpire
		jc.Reaper.TargetState = maintenance.DefaultReaperTargetState
	}
	if v, ok := get(EnvReaperExpire); ok && reads(EnvReaperExpire) {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 30m, 1h)", EnvReaperExpire, v))
		case d <= 0:
			errs = append(errs, fmt.Errorf("%s: %q must be positive", EnvReaperExpire, v))
		default:
			jc.Reaper.Expire = d
		}
	}
	if v, ok := get(EnvReaperTargetState); ok && reads(EnvReaperTargetState) {
		if err := boskos.ValidateField("state", v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", EnvReaperTargetState, err))
		} else {
			jc.Reaper.TargetState = v
		}
	}
	if v, ok := get(EnvReaperExtraStates); ok && reads(EnvReaperExtraStates) {
		states, err := maintenance.ParseStates(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", EnvReaperExtraStates, err))
		} else {
			jc.Reaper.ExtraStates = states
		}
	}

	if v, ok := get(EnvMasonStateMachineARN); ok && reads(EnvMasonStateMachineARN) {
		if err := validStateMachineARN(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", EnvMasonStateMachineARN, err))
		} else {
			jc.MasonStateMachineARN = v
		}
	}

	if reads(EnvJanitorTargets) {
		// Parsed here for its errors; the cleanups are built at start.
		js, err := janitor.FromEnv(lookup, validLambdaTarget)
		if err != nil {
			errs = append(errs, err)
		} else {
			jc.JanitorTargets, _ = get(EnvJanitorTargets)
			jc.JanitorMaxFailures, jc.JanitorConcurrency = js.MaxFailures, js.Concurrency
		}
	}

	if len(errs) > 0 {
		return JobConfig{}, errors.Join(errs...)
	}
	return jc, nil
}

// validLambdaTarget is the TargetFactory of JobFromEnv: it only checks
// that a target is a Lambda function name or ARN.
func validLambdaTarget(target string) (janitor.Cleaner, error) {
	if err := janitor.ValidLambdaFunction(target); err != nil {
		return nil, err
	}
	return janitor.CleanerFunc(func(context.Context, boskos.Resource) (janitor.Outcome, error) {
		return 0, errors.New("lambdaapp: a target of JobFromEnv's validation was run")
	}), nil
}
