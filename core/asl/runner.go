package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// TaskFunc runs one Task state: it gets the state's effective input
// (after InputPath and Parameters) and returns its result, which must be
// JSON (nil or empty means null). ctx carries the attempt's TimeoutSeconds
// as its deadline and is cancelled when the run is; a TaskFunc must return
// promptly then. An error is named for Retry and Catch by ErrorName.
type TaskFunc func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

// Phase is the moment of an execution an Event reports.
type Phase string

// The phases, in the order a state goes through them.
const (
	// Enter: the execution enters State.
	Enter Phase = "Enter"
	// Retry: an attempt of the Task State failed with Err and a retrier
	// matched; the next attempt starts after Delay.
	Retry Phase = "Retry"
	// Catch: the Task State failed with Err and a catcher sends the
	// execution to its Next.
	Catch Phase = "Catch"
	// Exit: State completed; the execution moves to its Next, or ends.
	// (A Task whose error a catcher handled ends with Catch instead: a
	// state that does not fail the execution ends with Exit or Catch.)
	Exit Phase = "Exit"
	// Fail: the execution failed in State with Err and Cause (a Fail
	// state, an error no catcher handled, the machine's TimeoutSeconds).
	Fail Phase = "Fail"
	// Succeed: the execution succeeded; State is its last state.
	Succeed Phase = "Succeed"
)

// Event is one step of an execution, given to Runner.Hook and logged.
type Event struct {
	// Execution is the name given to Run.
	Execution string
	// State is the state's name; Type its type (Task, Choice, ...).
	State, Type string
	// Phase is the moment.
	Phase Phase
	// Attempt counts the attempts of a Task state from 1 (Enter: the first
	// one; Retry: the one that failed; Exit, Catch, Fail: the last one). It
	// is 0 for the other state types.
	Attempt int
	// Err and Cause are the ASL error of Retry, Catch and Fail.
	Err, Cause string
	// Delay is the wait before the next attempt (Retry).
	Delay time.Duration
}

// Runner runs executions of one Machine in process. Its fields are read
// only; one Runner serves concurrent Runs.
type Runner struct {
	// Machine is the document to run.
	Machine *Machine
	// Tasks has the TaskFunc of each Task state, keyed by the state's name
	// (not by its Resource). Run refuses to start unless they match the
	// Task states exactly (Machine.Validate).
	Tasks map[string]TaskFunc
	// Sleep waits d or until ctx is done (then it returns ctx's error).
	// It serves Wait states and retry backoff. Nil: a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock of timeouts and Wait timestamps. Nil: time.Now.
	// Tests that inject Sleep advance it by the durations slept.
	Now func() time.Time
	// Hook, if not nil, is called at each Event, after it is logged. If it
	// returns an error the execution stops right there, and Run returns
	// that error wrapped (errors.Is finds it): tests simulate a crash after
	// any state this way.
	Hook func(Event) error
	// Log gets one structured line per Event (execution, state, type,
	// phase, attempt, error name and cause, delay), never input or output
	// payloads. Nil: no logs.
	Log *slog.Logger
}

// errMachineTimeout is the cause of a run context cancelled by the
// machine's TimeoutSeconds.
var errMachineTimeout = errors.New("asl: the execution's TimeoutSeconds passed")

// errTaskTimeout is the cause of a task context cancelled by the Task
// state's TimeoutSeconds.
var errTaskTimeout = errors.New("asl: the task's TimeoutSeconds passed")

// Run runs one execution named execution (for events and logs) from the
// machine's StartAt with input (empty: {}), and returns the output of its
// last state. An execution that ends in a Fail state, with an error no
// catcher handled, or past the machine's TimeoutSeconds returns a wrapped
// *ExecutionFailed. A cancelled ctx stops it promptly, also during a Wait
// or a retry backoff, and Run returns ctx's error (wrapped). A Hook error
// stops it and is returned wrapped. Other errors (Tasks not matching the
// Task states, input that is not JSON) are returned before anything runs.
func (r *Runner) Run(ctx context.Context, execution string, input json.RawMessage) (json.RawMessage, error) {
	if r.Machine == nil {
		return nil, errors.New("asl: Runner.Machine is nil")
	}
	if err := r.Machine.Validate(r.Tasks); err != nil {
		return nil, err
	}
	var data any = map[string]any{}
	if len(input) > 0 {
		v, err := decodeJSON(input)
		if err != nil {
			return nil, fmt.Errorf("asl: execution %q: input is not JSON: %w", execution, err)
		}
		data = v
	}
	x := &run{r: r, m: r.Machine, name: execution, parent: ctx, log: r.Log}
	if x.log == nil {
		x.log = slog.New(slog.DiscardHandler)
	}
	x.ctx = ctx
	if r.Machine.timeout > 0 {
		x.deadline = x.now().Add(r.Machine.timeout)
		var cancel context.CancelFunc
		x.ctx, cancel = context.WithTimeoutCause(ctx, r.Machine.timeout, errMachineTimeout)
		defer cancel()
	}
	out, err := x.loop(data)
	if err != nil {
		return nil, err
	}
	return encodeJSON(out)
}

// run is one execution.
type run struct {
	r        *Runner
	m        *Machine
	name     string
	parent   context.Context // Run's ctx
	ctx      context.Context // parent with the machine's TimeoutSeconds
	deadline time.Time       // of the machine's TimeoutSeconds; zero: none
	log      *slog.Logger
}

func (x *run) now() time.Time {
	if x.r.Now != nil {
		return x.r.Now()
	}
	return time.Now()
}

// outcome is how a state ended: its output and the next state (none: the
// execution succeeded), or an ASL error that fails the execution.
type outcome struct {
	out     any
	next    string
	failure *stateError
	attempt int
	caught  bool
}

func (x *run) loop(data any) (any, error) {
	name := x.m.startAt
	for {
		st := x.m.states[name]
		if err := x.alive(st, 0); err != nil {
			return nil, err
		}
		attempt := 0
		if st.typ == typeTask {
			attempt = 1
		}
		if err := x.emit(Event{State: st.name, Type: st.typ, Phase: Enter, Attempt: attempt}); err != nil {
			return nil, err
		}
		o, err := x.state(st, data)
		if err != nil {
			return nil, err
		}
		if o.failure != nil {
			return nil, x.fail(st, o.attempt, o.failure)
		}
		if !o.caught {
			if err := x.emit(Event{State: st.name, Type: st.typ, Phase: Exit, Attempt: o.attempt}); err != nil {
				return nil, err
			}
		}
		if o.next == "" {
			if err := x.emit(Event{State: st.name, Type: st.typ, Phase: Succeed, Attempt: o.attempt}); err != nil {
				return nil, err
			}
			return o.out, nil
		}
		name, data = o.next, o.out
	}
}

// alive returns the parent's error if it is done, and fails the execution
// if the machine's TimeoutSeconds passed.
func (x *run) alive(st *state, attempt int) error {
	if err := x.parent.Err(); err != nil {
		return x.stopped(st, err)
	}
	if x.timedOut() {
		return x.fail(st, attempt, &stateError{name: ErrorTimeout,
			cause: fmt.Sprintf("the execution did not finish within its TimeoutSeconds (%s)", x.m.timeout)})
	}
	return nil
}

func (x *run) timedOut() bool {
	if x.deadline.IsZero() {
		return false
	}
	return !x.now().Before(x.deadline) || errors.Is(context.Cause(x.ctx), errMachineTimeout)
}

func (x *run) stopped(st *state, err error) error {
	return fmt.Errorf("asl: execution %q stopped in state %q: %w", x.name, st.name, err)
}

// fail reports the Fail event and returns the execution's failure.
func (x *run) fail(st *state, attempt int, e *stateError) error {
	if err := x.emit(Event{State: st.name, Type: st.typ, Phase: Fail, Attempt: attempt, Err: e.name, Cause: e.cause}); err != nil {
		return err
	}
	return fmt.Errorf("asl: execution %q failed in state %q: %w", x.name, st.name, &ExecutionFailed{Err: e.name, Cause: e.cause})
}

// emit logs the event and calls the Hook.
func (x *run) emit(ev Event) error {
	ev.Execution = x.name
	attrs := []slog.Attr{slog.String("execution", ev.Execution), slog.String("state", ev.State),
		slog.String("type", ev.Type), slog.String("phase", string(ev.Phase))}
	if ev.Attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", ev.Attempt))
	}
	if ev.Err != "" {
		attrs = append(attrs, slog.String("error", ev.Err), slog.String("cause", ev.Cause))
	}
	if ev.Phase == Retry {
		attrs = append(attrs, slog.Duration("delay", ev.Delay))
	}
	level := slog.LevelDebug
	switch ev.Phase {
	case Retry, Succeed:
		level = slog.LevelInfo
	case Catch, Fail:
		level = slog.LevelWarn
	}
	x.log.LogAttrs(context.Background(), level, "asl "+string(ev.Phase), attrs...)
	if x.r.Hook == nil {
		return nil
	}
	if err := x.r.Hook(ev); err != nil {
		return fmt.Errorf("asl: execution %q: the hook stopped it at %s of state %q: %w", x.name, ev.Phase, ev.State, err)
	}
	return nil
}

// sleep waits d on the Runner's Sleep, cut short at the machine's
// deadline (the execution then fails with States.Timeout).
func (x *run) sleep(st *state, attempt int, d time.Duration) error {
	if !x.deadline.IsZero() {
		if left := x.deadline.Sub(x.now()); d > left {
			d = left
		}
	}
	if d > 0 {
		sleep := x.r.Sleep
		if sleep == nil {
			sleep = realSleep
		}
		if err := sleep(x.ctx, d); err != nil && x.parent.Err() == nil && !x.timedOut() {
			return x.stopped(st, fmt.Errorf("sleep: %w", err))
		}
	}
	return x.alive(st, attempt)
}

// realSleep waits d or until ctx is done.
func realSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// state runs one state over its raw input. Its error ends the execution
// as is (cancellation, a Hook or Sleep error, a failure already reported);
// the ASL errors of the state are in the outcome.
func (x *run) state(st *state, raw any) (outcome, error) {
	switch st.typ {
	case typeFail:
		return x.failState(st, raw), nil
	case typeTask:
		return x.task(st, raw)
	}
	in, serr := st.effectiveInput(raw)
	if serr != nil {
		return outcome{failure: serr}, nil
	}
	var out any
	next := st.next
	switch st.typ {
	case typePass:
		result := in
		if st.hasResult {
			result = st.result
		}
		if out, serr = st.applyResult(raw, result); serr != nil {
			return outcome{failure: serr}, nil
		}
	case typeChoice:
		out = in
		if next, serr = st.choose(in); serr != nil {
			return outcome{failure: serr}, nil
		}
	case typeWait:
		d, serr := x.waitDuration(st, in)
		if serr != nil {
			return outcome{failure: serr}, nil
		}
		if err := x.sleep(st, 0, d); err != nil {
			return outcome{}, err
		}
		out = in
	case typeSucceed:
		out, next = in, ""
	}
	if out, serr = st.applyOutputPath(out); serr != nil {
		return outcome{failure: serr}, nil
	}
	return outcome{out: out, next: next}, nil
}

// effectiveInput applies InputPath and Parameters to the raw input.
func (st *state) effectiveInput(raw any) (any, *stateError) {
	in := raw
	switch {
	case st.inputPath.null:
		in = map[string]any{}
	case !st.inputPath.isRoot():
		v, ok := st.inputPath.get(raw)
		if !ok {
			return nil, runtimeErrorf("the InputPath %s selects nothing in the state's input", st.inputPath)
		}
		in = v
	}
	if st.parameters != nil {
		v, err := st.parameters.eval(in)
		if err != nil {
			return nil, runtimeErrorf("Parameters: %v", err)
		}
		in = v
	}
	return in, nil
}

// applyResult places result in the raw input by ResultPath (null: the
// raw input unchanged).
func (st *state) applyResult(raw, result any) (any, *stateError) {
	return applyResultPath(st.resultPath, raw, result)
}

func applyResultPath(rp optPath, raw, result any) (any, *stateError) {
	if rp.null {
		return raw, nil
	}
	out, err := rp.set(raw, result)
	if err != nil {
		return nil, &stateError{name: ErrorResultPathMatchFailure, cause: err.Error()}
	}
	return out, nil
}

// applyOutputPath selects the state's output (null: {}).
func (st *state) applyOutputPath(v any) (any, *stateError) {
	switch {
	case st.outputPath.null:
		return map[string]any{}, nil
	case st.outputPath.isRoot():
		return v, nil
	}
	out, ok := st.outputPath.get(v)
	if !ok {
		return nil, runtimeErrorf("the OutputPath %s selects nothing in the state's output", st.outputPath)
	}
	return out, nil
}

// choose returns the Next of the first matching rule, or the Default.
func (st *state) choose(in any) (string, *stateError) {
	for _, r := range st.choices {
		ok, err := r.eval(in)
		if err != nil {
			return "", err
		}
		if ok {
			return r.next, nil
		}
	}
	if st.defaultNext != "" {
		return st.defaultNext, nil
	}
	return "", &stateError{name: ErrorNoChoiceMatched, cause: fmt.Sprintf("no rule of the Choice state %q matched and it has no Default", st.name)}
}

// waitDuration is how long a Wait state waits.
func (x *run) waitDuration(st *state, in any) (time.Duration, *stateError) {
	switch {
	case st.hasSeconds:
		return time.Duration(st.seconds) * time.Second, nil
	case st.secondsPath != nil:
		v, ok := st.secondsPath.get(in)
		if !ok {
			return 0, runtimeErrorf("the SecondsPath %s selects nothing in the input", st.secondsPath)
		}
		n, ok := number(v)
		if !ok || !n.IsInt() || n.Sign() < 0 || !n.Num().IsInt64() || n.Num().Int64() > maxSeconds {
			return 0, runtimeErrorf("the SecondsPath %s selects %s, not an integer from 0 to %d", st.secondsPath, kindOrNumber(v), maxSeconds)
		}
		return time.Duration(n.Num().Int64()) * time.Second, nil
	case st.hasTimestamp:
		return st.timestamp.Sub(x.now()), nil
	case st.timestampPath != nil:
		v, ok := st.timestampPath.get(in)
		if !ok {
			return 0, runtimeErrorf("the TimestampPath %s selects nothing in the input", st.timestampPath)
		}
		s, ok := v.(string)
		if !ok {
			return 0, runtimeErrorf("the TimestampPath %s selects %s, not a timestamp string", st.timestampPath, kindOf(v))
		}
		t, err := parseTimestamp(s)
		if err != nil {
			return 0, runtimeErrorf("the TimestampPath %s: %v", st.timestampPath, err)
		}
		return t.Sub(x.now()), nil
	}
	return 0, nil
}

// kindOrNumber describes a value for a SecondsPath message: numbers are
// shown (they are not secrets), other values only by kind.
func kindOrNumber(v any) string {
	if n, ok := v.(json.Number); ok {
		return "the number " + string(n)
	}
	return kindOf(v)
}

// failState is the outcome of a Fail state.
func (x *run) failState(st *state, raw any) outcome {
	e := &stateError{name: st.errName, cause: st.cause}
	for _, f := range []struct {
		p    *path
		dst  *string
		name string
	}{{st.errorPath, &e.name, "ErrorPath"}, {st.causePath, &e.cause, "CausePath"}} {
		if f.p == nil {
			continue
		}
		v, ok := f.p.get(raw)
		s, isString := v.(string)
		if !ok || !isString {
			return outcome{failure: runtimeErrorf("the %s %s does not select a string in the input", f.name, f.p)}
		}
		*f.dst = s
	}
	return outcome{failure: e}
}

// task runs a Task state: its attempts with the retriers, then a catcher
// or the failure.
func (x *run) task(st *state, raw any) (outcome, error) {
	in, serr := st.effectiveInput(raw)
	if serr != nil {
		return outcome{failure: serr, attempt: 1}, nil
	}
	payload, err := encodeJSON(in)
	if err != nil {
		return outcome{failure: runtimeErrorf("the task's input cannot be encoded: %v", err), attempt: 1}, nil
	}
	retries := make([]int64, len(st.retriers))
	for attempt := 1; ; attempt++ {
		out, serr, err := x.attempt(st, attempt, raw, payload)
		if err != nil {
			return outcome{}, err
		}
		if serr == nil {
			return outcome{out: out, next: st.next, attempt: attempt}, nil
		}
		if serr.name == ErrorRuntime {
			return outcome{failure: serr, attempt: attempt}, nil
		}
		if i := matchRetrier(st.retriers, serr.name); i >= 0 && retries[i] < st.retriers[i].maxAttempts {
			retries[i]++
			delay := st.retriers[i].delay(retries[i])
			if err := x.emit(Event{State: st.name, Type: st.typ, Phase: Retry, Attempt: attempt,
				Err: serr.name, Cause: serr.cause, Delay: delay}); err != nil {
				return outcome{}, err
			}
			if err := x.sleep(st, attempt, delay); err != nil {
				return outcome{}, err
			}
			continue
		}
		for _, c := range st.catchers {
			if !errorMatches(c.equals, serr.name) {
				continue
			}
			errObj := map[string]any{"Error": serr.name, "Cause": serr.cause}
			out, perr := applyResultPath(c.resultPath, raw, errObj)
			if perr != nil {
				return outcome{failure: perr, attempt: attempt}, nil
			}
			if err := x.emit(Event{State: st.name, Type: st.typ, Phase: Catch, Attempt: attempt,
				Err: serr.name, Cause: serr.cause}); err != nil {
				return outcome{}, err
			}
			return outcome{out: out, next: c.next, attempt: attempt, caught: true}, nil
		}
		return outcome{failure: serr, attempt: attempt}, nil
	}
}

// matchRetrier returns the index of the first retrier whose ErrorEquals
// matches name, or -1. (A matching retrier with no attempts left does not
// hand the error to the next one: the error goes to the catchers.)
func matchRetrier(rs []retrier, name string) int {
	for i, r := range rs {
		if errorMatches(r.equals, name) {
			return i
		}
	}
	return -1
}

// attempt runs the TaskFunc once and processes its result (ResultSelector,
// ResultPath, OutputPath). It returns the state's output, or its ASL
// error, or a stop.
func (x *run) attempt(st *state, attempt int, raw any, payload json.RawMessage) (any, *stateError, error) {
	if err := x.alive(st, attempt); err != nil {
		return nil, nil, err
	}
	ctx := x.ctx
	var cancel context.CancelFunc = func() {}
	if st.timeout > 0 {
		ctx, cancel = context.WithTimeoutCause(x.ctx, st.timeout, errTaskTimeout)
	}
	start := x.now()
	// Each attempt gets its own copy: a TaskFunc may keep or change it.
	result, err := x.r.Tasks[st.name](ctx, append(json.RawMessage(nil), payload...))
	timedOut := st.timeout > 0 && (errors.Is(context.Cause(ctx), errTaskTimeout) || x.now().Sub(start) >= st.timeout)
	cancel()
	if err := x.alive(st, attempt); err != nil {
		return nil, nil, err
	}
	switch {
	case timedOut:
		return nil, &stateError{name: ErrorTimeout, cause: fmt.Sprintf("the task did not finish within its TimeoutSeconds (%s)", st.timeout)}, nil
	case err != nil:
		return nil, &stateError{name: ErrorName(err), cause: err.Error()}, nil
	}
	var res any
	if len(result) > 0 {
		v, derr := decodeJSON(result)
		if derr != nil {
			return nil, &stateError{name: ErrorTaskFailed, cause: fmt.Sprintf("the task's output is not JSON: %v", derr)}, nil
		}
		res = v
	}
	if st.resultSelector != nil {
		v, err := st.resultSelector.eval(res)
		if err != nil {
			return nil, runtimeErrorf("ResultSelector: %v", err), nil
		}
		res = v
	}
	out, serr := st.applyResult(raw, res)
	if serr != nil {
		return nil, serr, nil
	}
	if out, serr = st.applyOutputPath(out); serr != nil {
		return nil, serr, nil
	}
	return out, nil, nil
}
