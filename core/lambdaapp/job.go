package lambdaapp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/s3config"
)

// DefaultSafetyMargin is how long before the invocation's deadline a pass
// is told to stop (at most a fifth of the time the invocation has), so that
// it stops claiming new work and can finish, log and answer in time.
const DefaultSafetyMargin = 5 * time.Second

// NewJob builds, once per execution environment, the ranch (NewRanch) and
// the job jc.Job over it: the reaper, the reconciler (with the S3 object
// jc.ConfigURI as its source), the cleaner or the janitor. Its metrics are
// EMF lines on jc.MetricsOut (package emf): Reaped, JanitorCleaned,
// JanitorFailed and Quarantined from the jobs' hooks, and the Conflicts
// (failed conditional writes) of each pass. It makes no request.
func NewJob(ctx context.Context, jc JobConfig) (maintenance.Job, error) {
	em := jc.emitter()
	c := &conflicts{em: em}
	j, err := newJob(ctx, jc, em, c)
	if err != nil {
		return nil, err
	}
	return meteredJob{Job: j, c: c}, nil
}

// newJob is NewJob's body: the job over a ranch whose conflicts c counts,
// its hooks emitting to em (Reaped; JanitorCleaned, JanitorFailed and
// Quarantined).
func newJob(ctx context.Context, jc JobConfig, em *emf.Emitter, c *conflicts) (maintenance.Job, error) {
	log := jc.Log()
	jc.Logger = log
	r, err := newRanch(ctx, jc.Config, ranch.Options{}, c.wrap)
	if err != nil {
		return nil, err
	}
	switch jc.Job {
	case JobReaper:
		o := jc.Reaper
		o.Logger = log
		o.OnReaped = em.OnReaped
		j, err := maintenance.NewReaper(r, o)
		if err != nil {
			return nil, fmt.Errorf("lambdaapp: %w", err)
		}
		return j, nil
	case JobReconciler:
		if jc.ConfigURI.Bucket == "" {
			return nil, fmt.Errorf("lambdaapp: the reconciler needs %s", EnvConfigURI)
		}
		api := jc.S3Client
		if api == nil {
			return nil, fmt.Errorf("lambdaapp: the reconciler needs an S3 client (JobConfig.S3Client, or MainJob with WithS3)")
		}
		return maintenance.NewReconciler(r, maintenance.ReconcilerOptions{
			Source: s3config.New(api, jc.ConfigURI), Logger: log,
		}), nil
	case JobCleaner:
		return maintenance.NewCleaner(r), nil
	case JobJanitor:
		return newJanitorJob(ctx, r, jc, em)
	case JobMasonDispatch:
		if jc.MasonJob == nil {
			return nil, fmt.Errorf("lambdaapp: the Mason dispatcher is not linked in (JobConfig.MasonJob: MainJob with masonsfn.Starter)")
		}
		return jc.MasonJob(r, jc)
	}
	return nil, fmt.Errorf("lambdaapp: %q is not a scheduled job", jc.Job)
}

// WithS3 gives the reconciler an S3 client built from jc.AWS (region,
// S3Endpoint) when it has none: the option of functions/reconciler's
// MainJob.
func WithS3(jc *JobConfig) {
	if jc.S3Client == nil {
		jc.S3Client = s3config.NewClientFromConfig(jc.AWS.Config(), s3config.ClientConfig{Region: jc.Region, Endpoint: jc.S3Endpoint})
	}
}

// JobReport is what a job function answers and logs for one event.
type JobReport struct {
	// Job is the job's name.
	Job string `json:"job"`
	// EventID and EventTime identify the EventBridge event.
	EventID   string    `json:"event_id,omitempty"`
	EventTime time.Time `json:"event_time,omitzero"`
	// Started is when the pass began; DurationMS how long it took.
	Started    time.Time `json:"started"`
	DurationMS int64     `json:"duration_ms"`
	// StoppedAtDeadline: the pass stopped early, a safety margin before the
	// invocation's deadline; the next event goes on.
	StoppedAtDeadline bool `json:"stopped_at_deadline,omitempty"`
	// Result is the job's own report (maintenance.ReapReport, ...).
	Result any `json:"result,omitempty"`
	// Error is the pass's error, if any.
	Error string `json:"error,omitempty"`
}

// JobHandler returns the Lambda handler of a scheduled job function: one
// pass of job per EventBridge event, with a context that ends margin
// before the invocation's deadline (DefaultSafetyMargin when 0, and at most
// a fifth of the time left), so the job stops claiming new work in time.
// The report is logged and returned. A pass that failed returns its error
// as well (the invocation fails: Lambda's retry policy and dead-letter
// queue apply); a pass stopped by the margin does not (the next event
// continues where it stopped).
func JobHandler(job maintenance.Job, log *slog.Logger, margin time.Duration, now func() time.Time) func(context.Context, events.EventBridgeEvent) (JobReport, error) {
	if margin <= 0 {
		margin = DefaultSafetyMargin
	}
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context, ev events.EventBridgeEvent) (JobReport, error) {
		start := now()
		rep := JobReport{Job: job.Name(), EventID: ev.ID, EventTime: ev.Time, Started: start.UTC()}
		passCtx := ctx
		if dl, ok := ctx.Deadline(); ok {
			m := min(margin, time.Until(dl)/5)
			var cancel context.CancelFunc
			passCtx, cancel = context.WithDeadline(ctx, dl.Add(-m))
			defer cancel()
		}
		res, err := job.RunOnce(passCtx)
		rep.Result = res
		rep.DurationMS = now().Sub(start).Milliseconds()
		if err != nil {
			rep.Error = err.Error()
		}
		switch {
		case err != nil && passCtx.Err() != nil && ctx.Err() == nil:
			rep.StoppedAtDeadline = true
			log.Warn("job: pass stopped before the invocation's deadline; the next event continues",
				"job", rep.Job, "report", rep)
			return rep, nil
		case err != nil:
			log.Error("job: pass failed", "job", rep.Job, "report", rep)
			return rep, fmt.Errorf("%s: %w", rep.Job, err)
		}
		log.Info("job: pass done", "job", rep.Job, "report", rep)
		return rep, nil
	}
}

// MainJob is the whole body of a scheduled job function's main: it reads
// the job's configuration through lookup (every problem reported at once),
// builds the job and serves one pass per EventBridge event until the Lambda
// runtime ends the process. It returns only when it cannot start, with the
// exit code for os.Exit, after writing the problems to stderr: 2 for a bad
// name or configuration, 1 for a failure to build the job.
//
// opts complete the configuration before the job is built: the reconciler's
// main passes WithS3 and the janitor's janitorlambda.Targets, so that only
// their bootstraps link the S3 and Lambda clients.
func MainJob(name string, lookup func(string) (string, bool), stderr io.Writer, opts ...func(*JobConfig)) int {
	jc, err := JobFromEnv(name, lookup)
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", name, err)
		return 2
	}
	jc.Function = functionName(name, lookup)
	jc.AWS = AWSFromEnv(lookup)
	for _, o := range opts {
		o(&jc)
	}
	log := jc.Log()
	jc.Logger = log
	job, err := NewJob(context.Background(), jc)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	lambda.Start(JobHandler(job, log, jc.SafetyMargin, jc.Now))
	return 0
}
