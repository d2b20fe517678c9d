package janitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/callout"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// Defaults of Options.
const (
	// DefaultOwner is the owner name of the janitor's leases.
	DefaultOwner = "janitor"
	// DefaultConcurrency bounds the running cleanups of one type.
	DefaultConcurrency = 4
	// DefaultMaxFailures is how many consecutive failed cleanups
	// quarantine a resource.
	DefaultMaxFailures = 3
	// DefaultHeartbeat is the period of the heartbeat of a running
	// cleanup's lease (the reaper resets cleaning leases idle for 30m).
	DefaultHeartbeat = time.Minute
	// DefaultStopMargin: a janitor stops claiming this long before its
	// context's deadline.
	DefaultStopMargin = 10 * time.Second
	// DefaultRetryDelay is how long this janitor leaves a resource whose
	// cleanup failed before trying it again.
	DefaultRetryDelay = time.Minute
)

// User data keys the janitor keeps on a resource.
const (
	// KeyFailures counts the consecutive failed cleanups (an integer as
	// a string); a successful cleanup removes it.
	KeyFailures = "cleanupFailures"
	// KeyReason is the error of the last cleanup of a quarantined resource,
	// at most MaxReasonBytes; a successful cleanup removes it.
	KeyReason = "quarantineReason"
)

// writeTimeout bounds the writes that hand a resource back after the
// janitor's context ended.
const writeTimeout = 10 * time.Second

// Ranch is what the janitor uses of *ranch.Ranch.
type Ranch interface {
	// Acquire is ranch.Ranch.Acquire.
	Acquire(ctx context.Context, rtype, state, dest, owner, requestID string) (boskos.Resource, error)
	// Release is ranch.Ranch.Release.
	Release(ctx context.Context, name, dest, owner string, epoch *int64) error
	// Update is ranch.Ranch.Update.
	Update(ctx context.Context, name, owner, state string, ud boskos.UserData, epoch *int64) error
	// Metric is ranch.Ranch.Metric.
	Metric(ctx context.Context, rtype string) (boskos.Metric, error)
}

var _ Ranch = (*ranch.Ranch)(nil)

// Options configure a Janitor. The zero value of a numeric field means its
// default; a negative one is an error of New.
type Options struct {
	// Types returns the types to clean: the types of the config in force
	// (required). A type without a cleanup in Targets is skipped.
	Types func(ctx context.Context) ([]string, error)
	// Targets holds the cleanup of each type (at least one).
	Targets Targets
	// Owner of the janitor's leases (default DefaultOwner).
	Owner string
	// Concurrency bounds the running cleanups of each type (default
	// DefaultConcurrency).
	Concurrency int
	// MaxFailures consecutive failed cleanups move a resource to
	// boskos.Quarantined (default DefaultMaxFailures).
	MaxFailures int
	// Heartbeat is the period of the lease heartbeat while a cleanup runs
	// (default DefaultHeartbeat). Keep it well below the reaper's expiry.
	Heartbeat time.Duration
	// CleanupTimeout bounds one cleanup; a cleanup that runs longer fails
	// (default 0: no bound other than the context's).
	CleanupTimeout time.Duration
	// StopMargin: no resource is claimed later than this before the
	// context's deadline (default DefaultStopMargin).
	StopMargin time.Duration
	// RetryDelay: a resource whose cleanup failed is not cleaned again by
	// this janitor within this delay (default DefaultRetryDelay, measured
	// with Now); if claimed again sooner it is handed back untouched and
	// its type is not claimed again until the next pass. Without it, a
	// transient failure would be retried at once, and quarantine within
	// seconds.
	RetryDelay time.Duration
	// Now is the clock (default time.Now). Context deadlines are wall-clock
	// times and are always compared with time.Now.
	Now func() time.Time
	// Logger (default slog.Default()). User data values are never logged.
	Logger *slog.Logger
	// OnResult, if set, is called after every cleanup, from the goroutine
	// that ran it.
	OnResult func(Result)
	// OnQuarantined, if set, is called after every Pass (and at the end of
	// RunOnce) for every type cleaned, with the number of its resources in
	// state boskos.Quarantined (for the gauge boskos_quarantined{type}).
	// It costs one Ranch.Metric per type and pass.
	OnQuarantined func(rtype string, count int)
	// OnHeartbeat, if set, is called after every heartbeat of a running
	// cleanup's lease, with its error.
	OnHeartbeat func(rtype, name string, err error)
}

// Status is the end of one cleanup, as recorded in the store.
type Status string

// The statuses of a Result. Their strings suit metric labels.
const (
	// StatusCleaned: released free.
	StatusCleaned Status = "cleaned"
	// StatusDispatched: the cleanup took the resource over.
	StatusDispatched Status = "dispatched"
	// StatusFailed: released dirty, to be tried again.
	StatusFailed Status = "failed"
	// StatusQuarantined: moved to boskos.Quarantined.
	StatusQuarantined Status = "quarantined"
	// StatusInterrupted: the janitor's context ended first. A cleanup
	// known to have stopped (ErrStopped) was released dirty, without
	// counting a failure; any other is left in cleaning, without
	// heartbeat, for the reaper (it may still run elsewhere).
	StatusInterrupted Status = "interrupted"
	// StatusLost: the lease was taken away meanwhile (reaped, deleted);
	// the cleanup was cancelled and the resource left alone.
	StatusLost Status = "lost"
	// StatusError: the outcome could not be written to the store; the
	// reaper resets the lease.
	StatusError Status = "error"
)

// Result describes one cleanup.
type Result struct {
	// Type and Name are the resource's.
	Type, Name string
	// Epoch is the resource's epoch while the janitor held it.
	Epoch  int64
	Status Status
	// Failures is the count of consecutive failed cleanups after this one
	// (0 after a success).
	Failures int
	// Err is the cleanup's error (Failed, Quarantined, Interrupted), or the
	// store's (Lost, Error).
	Err error
	// Duration of the cleanup.
	Duration time.Duration
}

// Report describes one pass.
type Report struct {
	// Claimed counts the cleanups the pass started, by type (the slots
	// they free claim more until none is dirty: those are not counted).
	Claimed map[string]int
	// Quarantined counts the quarantined resources by type, when
	// Options.OnQuarantined is set.
	Quarantined map[string]int
	// Stopped says the pass stopped claiming early: its context ended or
	// its deadline came within Options.StopMargin.
	Stopped bool
	// Running is the number of cleanups running when the pass returned.
	Running int
}

// Stats are a janitor's counters since New: Claimed counts the cleanups
// started, HandedBack the resources claimed and handed back untouched
// (failed within RetryDelay), the others the Results by Status.
type Stats struct {
	Claimed, HandedBack, Cleaned, Dispatched, Failed, Quarantined, Interrupted, Lost, Errors int64
}

// Janitor cleans dirty resources. Its methods are safe for concurrent
// use, and any number of janitors may share one store.
type Janitor struct {
	r   Ranch
	o   Options
	log *slog.Logger

	mu       sync.Mutex
	running  map[string]int // type -> cleanups running
	inflight int
	changed  chan struct{} // closed and replaced when inflight drops
	rotation int
	failedAt map[string]time.Time // name -> last failed cleanup

	claimed, handedBack, cleaned, dispatched, failed, quarantined, interrupted, lost, errs atomic.Int64
}

// New returns a Janitor over r. It fails on options out of range.
func New(r Ranch, o Options) (*Janitor, error) {
	var errs []error
	if r == nil {
		errs = append(errs, errors.New("janitor: no ranch"))
	}
	if o.Types == nil {
		errs = append(errs, errors.New("janitor: no Types function"))
	}
	if o.Targets.Empty() {
		errs = append(errs, errors.New("janitor: no cleanup configured"))
	}
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"concurrency", int64(o.Concurrency)}, {"max failures", int64(o.MaxFailures)},
		{"heartbeat period", int64(o.Heartbeat)}, {"cleanup timeout", int64(o.CleanupTimeout)},
		{"stop margin", int64(o.StopMargin)}, {"retry delay", int64(o.RetryDelay)},
	} {
		if c.v < 0 {
			errs = append(errs, fmt.Errorf("janitor: %s must not be negative", c.name))
		}
	}
	if o.Owner != "" {
		if err := boskos.ValidateField("owner", o.Owner); err != nil {
			errs = append(errs, fmt.Errorf("janitor: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if o.Owner == "" {
		o.Owner = DefaultOwner
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxFailures == 0 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.StopMargin == 0 {
		o.StopMargin = DefaultStopMargin
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Janitor{r: r, o: o, log: o.Logger.With("component", "janitor"),
		running: map[string]int{}, changed: make(chan struct{}), failedAt: map[string]time.Time{}}, nil
}

// Validate checks the targets against the types Options.Types returns now
// (a start-up check: a cleanup for a type not in the config is an error).
func (j *Janitor) Validate(ctx context.Context) error {
	types, err := j.o.Types(ctx)
	if err != nil {
		return fmt.Errorf("janitor: types: %w", err)
	}
	return j.o.Targets.Validate(types)
}

// Pass claims dirty resources of every type that has a cleanup and a free
// slot, one per type in turn (round-robin, starting one type further each
// pass), and starts their cleanups without waiting for them. A cleanup that
// ends claims the next dirty resource of its type, until none is left, ctx
// ends or its deadline is within StopMargin; so ctx bounds the cleanups and
// must outlive them (in a server, its lifetime context). A resource is only
// claimed when its cleanup starts right away. The error joins the failures
// of Types and of claims (a failing type does not stop the others).
func (j *Janitor) Pass(ctx context.Context) (Report, error) {
	rep, types, err := j.claimAll(ctx)
	if j.o.OnQuarantined != nil && ctx.Err() == nil {
		rep.Quarantined = j.reportQuarantined(ctx, types)
	}
	rep.Running = j.Running()
	return rep, err
}

// RunOnce is one pass bounded by ctx's deadline (a Lambda invocation): it
// claims work until StopMargin before the deadline, then waits for the
// running cleanups until the deadline (a cleanup still running then is
// interrupted, see StatusInterrupted), and reports quarantined counts if
// time is left. Its error is Pass's.
func (j *Janitor) RunOnce(ctx context.Context) (Report, error) {
	rep, types, err := j.claimAll(ctx)
	_ = j.Wait(ctx)
	if j.o.OnQuarantined != nil && ctx.Err() == nil {
		rep.Quarantined = j.reportQuarantined(ctx, types)
	}
	rep.Running = j.Running()
	return rep, err
}

// Wait returns when no cleanup runs, or with ctx's error when ctx ends
// first.
func (j *Janitor) Wait(ctx context.Context) error {
	for {
		j.mu.Lock()
		n, ch := j.inflight, j.changed
		j.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Running returns the number of cleanups running.
func (j *Janitor) Running() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.inflight
}

// Stats returns the counters.
func (j *Janitor) Stats() Stats {
	return Stats{
		Claimed: j.claimed.Load(), HandedBack: j.handedBack.Load(), Cleaned: j.cleaned.Load(), Dispatched: j.dispatched.Load(),
		Failed: j.failed.Load(), Quarantined: j.quarantined.Load(), Interrupted: j.interrupted.Load(),
		Lost: j.lost.Load(), Errors: j.errs.Load(),
	}
}

// claimAll is Pass without the quarantine report; it returns the types with
// a cleanup.
func (j *Janitor) claimAll(ctx context.Context) (Report, []string, error) {
	rep := Report{Claimed: map[string]int{}}
	all, err := j.o.Types(ctx)
	if err != nil {
		return rep, nil, fmt.Errorf("janitor: types: %w", err)
	}
	var types []string
	for _, t := range all {
		if j.o.Targets.For(t) != nil {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return rep, nil, nil
	}
	j.mu.Lock()
	start := j.rotation % len(types)
	j.rotation++
	j.mu.Unlock()
	active := append(append([]string(nil), types[start:]...), types[:start]...)
	var errs []error
	for len(active) > 0 {
		keep := active[:0:0]
		for _, t := range active {
			if !j.mayClaim(ctx) {
				rep.Stopped = true
				return rep, types, errors.Join(errs...)
			}
			if !j.reserve(t) {
				continue // every slot of t is busy
			}
			res, ok, err := j.claim(ctx, t)
			if err != nil {
				errs = append(errs, err)
			}
			if !ok {
				j.unreserve(t)
				continue
			}
			rep.Claimed[t]++
			go j.work(ctx, res)
			keep = append(keep, t)
		}
		active = keep
	}
	return rep, types, errors.Join(errs...)
}

// mayClaim reports whether a new claim may start under ctx.
func (j *Janitor) mayClaim(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= j.o.StopMargin {
		return false
	}
	return true
}

// reserve takes a slot of rtype, if one is free.
func (j *Janitor) reserve(rtype string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running[rtype] >= j.o.Concurrency {
		return false
	}
	j.running[rtype]++
	j.inflight++
	return true
}

// unreserve gives a slot of rtype back.
func (j *Janitor) unreserve(rtype string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running[rtype]--; j.running[rtype] <= 0 {
		delete(j.running, rtype)
	}
	j.inflight--
	close(j.changed)
	j.changed = make(chan struct{})
}

// contendedClaims bounds the claims of one slot in a row that other
// acquires beat to every dirty candidate (boskos.ErrContended): the
// janitor's own other slots, or another janitor, race it for the same
// resources, and a slot that took that 404 for "nothing dirty" would end
// its run while dirty resources remain, leaving them for the next run.
const contendedClaims = 4

// claim acquires a dirty resource of rtype for cleaning, looking again when
// concurrent claims took every candidate it saw (up to contendedClaims
// times). ok is false when none is available or the only one failed
// within RetryDelay (handed back).
func (j *Janitor) claim(ctx context.Context, rtype string) (boskos.Resource, bool, error) {
	res, err := j.r.Acquire(ctx, rtype, boskos.Dirty, boskos.Cleaning, j.o.Owner, "")
	for tries := 1; tries < contendedClaims && errors.Is(err, boskos.ErrContended) && ctx.Err() == nil; tries++ {
		res, err = j.r.Acquire(ctx, rtype, boskos.Dirty, boskos.Cleaning, j.o.Owner, "")
	}
	if err != nil {
		switch boskos.ErrorCode(err) {
		case boskos.ENotFound, boskos.ETypeNotFound:
			return boskos.Resource{}, false, nil
		}
		j.log.Error("claim failed", "type", rtype, "error", err)
		return boskos.Resource{}, false, fmt.Errorf("janitor: claim %s: %w", rtype, err)
	}
	if ctx.Err() == nil && j.failedRecently(res.Name) {
		// The least recently updated dirty resource failed moments ago:
		// nothing else of the type is waiting. Hand it back untouched.
		j.log.Debug("leaving a recently failed resource for later", "type", rtype, "name", res.Name)
		if err := j.r.Release(ctx, res.Name, boskos.Dirty, j.o.Owner, &res.Epoch); err != nil {
			j.log.Error("hand back failed", "type", rtype, "name", res.Name, "error", err)
		}
		j.handedBack.Add(1)
		return boskos.Resource{}, false, nil
	}
	j.claimed.Add(1)
	return res, true, nil
}

// failedRecently reports whether name failed within RetryDelay, forgetting
// older failures.
func (j *Janitor) failedRecently(name string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.o.Now()
	for n, at := range j.failedAt {
		if now.Sub(at) >= j.o.RetryDelay {
			delete(j.failedAt, n)
		}
	}
	_, ok := j.failedAt[name]
	return ok
}

func (j *Janitor) noteFailure(name string, failed bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if failed {
		j.failedAt[name] = j.o.Now()
	} else {
		delete(j.failedAt, name)
	}
}

// work cleans res, then more resources of its type while there are any,
// in the slot reserved for res.
func (j *Janitor) work(ctx context.Context, res boskos.Resource) {
	defer j.unreserve(res.Type)
	for {
		r := j.clean(ctx, res)
		if r.Status != StatusCleaned && r.Status != StatusDispatched {
			return // the next pass retries; do not spin on a failing type
		}
		if !j.mayClaim(ctx) {
			return
		}
		next, ok, _ := j.claim(ctx, res.Type)
		if !ok {
			return
		}
		res = next
	}
}

// errLost is the cancel cause of a cleanup whose lease was taken away.
type errLost struct{ err error }

func (e errLost) Error() string { return "lease lost: " + e.err.Error() }
func (e errLost) Unwrap() error { return e.err }

// lostLease reports whether err says the lease is no longer the janitor's.
func lostLease(err error) bool {
	switch boskos.ErrorCode(err) {
	case boskos.EOwnerMismatch, boskos.ENotFound, boskos.EStaleEpoch, boskos.EStateMismatch:
		return true
	}
	return false
}

// clean runs the cleanup of res, heartbeating its lease, and records the
// outcome.
func (j *Janitor) clean(ctx context.Context, res boskos.Resource) Result {
	log := j.log.With("type", res.Type, "name", res.Name, "epoch", res.Epoch)
	r := Result{Type: res.Type, Name: res.Name, Epoch: res.Epoch, Failures: failures(res.UserData)}
	if ctx.Err() != nil {
		// Claimed as the context ended: no cleanup started, hand it back.
		r.Status = StatusInterrupted
		r.Err = ctx.Err()
		j.handBack(ctx, log, res, &r)
		return j.finish(log, r)
	}
	cleaner := j.o.Targets.For(res.Type)
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var tctx context.Context = cctx
	if j.o.CleanupTimeout > 0 {
		var c context.CancelFunc
		tctx, c = context.WithTimeoutCause(cctx, j.o.CleanupTimeout,
			fmt.Errorf("cleanup timed out after %s", j.o.CleanupTimeout))
		defer c()
	}
	stop := make(chan struct{})
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		j.heartbeat(cctx, stop, res, cancel)
	}()
	log.Info("cleaning")
	start := j.o.Now()
	outcome, err := j.run(tctx, cleaner, res)
	r.Duration = j.o.Now().Sub(start)
	close(stop)
	<-hbDone
	if err != nil && tctx.Err() != nil && ctx.Err() == nil {
		if cause := context.Cause(tctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", err, cause)
		}
	}

	var lost errLost
	switch {
	case errors.As(context.Cause(cctx), &lost):
		r.Status, r.Err = StatusLost, lost.err
		log.Warn("lease lost during cleanup; left alone", "error", lost.err)
	case err != nil && ctx.Err() != nil:
		r.Status, r.Err = StatusInterrupted, err
		if errors.Is(err, ErrStopped) {
			j.handBack(ctx, log, res, &r)
		} else {
			log.Warn("cleanup interrupted; its lease is left to the reaper", "error", err)
		}
	case err != nil:
		j.fail(ctx, log, res, err, &r)
	case outcome == Dispatched:
		r.Status = StatusDispatched
		log.Info("cleanup dispatched")
	default:
		j.succeed(ctx, log, res, &r)
	}
	return j.finish(log, r)
}

// run calls the cleaner, turning a panic into an error.
func (j *Janitor) run(ctx context.Context, c Cleaner, res boskos.Resource) (o Outcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			o, err = 0, fmt.Errorf("cleanup panicked: %v", p)
		}
	}()
	return c.Clean(ctx, res)
}

// heartbeat updates the lease of res every Heartbeat until stop is closed;
// a lost lease cancels the cleanup.
func (j *Janitor) heartbeat(ctx context.Context, stop <-chan struct{}, res boskos.Resource, cancel context.CancelCauseFunc) {
	t := time.NewTicker(j.o.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := j.r.Update(ctx, res.Name, j.o.Owner, boskos.Cleaning, nil, &res.Epoch)
		if j.o.OnHeartbeat != nil {
			j.o.OnHeartbeat(res.Type, res.Name, err)
		}
		switch {
		case err == nil:
		case lostLease(err):
			cancel(errLost{err})
			return
		default:
			j.log.Warn("heartbeat failed", "type", res.Type, "name", res.Name, "error", err)
		}
	}
}

// writeCtx is ctx, or a short detached one when ctx has ended.
func writeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
}

// handBack releases res dirty without counting a failure.
func (j *Janitor) handBack(ctx context.Context, log *slog.Logger, res boskos.Resource, r *Result) {
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	if err := j.r.Release(wctx, res.Name, boskos.Dirty, j.o.Owner, &res.Epoch); err != nil {
		j.storeFailed(log, "hand back", err, r)
	}
}

// succeed releases res free, dropping the failure keys.
func (j *Janitor) succeed(ctx context.Context, log *slog.Logger, res boskos.Resource, r *Result) {
	r.Status, r.Failures = StatusCleaned, 0
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	_, hasF := res.UserData[KeyFailures]
	_, hasR := res.UserData[KeyReason]
	if hasF || hasR {
		ud := boskos.UserData{KeyFailures: "", KeyReason: ""}
		if err := j.r.Update(wctx, res.Name, j.o.Owner, boskos.Cleaning, ud, &res.Epoch); err != nil {
			j.storeFailed(log, "reset failure count", err, r)
			return
		}
	}
	if err := j.r.Release(wctx, res.Name, boskos.Free, j.o.Owner, &res.Epoch); err != nil {
		j.storeFailed(log, "release free", err, r)
	}
}

// fail counts a failed cleanup and releases res dirty, or quarantines it
// after MaxFailures in a row.
func (j *Janitor) fail(ctx context.Context, log *slog.Logger, res boskos.Resource, cerr error, r *Result) {
	r.Err = cerr
	r.Failures++
	// Before the release: a pass must not take it up again at once.
	j.noteFailure(res.Name, true)
	dest := boskos.Dirty
	ud := boskos.UserData{KeyFailures: strconv.Itoa(r.Failures)}
	r.Status = StatusFailed
	if r.Failures >= j.o.MaxFailures {
		dest, r.Status = boskos.Quarantined, StatusQuarantined
		// Valid UTF-8 (DynamoDB refuses anything else), bounded.
		ud[KeyReason] = callout.Truncate(strings.ToValidUTF8(cerr.Error(), "\uFFFD"), MaxReasonBytes)
		if ud[KeyReason] == "" {
			ud[KeyReason] = "cleanup failed"
		}
	}
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	if err := j.r.Update(wctx, res.Name, j.o.Owner, boskos.Cleaning, ud, &res.Epoch); err != nil {
		j.storeFailed(log, "record failure", err, r)
		return
	}
	if err := j.r.Release(wctx, res.Name, dest, j.o.Owner, &res.Epoch); err != nil {
		j.storeFailed(log, "release "+dest, err, r)
	}
}

// storeFailed records a failed write of the outcome in r.
func (j *Janitor) storeFailed(log *slog.Logger, op string, err error, r *Result) {
	if lostLease(err) {
		r.Status = StatusLost
	} else {
		r.Status = StatusError
	}
	r.Err = fmt.Errorf("janitor: %s: %w", op, err)
	log.Error("could not record the cleanup's outcome", "op", op, "error", err)
}

// finish counts and reports r.
func (j *Janitor) finish(log *slog.Logger, r Result) Result {
	switch r.Status {
	case StatusCleaned:
		j.cleaned.Add(1)
	case StatusDispatched:
		j.dispatched.Add(1)
	case StatusFailed:
		j.failed.Add(1)
	case StatusQuarantined:
		j.quarantined.Add(1)
	case StatusInterrupted:
		j.interrupted.Add(1)
	case StatusLost:
		j.lost.Add(1)
	case StatusError:
		j.errs.Add(1)
	}
	j.noteFailure(r.Name, r.Status == StatusFailed)
	attrs := []any{"status", string(r.Status), "duration", r.Duration, "failures", r.Failures}
	switch r.Status {
	case StatusCleaned, StatusDispatched:
		log.Info("cleanup done", attrs...)
	case StatusFailed, StatusInterrupted, StatusLost:
		log.Warn("cleanup done", append(attrs, "error", r.Err)...)
	default:
		log.Error("cleanup done", append(attrs, "error", r.Err)...)
	}
	if j.o.OnResult != nil {
		j.o.OnResult(r)
	}
	return r
}

// failures reads KeyFailures (0 when absent or not a number).
func failures(ud boskos.UserData) int {
	n, err := strconv.Atoi(ud[KeyFailures])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// reportQuarantined counts the quarantined resources of each type and calls
// OnQuarantined.
func (j *Janitor) reportQuarantined(ctx context.Context, types []string) map[string]int {
	out := make(map[string]int, len(types))
	for _, t := range types {
		m, err := j.r.Metric(ctx, t)
		if err != nil && boskos.ErrorCode(err) != boskos.ENotFound {
			j.log.Warn("metric failed", "type", t, "error", err)
			continue
		}
		n := m.Current[boskos.Quarantined]
		out[t] = n
		j.o.OnQuarantined(t, n)
	}
	return out
}
