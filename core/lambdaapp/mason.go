package lambdaapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/boskos-serverless/boskos/core/asl"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// EnvMasonWait is how long a construction waits before trying again to
// lease needs that are not available (mason-fulfill; a Go duration,
// default mason.DefaultWait, as `serve --mason-wait`).
const EnvMasonWait = "BOSKOS_MASON_WAIT"

// MasonSteps maps each of Mason's step functions, by its directory under
// functions/, to the Task state of the workflow document it runs.
var MasonSteps = map[string]string{
	"mason-recycle":   mason.StepRecycle,
	"mason-fulfill":   mason.StepFulfill,
	"mason-construct": mason.StepConstruct,
	"mason-free":      mason.StepFree,
	"mason-gc":        mason.StepGarbageCollect,
}

// MasonStepEnv lists, for every step function, the environment variables
// it reads besides FromEnv's.
var MasonStepEnv = map[string][]string{
	"mason-recycle":   nil,
	"mason-fulfill":   {EnvMasonWait},
	"mason-construct": nil,
	"mason-free":      nil,
	"mason-gc":        nil,
}

// MasonStepFunctions returns the names of the step functions, sorted.
func MasonStepFunctions() []string {
	out := make([]string, 0, len(MasonSteps))
	for n := range MasonSteps {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// MasonConfig is what a step function needs: the API functions' Config
// (table, log level, endpoints) and its step's settings.
type MasonConfig struct {
	Config
	// Name is the function's name (a key of MasonSteps) and Step the
	// Task state it runs.
	Name, Step string
	// Wait is BOSKOS_MASON_WAIT (mason-fulfill; 0 elsewhere: the
	// workflow's default).
	Wait time.Duration

	// The fields below are not read from the environment; tests set them.

	// Registry, if set, replaces the converters of masonRegistry.
	Registry *mason.Registry
	// Converters, if set, registers converters besides the built-in
	// Command and Webhook (masonlambda.Converters: Lambda).
	Converters func(*mason.Registry) error
	// Heartbeat is Construct's heartbeat period (default
	// mason.DefaultHeartbeat).
	Heartbeat time.Duration
}

// MasonFromEnv reads the configuration of the step function name (a key
// of MasonSteps) through lookup: FromEnv's variables and the step's own
// (MasonStepEnv), every problem at once, joined with errors.Join.
func MasonFromEnv(name string, lookup func(string) (string, bool)) (MasonConfig, error) {
	step, ok := MasonSteps[name]
	if !ok {
		return MasonConfig{}, fmt.Errorf("%q is not a Mason step function (%s)", name, strings.Join(MasonStepFunctions(), ", "))
	}
	var errs []error
	base, err := FromEnv(lookup)
	if err != nil {
		errs = append(errs, err)
	}
	mc := MasonConfig{Config: base, Name: name, Step: step}
	if v, ok := lookup(EnvMasonWait); ok && strings.TrimSpace(v) != "" && slices.Contains(MasonStepEnv[name], EnvMasonWait) {
		v = strings.TrimSpace(v)
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 15s, 1m)", EnvMasonWait, v))
		case d <= 0:
			errs = append(errs, fmt.Errorf("%s: %q must be positive", EnvMasonWait, v))
		default:
			mc.Wait = d
		}
	}
	if len(errs) > 0 {
		return MasonConfig{}, errors.Join(errs...)
	}
	return mc, nil
}

// NewMasonStep builds, once per execution environment, the ranch
// (NewRanch), the converters and the Workflow (mason.NewWorkflow), and
// returns the step mc.Step of it. Its metrics are EMF lines on
// mc.MetricsOut: MasonConstructed (mason-free) and MasonFailures
// (mason-gc) from the workflow's Observer, and the Conflicts of each
// invocation. It makes no request.
func NewMasonStep(ctx context.Context, mc MasonConfig) (asl.TaskFunc, error) {
	log := mc.Log()
	mc.Logger = log
	em := mc.emitter()
	c := &conflicts{em: em}
	r, err := newRanch(ctx, mc.Config, ranch.Options{}, c.wrap)
	if err != nil {
		return nil, err
	}
	reg := mc.Registry
	if reg == nil {
		if reg, err = masonRegistry(log, mc.Converters); err != nil {
			return nil, err
		}
	}
	wf := mason.NewWorkflow(r, reg, mason.Options{
		Wait: mc.Wait, Heartbeat: mc.Heartbeat, Observer: masonObserver{em}, Logger: log,
	})
	step := wf.Step(mc.Step)
	if step == nil {
		return nil, fmt.Errorf("lambdaapp: the workflow has no step %q", mc.Step)
	}
	return func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		defer c.flush()
		return step(ctx, in)
	}, nil
}

// MasonHandler returns the Lambda handler of a step function: the state's
// input as the event, the step's answer as the result. A step's error is
// returned as a messages.InvokeResponse_Error whose Type is its ASL error
// name (asl.ErrorName: Transient, StepFailed, ClaimLost, BadInput), which
// Step Functions reports as the Task's error, so the document's Retry
// (Transient) and Catch match it; the Message is the error's text (the
// Cause, whose message GarbageCollect keeps as the reason).
func MasonHandler(step asl.TaskFunc) func(context.Context, json.RawMessage) (json.RawMessage, error) {
	return func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		out, err := step(ctx, in)
		if err != nil {
			return nil, messages.InvokeResponse_Error{Type: asl.ErrorName(err), Message: err.Error()}
		}
		return out, nil
	}
}

// MainMasonStep is the whole body of a step function's main: it reads the
// configuration through lookup (every problem reported at once), builds
// the step and serves one step per invocation until the Lambda runtime
// ends the process. It returns only when it cannot start, with the exit
// code for os.Exit, after writing the problems to stderr: 2 for a bad
// name or configuration, 1 for a failure to build the step. opts change
// the configuration before the step is built (masonlambda.Converters).
func MainMasonStep(name string, lookup func(string) (string, bool), stderr io.Writer, opts ...func(*MasonConfig)) int {
	mc, err := MasonFromEnv(name, lookup)
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", name, err)
		return 2
	}
	mc.Function = functionName(name, lookup)
	mc.AWS = AWSFromEnv(lookup)
	for _, o := range opts {
		o(&mc)
	}
	step, err := NewMasonStep(context.Background(), mc)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	lambda.Start(MasonHandler(step))
	return 0
}

// MasonDispatcher is the job of functions/mason-dispatch (JobConfig.MasonJob):
// mason's Dispatcher over r, starting executions with jc.MasonStarter,
// with the converters of jc.MasonRegistry (default masonRegistry).
func MasonDispatcher(r *ranch.Ranch, jc JobConfig) (maintenance.Job, error) {
	if jc.MasonStarter == nil {
		return nil, fmt.Errorf("lambdaapp: the Mason dispatcher needs a starter of the state machine %s (JobConfig.MasonStarter, or MainJob with masonsfn.Starter)", EnvMasonStateMachineARN)
	}
	reg := jc.MasonRegistry
	if reg == nil {
		var err error
		if reg, err = masonRegistry(jc.Log(), nameOnly(mason.ConverterLambda)); err != nil {
			return nil, err
		}
	}
	d := mason.NewDispatcher(r, reg, jc.MasonStarter, mason.DispatcherOptions{Logger: jc.Log()})
	return dispatchJob{d}, nil
}

// dispatchJob is the dispatcher under its function's name, which its
// reports carry.
type dispatchJob struct{ *mason.Dispatcher }

func (dispatchJob) Name() string { return JobMasonDispatch }

// masonRegistry returns the converters of Mason's functions: the built-in
// Command and Webhook, and what extra registers (the Lambda converter of
// package masonlambda, which only mason-construct links, so that the other
// bootstraps do not carry the Lambda client). The dispatcher builds the
// types whose config.type is registered here, and mason-construct runs
// them: both must see the same names (the dispatcher registers Lambda by
// name only, nameOnly).
func masonRegistry(log *slog.Logger, extra func(*mason.Registry) error) (*mason.Registry, error) {
	reg := mason.NewDefaultRegistry(mason.ConverterOptions{Logger: log})
	if extra != nil {
		if err := extra(reg); err != nil {
			return nil, fmt.Errorf("lambdaapp: converters: %w", err)
		}
	}
	return reg, nil
}

// nameOnly registers converters by name only: the dispatcher claims the
// types whose config.type is registered and never runs a converter, so it
// does not link the Lambda client mason-construct invokes them with. Run,
// they fail saying so.
func nameOnly(names ...string) func(*mason.Registry) error {
	return func(reg *mason.Registry) error {
		for _, n := range names {
			err := reg.Register(n, func(string) (mason.Masonable, error) {
				return nil, fmt.Errorf("the %s converter runs in the construct step, not here", n)
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// masonObserver is mason.Observer over EMF: MasonConstructed and
// MasonFailures.
type masonObserver struct{ em *emf.Emitter }

var _ mason.Observer = masonObserver{}

func (o masonObserver) Constructed(rtype string)  { o.em.OnMasonConstructed(rtype) }
func (o masonObserver) Failed(rtype, step string) { o.em.OnMasonFailed(rtype, step) }

// validStateMachineARN checks that arn is a state machine's ARN (the same
// rule as sfnstarter.ValidARN, which this package does not import: it
// links the Step Functions client).
func validStateMachineARN(arn string) error {
	p := strings.Split(arn, ":")
	if len(p) != 7 || p[0] != "arn" || p[1] == "" || p[2] != "states" || p[3] == "" || p[4] == "" || p[5] != "stateMachine" || p[6] == "" {
		return fmt.Errorf("%q is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)", arn)
	}
	return nil
}
