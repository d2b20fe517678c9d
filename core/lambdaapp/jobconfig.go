package lambdaapp

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/s3config"
)

// Names of the environment variables JobFromEnv reads besides FromEnv's.
const (
	EnvConfigURI          = "BOSKOS_CONFIG_URI"
	EnvS3Endpoint         = "AWS_ENDPOINT_URL_S3"
	EnvReaperExpire       = "BOSKOS_REAPER_EXPIRE"
	EnvReaperTargetState  = "BOSKOS_REAPER_TARGET_STATE"
	EnvReaperExtraStates  = "BOSKOS_REAPER_EXTRA_STATES"
	EnvJanitorTargets     = "BOSKOS_JANITOR_TARGETS"
	EnvJanitorMaxFailures = "BOSKOS_JANITOR_MAX_FAILURES"
)

// Names of the scheduled jobs, by their directory under functions/.
const (
	JobReaper     = "reaper"
	JobReconciler = "reconciler"
	JobCleaner    = "cleaner"
	JobJanitor    = "janitor"
)

// JobEnv lists, for every scheduled job function (by its directory under
// functions/), the environment variables it reads besides FromEnv's; those
// of JobRequiredEnv must be set. The template test checks template.yaml
// against both.
var JobEnv = map[string][]string{
	JobReaper:     {EnvReaperExpire, EnvReaperTargetState, EnvReaperExtraStates},
	JobReconciler: {EnvConfigURI, EnvS3Endpoint},
	JobCleaner:    nil,
	JobJanitor:    {EnvJanitorTargets, EnvJanitorMaxFailures},
}

// JobRequiredEnv lists the variables of JobEnv that have no default.
var JobRequiredEnv = map[string][]string{
	JobReconciler: {EnvConfigURI},
	JobJanitor:    {EnvJanitorTargets},
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

// DefaultJanitorMaxFailures is BOSKOS_JANITOR_MAX_FAILURES when unset:
// consecutive failed cleanups before a resource is quarantined.
const DefaultJanitorMaxFailures = 3

// JanitorTarget says who cleans the resources of one type: exactly one of
// Webhook and Function is set.
type JanitorTarget struct {
	// Type is the resource type.
	Type string
	// Webhook is an http(s) URL that is POSTed the resource JSON (2xx =
	// cleaned).
	Webhook string
	// Function is a Lambda function name, name:qualifier or ARN that is
	// invoked with the resource JSON.
	Function string
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

	// JanitorTargets (BOSKOS_JANITOR_TARGETS), one per type, in the order
	// given.
	JanitorTargets []JanitorTarget
	// JanitorMaxFailures (BOSKOS_JANITOR_MAX_FAILURES).
	JanitorMaxFailures int

	// The fields below are not read from the environment; tests set them.

	// S3Client, if set, is used instead of a client built from S3Endpoint.
	S3Client s3config.API
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

	if reads(EnvJanitorMaxFailures) {
		jc.JanitorMaxFailures = DefaultJanitorMaxFailures
	}
	if v, ok := get(EnvJanitorTargets); ok && reads(EnvJanitorTargets) {
		targets, terrs := ParseJanitorTargets(v)
		for _, e := range terrs {
			errs = append(errs, fmt.Errorf("%s: %v", EnvJanitorTargets, e))
		}
		if len(terrs) == 0 {
			jc.JanitorTargets = targets
		}
	}
	if v, ok := get(EnvJanitorMaxFailures); ok && reads(EnvJanitorMaxFailures) {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a whole number", EnvJanitorMaxFailures, v))
		case n < 1:
			errs = append(errs, fmt.Errorf("%s: %q must be at least 1", EnvJanitorMaxFailures, v))
		default:
			jc.JanitorMaxFailures = n
		}
	}

	if len(errs) > 0 {
		return JobConfig{}, errors.Join(errs...)
	}
	return jc, nil
}

// lambdaFunction matches what Lambda's Invoke accepts as FunctionName: a
// name (with an optional version or alias), a partial ARN
// (ACCOUNT:function:NAME) or a full ARN.
var lambdaFunction = regexp.MustCompile(`^(arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:function:|\d{12}:function:)?[a-zA-Z0-9_-]{1,64}(:(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$`)

// ParseJanitorTargets reads a comma-separated list of TYPE=TARGET, TARGET an
// http(s):// webhook URL or a Lambda function name or ARN (ARNs contain
// ':' but no '='). It returns every problem, one error per entry.
func ParseJanitorTargets(s string) ([]JanitorTarget, []error) {
	var out []JanitorTarget
	var errs []error
	seen := map[string]bool{}
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		n := i + 1
		typ, target, ok := strings.Cut(entry, "=")
		typ, target = strings.TrimSpace(typ), strings.TrimSpace(target)
		switch {
		case entry == "":
			errs = append(errs, fmt.Errorf("entry %d is empty", n))
			continue
		case !ok || typ == "" || target == "":
			errs = append(errs, fmt.Errorf("entry %d %q is not TYPE=TARGET (TARGET an http(s):// URL or a Lambda function name or ARN)", n, entry))
			continue
		}
		if err := boskos.ValidateField("type", typ); err != nil {
			errs = append(errs, fmt.Errorf("entry %d %q: %v", n, entry, err))
			continue
		}
		if seen[typ] {
			errs = append(errs, fmt.Errorf("entry %d %q: type %q is given twice", n, entry, typ))
			continue
		}
		seen[typ] = true
		t := JanitorTarget{Type: typ}
		if strings.Contains(target, "://") {
			u, err := url.Parse(target)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("entry %d %q: %q is not an http(s) URL", n, entry, target))
				continue
			}
			t.Webhook = target
		} else {
			if !lambdaFunction.MatchString(target) {
				errs = append(errs, fmt.Errorf("entry %d %q: %q is neither an http(s):// URL nor a Lambda function name (1 to 64 of a-z, A-Z, 0-9, '-', '_', optionally :VERSION or :ALIAS) or ARN", n, entry, target))
				continue
			}
			t.Function = target
		}
		out = append(out, t)
	}
	return out, errs
}
