package mason

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/asl"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// Owner is the owner name Mason claims virtual resources and leases
// physical ones under (upstream's fake-mason uses the same).
const Owner = "mason"

// The Task states of the workflow document, each one step.
const (
	StepRecycle        = "Recycle"
	StepFulfill        = "Fulfill"
	StepConstruct      = "Construct"
	StepFree           = "Free"
	StepGarbageCollect = "GarbageCollect"
)

// Steps lists the workflow's Task states in the order a construction runs
// them.
var Steps = []string{StepRecycle, StepFulfill, StepConstruct, StepFree, StepGarbageCollect}

// Defaults of Options.
const (
	// DefaultWait is how long a construction waits between two attempts
	// to lease its needs (upstream's fake-mason: 15s).
	DefaultWait = 15 * time.Second
	// DefaultMaxWaits bounds the attempts of one execution (a day at the
	// default wait): then it gives up, releasing the virtual resource as
	// dirty, and the dispatcher claims it again under a new execution
	// (a Standard state machine's history is bounded).
	DefaultMaxWaits = 5760
	// DefaultHeartbeat is how often Construct heartbeats the resources
	// while the converter runs.
	DefaultHeartbeat = time.Minute
)

// Input is the state of one execution, the JSON the workflow passes from
// step to step: the claim (resource, type, epoch), what Fulfill answered,
// and the error a Catch recorded.
type Input struct {
	Resource string `json:"resource"`
	Type     string `json:"type"`
	Epoch    int64  `json:"epoch"`
	// Fulfill is the last answer of the Fulfill step.
	Fulfill *FulfillResult `json:"fulfill,omitempty"`
	// Error is the error object a Catch put at $.error.
	Error *TaskError `json:"error,omitempty"`
}

// FulfillResult is the Fulfill step's answer: Done when every need is
// leased; else the workflow waits WaitSeconds and calls it again, or gives
// up when GiveUp is set. Attempt counts the attempts so far.
type FulfillResult struct {
	Done        bool `json:"done"`
	GiveUp      bool `json:"giveUp"`
	WaitSeconds int  `json:"waitSeconds"`
	Attempt     int  `json:"attempt"`
}

// TaskError is the error object of Amazon States Language: a Catch's
// ResultPath holds it.
type TaskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// claim is the ranch claim of in.
func (in Input) claim() ranch.Claim {
	return ranch.Claim{Name: in.Resource, Owner: Owner, Epoch: in.Epoch}
}

// The error names the steps raise (StepError.ErrorName); the workflow
// retries ErrTransient and catches everything else.
const (
	ErrTransient  = "Transient"
	ErrStepFailed = "StepFailed"
	ErrClaimLost  = "ClaimLost"
	ErrBadInput   = "BadInput"
)

// StepError is the error of a step: Name is its Amazon States Language
// error name (ErrTransient for what a retry may cure: the store's
// unavailability or conflicts that outlasted the step's own retries).
type StepError struct {
	Step string
	Name string
	Err  error
}

func (e *StepError) Error() string { return strings.ToLower(e.Step) + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// ErrorName is the error's name in the workflow (see core/asl.ErrorName;
// the Lambda functions report it as the error type).
func (e *StepError) ErrorName() string { return e.Name }

// stepError classifies err of step.
func stepError(step string, err error) error {
	var se *StepError
	var be *boskos.Error
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, ranch.ErrClaimLost):
		return &StepError{Step: step, Name: ErrClaimLost, Err: err}
	case errors.As(err, &be) && (be.Code == boskos.EInternal || be.Code == boskos.EUnavailable),
		errors.Is(err, context.DeadlineExceeded):
		// The store's trouble (or conflicts that outlasted the step's
		// retries): a retry may cure it.
		return &StepError{Step: step, Name: ErrTransient, Err: err}
	}
	return &StepError{Step: step, Name: ErrStepFailed, Err: err}
}

// Observer is told what constructions do (metrics). Its methods must be
// safe for concurrent use.
type Observer interface {
	// Constructed: a virtual resource of rtype is free.
	Constructed(rtype string)
	// Failed: the construction of a virtual resource of rtype failed at
	// step (a Task state's name in lower case, or "workflow" when the
	// cause does not say which) and everything was released as dirty.
	Failed(rtype, step string)
}

// Options configure Workflow steps.
type Options struct {
	// Wait between two attempts to lease the needs (default DefaultWait).
	Wait time.Duration
	// MaxWaits bounds the attempts of one execution (default
	// DefaultMaxWaits).
	MaxWaits int
	// Heartbeat is Construct's heartbeat period (default DefaultHeartbeat).
	Heartbeat time.Duration
	// Observer, if set, is told about constructions and failures.
	Observer Observer
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Workflow holds the steps of the workflow: each is an idempotent function
// over the store, safe to retry and to resume after a crash at any point;
// a step that finds its work done succeeds.
type Workflow struct {
	ranch *ranch.Ranch
	reg   *Registry
	opts  Options
	log   *slog.Logger
}

// NewWorkflow returns the steps over r, with the converters of reg.
func NewWorkflow(r *ranch.Ranch, reg *Registry, o Options) *Workflow {
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.MaxWaits <= 0 {
		o.MaxWaits = DefaultMaxWaits
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Workflow{ranch: r, reg: reg, opts: o, log: o.Logger}
}

// TaskFunc is a step as the workflow runner calls it.
type TaskFunc = asl.TaskFunc

// Tasks maps each Task state of the workflow document to its step.
func (w *Workflow) Tasks() map[string]TaskFunc {
	wrap := func(step string, fn func(context.Context, Input) (any, error)) TaskFunc {
		return func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
			return w.Invoke(ctx, step, raw, fn)
		}
	}
	return map[string]TaskFunc{
		StepRecycle:        wrap(StepRecycle, w.Recycle),
		StepFulfill:        wrap(StepFulfill, w.Fulfill),
		StepConstruct:      wrap(StepConstruct, w.Construct),
		StepFree:           wrap(StepFree, w.Free),
		StepGarbageCollect: wrap(StepGarbageCollect, w.GarbageCollect),
	}
}

// Step returns the step of a Task state's name, or nil.
func (w *Workflow) Step(name string) TaskFunc { return w.Tasks()[name] }

// Invoke decodes the input, runs fn and encodes its answer; errors are
// *StepError.
func (w *Workflow) Invoke(ctx context.Context, step string, raw json.RawMessage, fn func(context.Context, Input) (any, error)) (json.RawMessage, error) {
	var in Input
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &StepError{Step: step, Name: ErrBadInput, Err: fmt.Errorf("invalid input: %v", err)}
	}
	if err := validInput(in); err != nil {
		return nil, &StepError{Step: step, Name: ErrBadInput, Err: err}
	}
	log := w.log.With("resource", in.Resource, "type", in.Type, "epoch", in.Epoch, "step", step)
	out, err := fn(ctx, in)
	if err != nil {
		err = stepError(step, err)
		log.Warn("mason: step failed", "err", err, "error", asName(err))
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, &StepError{Step: step, Name: ErrStepFailed, Err: fmt.Errorf("encode answer: %v", err)}
	}
	log.Info("mason: step done")
	return b, nil
}

func asName(err error) string {
	var se *StepError
	if errors.As(err, &se) {
		return se.Name
	}
	return ""
}

func validInput(in Input) error {
	if err := boskos.ValidateField("resource", in.Resource); err != nil {
		return err
	}
	if err := boskos.ValidateField("type", in.Type); err != nil {
		return err
	}
	if in.Epoch < 1 {
		return fmt.Errorf("invalid epoch %d: a claim's epoch is at least 1", in.Epoch)
	}
	return nil
}

// done is the answer of the steps whose result the workflow discards.
type done struct {
	Done bool `json:"done"`
}

// drlc returns the dynamic life cycle of in.Type.
func (w *Workflow) drlc(ctx context.Context, in Input) (boskos.DRLC, error) {
	m, err := w.ranch.DynamicTypes(ctx)
	if err != nil {
		return boskos.DRLC{}, err
	}
	d, ok := m[in.Type]
	if !ok {
		return boskos.DRLC{}, fmt.Errorf("type %s is no longer dynamic in the config in force", in.Type)
	}
	return d, nil
}

// Recycle releases the physical resources of the previous construction as
// dirty (janitors clean them) and drops leasedResources.
func (w *Workflow) Recycle(ctx context.Context, in Input) (any, error) {
	released, err := w.ranch.RecycleVirtual(ctx, in.claim())
	if err != nil {
		return nil, err
	}
	if len(released) > 0 {
		w.log.Info("mason: recycled", "resource", in.Resource, "released", released)
	}
	return done{true}, nil
}

// Fulfill leases every need of the type at once, or none; see
// FulfillResult.
func (w *Workflow) Fulfill(ctx context.Context, in Input) (any, error) {
	d, err := w.drlc(ctx, in)
	if err != nil {
		return nil, err
	}
	attempt := 1
	if in.Fulfill != nil {
		attempt = in.Fulfill.Attempt + 1
	}
	leased, ok, err := w.ranch.LeaseNeeds(ctx, in.claim(), d.Needs)
	if err != nil {
		return nil, err
	}
	if ok {
		names := make([]string, len(leased))
		for i, l := range leased {
			names[i] = l.Name
		}
		w.log.Info("mason: needs leased", "resource", in.Resource, "leased", names, "attempt", attempt)
		return FulfillResult{Done: true, Attempt: attempt}, nil
	}
	res := FulfillResult{WaitSeconds: int((w.opts.Wait + time.Second - 1) / time.Second), Attempt: attempt}
	if attempt >= w.opts.MaxWaits {
		res.GiveUp = true
	}
	return res, nil
}

// Construct runs the type's converter over the virtual resource and its
// leased ones, heart-beating them meanwhile, and stores the userdata it
// returns (clearing a previous failure's reason).
func (w *Workflow) Construct(ctx context.Context, in Input) (any, error) {
	d, err := w.drlc(ctx, in)
	if err != nil {
		return nil, err
	}
	conv, err := w.reg.Converter(d.Config)
	if err != nil {
		return nil, err
	}
	c := in.claim()
	virtual, leased, err := w.ranch.VirtualResources(ctx, c)
	if err != nil {
		return nil, err
	}
	byType := TypeToResources{}
	for _, l := range leased {
		byType[l.Type] = append(byType[l.Type], l)
	}
	ud, err := w.construct(ctx, c, conv, virtual, byType)
	if err != nil {
		return nil, err
	}
	if err := checkUserData(ud); err != nil {
		return nil, fmt.Errorf("converter %s: %w", d.Config.Type, err)
	}
	delta := boskos.UserData{ranch.MasonErrorKey: ""}
	for k, v := range ud {
		delta[k] = v
	}
	epoch := c.Epoch
	if err := w.ranch.Update(ctx, c.Name, c.Owner, boskos.Cleaning, delta, &epoch); err != nil {
		switch boskos.ErrorCode(err) {
		case boskos.EOwnerMismatch, boskos.EStateMismatch, boskos.ENotFound, boskos.EStaleEpoch:
			return nil, fmt.Errorf("%w: %v", ranch.ErrClaimLost, err)
		}
		return nil, err
	}
	return done{true}, nil
}

// construct calls conv while a goroutine heartbeats the claim.
func (w *Workflow) construct(ctx context.Context, c ranch.Claim, conv Masonable, virtual boskos.Resource, leased TypeToResources) (boskos.UserData, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		t := time.NewTicker(w.opts.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := w.ranch.HeartbeatVirtual(ctx, c); errors.Is(err, ranch.ErrClaimLost) {
					cancel(err)
					return
				} else if err != nil {
					w.log.Warn("mason: heartbeat failed", "resource", c.Name, "err", err)
				}
			}
		}
	}()
	ud, err := conv.Construct(ctx, virtual, leased)
	close(stop)
	<-beat
	if cause := context.Cause(ctx); errors.Is(cause, ranch.ErrClaimLost) {
		return nil, cause
	}
	if err != nil {
		return nil, fmt.Errorf("converter failed: %w", err)
	}
	return ud, nil
}

// checkUserData refuses a converter's answer that the store could not
// hold or that takes the workflow's keys.
func checkUserData(ud boskos.UserData) error {
	for k := range ud {
		switch k {
		case "":
			return errors.New("answered an empty userdata key")
		case boskos.LeasedResources, ranch.MasonErrorKey:
			return fmt.Errorf("answered the reserved userdata key %s", k)
		}
		if len(k) > boskos.MaxUserDataKeyBytes {
			return fmt.Errorf("answered a userdata key longer than %d bytes", boskos.MaxUserDataKeyBytes)
		}
	}
	if ud.Size() > boskos.MaxUserDataBytes {
		return fmt.Errorf("answered %d bytes of userdata, more than %d", ud.Size(), boskos.MaxUserDataBytes)
	}
	return nil
}

// Free makes the virtual resource free and parks each physical one in the
// state named after it, in one transaction.
func (w *Workflow) Free(ctx context.Context, in Input) (any, error) {
	if err := w.ranch.FreeVirtual(ctx, in.claim()); err != nil {
		return nil, err
	}
	w.log.Info("mason: constructed", "resource", in.Resource, "type", in.Type)
	if w.opts.Observer != nil {
		w.opts.Observer.Constructed(in.Type)
	}
	return done{true}, nil
}

// GarbageCollect is the failure path: the virtual resource and every
// physical one it still holds go to dirty, with the failure in its
// userdata (ranch.MasonErrorKey).
func (w *Workflow) GarbageCollect(ctx context.Context, in Input) (any, error) {
	reason, step := "construction failed", "workflow"
	if in.Error != nil {
		e := TaskError{Error: in.Error.Error, Cause: causeMessage(in.Error.Cause)}
		reason = e.Error
		if e.Cause != "" {
			reason += ": " + e.Cause
		}
		step = failedStep(e)
	}
	released, err := w.ranch.AbortVirtual(ctx, in.claim(), reason)
	if err != nil {
		return nil, err
	}
	w.log.Warn("mason: construction failed, released as dirty", "resource", in.Resource, "type", in.Type, "step", step, "reason", reason, "released", released)
	if w.opts.Observer != nil {
		w.opts.Observer.Failed(in.Type, step)
	}
	return done{true}, nil
}

// causeMessage is the message of a caught error's Cause: Step Functions
// puts a Lambda function's error payload there, as JSON.
func causeMessage(cause string) string {
	var p struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if strings.HasPrefix(cause, "{") && json.Unmarshal([]byte(cause), &p) == nil && p.ErrorMessage != "" {
		return p.ErrorMessage
	}
	return cause
}

// failedStep reads which step failed from a caught error: the steps'
// causes start with the step's name; NeedsNotMet is the Fulfill loop's.
func failedStep(e TaskError) string {
	if e.Error == "NeedsNotMet" {
		return "fulfill"
	}
	for _, s := range Steps {
		if p := strings.ToLower(s) + ": "; strings.HasPrefix(e.Cause, p) {
			return strings.ToLower(s)
		}
	}
	return "workflow"
}
