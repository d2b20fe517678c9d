package asl_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
)

// TestInputOutput: InputPath, Parameters, ResultSelector, ResultPath and
// OutputPath of a Task, checked on the TaskFunc's input and the state's
// output.
func TestInputOutput(t *testing.T) {
	const input = `{"name": "p-1", "epoch": 12345678901234567890, "cfg": {"zone": "eu", "tags": ["a", "b"]}, "x": 1}`
	for _, tc := range []struct {
		name     string
		fields   string // of the Task state
		result   string // the TaskFunc's output
		wantIn   string // the TaskFunc's input
		wantOut  string
		wantFail string // error name, if the execution fails
	}{
		{name: "defaults: input as is, result replaces it",
			result: `{"r": 1}`, wantIn: input, wantOut: `{"r": 1}`},
		{name: "InputPath", fields: `"InputPath": "$.cfg",`,
			result: `"ok"`, wantIn: `{"zone": "eu", "tags": ["a", "b"]}`, wantOut: `"ok"`},
		{name: "InputPath index", fields: `"InputPath": "$.cfg.tags[1]",`,
			result: `1`, wantIn: `"b"`, wantOut: `1`},
		{name: "InputPath null is {}", fields: `"InputPath": null,`,
			result: `2`, wantIn: `{}`, wantOut: `2`},
		{name: "Parameters, nested and in arrays", fields: `"Parameters": {"n.$": "$.name", "fixed": {"k": [1, {"z.$": "$.cfg.zone"}]}, "all.$": "$.cfg.tags"},`,
			result: `{}`, wantIn: `{"n": "p-1", "fixed": {"k": [1, {"z": "eu"}]}, "all": ["a", "b"]}`, wantOut: `{}`},
		{name: "Parameters after InputPath", fields: `"InputPath": "$.cfg", "Parameters": {"z.$": "$.zone"},`,
			result: `{}`, wantIn: `{"z": "eu"}`, wantOut: `{}`},
		{name: "ResultSelector", fields: `"ResultSelector": {"id.$": "$.Payload.id", "const": true},`,
			result: `{"Payload": {"id": 7, "junk": 1}, "StatusCode": 200}`, wantIn: input, wantOut: `{"id": 7, "const": true}`},
		{name: "ResultPath $", fields: `"ResultPath": "$",`,
			result: `[1]`, wantIn: input, wantOut: `[1]`},
		{name: "ResultPath null keeps the input", fields: `"ResultPath": null,`,
			result: `{"ignored": true}`, wantIn: input, wantOut: input},
		{name: "ResultPath into the input, creating objects", fields: `"ResultPath": "$.out.task",`,
			result: `{"done": true}`, wantIn: input,
			wantOut: `{"name": "p-1", "epoch": 12345678901234567890, "cfg": {"zone": "eu", "tags": ["a", "b"]}, "x": 1, "out": {"task": {"done": true}}}`},
		{name: "ResultPath replaces a field", fields: `"ResultPath": "$.x",`,
			result: `{"y": 2}`, wantIn: input,
			wantOut: `{"name": "p-1", "epoch": 12345678901234567890, "cfg": {"zone": "eu", "tags": ["a", "b"]}, "x": {"y": 2}}`},
		{name: "ResultPath applies to the raw input, not to InputPath's", fields: `"InputPath": "$.cfg", "ResultPath": "$.r",`,
			result: `3`, wantIn: `{"zone": "eu", "tags": ["a", "b"]}`,
			wantOut: `{"name": "p-1", "epoch": 12345678901234567890, "cfg": {"zone": "eu", "tags": ["a", "b"]}, "x": 1, "r": 3}`},
		{name: "OutputPath", fields: `"ResultPath": "$.r", "OutputPath": "$.r",`,
			result: `{"k": "v"}`, wantIn: input, wantOut: `{"k": "v"}`},
		{name: "OutputPath null is {}", fields: `"OutputPath": null,`,
			result: `{"k": "v"}`, wantIn: input, wantOut: `{}`},
		{name: "empty output is null", fields: `"ResultPath": "$.r", "OutputPath": "$.r",`,
			result: ``, wantIn: input, wantOut: `null`},
		{name: "strings are not HTML-escaped", result: `"<a&b>"`, wantIn: input, wantOut: `"<a&b>"`},

		{name: "InputPath selects nothing", fields: `"InputPath": "$.nope",`, wantFail: asl.ErrorRuntime},
		{name: "Parameters path selects nothing", fields: `"Parameters": {"a.$": "$.nope"},`, wantFail: asl.ErrorRuntime},
		{name: "ResultSelector path selects nothing", fields: `"ResultSelector": {"a.$": "$.nope"},`, result: `{}`, wantIn: input, wantFail: asl.ErrorRuntime},
		{name: "OutputPath selects nothing", fields: `"OutputPath": "$.nope",`, result: `{}`, wantIn: input, wantFail: asl.ErrorRuntime},
		{name: "ResultPath into a non-object", fields: `"ResultPath": "$.name.sub",`, result: `{}`, wantIn: input,
			wantFail: asl.ErrorResultPathMatchFailure},
		{name: "output not JSON", result: `{"a":`, wantIn: input, wantFail: asl.ErrorTaskFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			task := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
				got = append(got, string(in))
				return json.RawMessage(tc.result), nil
			}
			res := runDoc(t, machine(`"A": {"Type": "Task", "Resource": "r", `+tc.fields+` "End": true}`),
				map[string]asl.TaskFunc{"A": task}, input)
			if tc.wantIn != "" {
				require.Len(t, got, 1)
				assert.JSONEq(t, tc.wantIn, got[0], "TaskFunc input")
			}
			if tc.wantFail != "" {
				assert.Equal(t, tc.wantFail, res.failed(t).Err)
				return
			}
			require.NoError(t, res.err)
			assert.JSONEq(t, tc.wantOut, res.out)
			if tc.name == "defaults: input as is, result replaces it" {
				assert.Contains(t, got[0], "12345678901234567890", "integers pass through exactly")
			}
		})
	}
}

// TestRuntimeErrorsAreNotCaught: States.Runtime ends the execution; no
// retrier or catcher matches it, States.ALL included.
func TestRuntimeErrorsAreNotCaught(t *testing.T) {
	calls := 0
	task := func(context.Context, json.RawMessage) (json.RawMessage, error) {
		calls++
		return json.RawMessage(`{}`), nil
	}
	res := runDoc(t, machine(`
		"A": {"Type": "Task", "Resource": "r", "OutputPath": "$.missing", "End": true,
		      "Retry": [{"ErrorEquals": ["States.ALL"]}],
		      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"}]},
		"B": {"Type": "Succeed"}`), map[string]asl.TaskFunc{"A": task}, `{}`)
	ef := res.failed(t)
	assert.Equal(t, asl.ErrorRuntime, ef.Err)
	assert.Equal(t, "the OutputPath $.missing selects nothing in the state's output", ef.Cause)
	assert.Equal(t, 1, calls, "not retried")
	assert.Equal(t, []string{"Enter A", "Fail A States.Runtime"}, res.events)
}

// TestRetry: the delays requested of Sleep, and which errors are retried.
func TestRetry(t *testing.T) {
	transient := &named{"Transient", "try again"}
	for _, tc := range []struct {
		name      string
		retry     string
		errs      []error // of successive attempts; then success
		wantSlept []time.Duration
		wantCalls int
		wantFail  string // error name; "" = success
		wantNext  string // the state after a catch
	}{
		{name: "defaults: 1s, then x2, 3 attempts", retry: `[{"ErrorEquals": ["Transient"]}]`,
			errs: []error{transient, transient, transient, transient}, wantSlept: seconds(1, 2, 4), wantCalls: 4, wantFail: "Transient"},
		{name: "success on a retry", retry: `[{"ErrorEquals": ["Transient"], "IntervalSeconds": 3}]`,
			errs: []error{transient, transient}, wantSlept: seconds(3, 6), wantCalls: 3},
		{name: "BackoffRate and MaxDelaySeconds", retry: `[{"ErrorEquals": ["Transient"], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2, "MaxDelaySeconds": 10}]`,
			errs: []error{transient, transient, transient, transient, transient, transient, transient}, wantSlept: seconds(2, 4, 8, 10, 10, 10), wantCalls: 7, wantFail: "Transient"},
		{name: "fractional BackoffRate", retry: `[{"ErrorEquals": ["Transient"], "BackoffRate": 1.5, "MaxAttempts": 3}]`,
			errs: []error{transient, transient, transient}, wantSlept: seconds(1, 1.5, 2.25), wantCalls: 4},
		{name: "MaxAttempts 0 never retries", retry: `[{"ErrorEquals": ["Transient"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"]}]`,
			errs: []error{transient}, wantCalls: 1, wantFail: "Transient"},
		{name: "an exhausted retrier does not hand over to the next", retry: `[{"ErrorEquals": ["Transient"], "MaxAttempts": 1}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]`,
			errs: []error{transient, transient}, wantSlept: seconds(1), wantCalls: 2, wantFail: "Transient"},
		{name: "each retrier counts its own attempts (the Step Functions example)",
			retry: `[{"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 2}, {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}]`,
			errs:  []error{&named{"ErrorA", "a"}, &named{"ErrorB", "b"}, &named{"ErrorC", "c"}, &named{"ErrorB", "b"}},
			// A: 1s, B: 2s, C: 5s, B again: the first retrier is spent, so the catcher.
			wantSlept: seconds(1, 2, 5), wantCalls: 4, wantNext: "Z"},
		{name: "a plain error is States.TaskFailed", retry: `[{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 1}]`,
			errs: []error{errors.New("boom"), errors.New("boom")}, wantSlept: seconds(1), wantCalls: 2, wantFail: asl.ErrorTaskFailed},
		{name: "States.TaskFailed matches named errors", retry: `[{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 1}]`,
			errs: []error{transient}, wantSlept: seconds(1), wantCalls: 2},
		{name: "an unmatched error is not retried", retry: `[{"ErrorEquals": ["Transient"]}]`,
			errs: []error{&named{"Permanent", "no"}}, wantCalls: 1, wantFail: "Permanent"},
		{name: "wrapped named errors keep their name", retry: `[{"ErrorEquals": ["Transient"], "MaxAttempts": 1}]`,
			errs: []error{fmt.Errorf("step: %w", transient)}, wantSlept: seconds(1), wantCalls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seq := &sequence{errs: tc.errs, out: `{"ok": true}`}
			res := runDoc(t, machine(`
				"A": {"Type": "Task", "Resource": "r", "Retry": `+tc.retry+`, "End": true,
				      "Catch": [{"ErrorEquals": ["ErrorB"], "Next": "Z"}]},
				"Z": {"Type": "Pass", "End": true}`), map[string]asl.TaskFunc{"A": seq.task}, `{"in": 1}`)
			assert.Equal(t, tc.wantSlept, res.clock.Slept(), "delays requested")
			assert.Equal(t, tc.wantCalls, seq.calls, "attempts")
			for _, in := range seq.input {
				assert.JSONEq(t, `{"in": 1}`, in, "every attempt gets the same input")
			}
			switch {
			case tc.wantFail != "":
				assert.Equal(t, tc.wantFail, res.failed(t).Err)
			case tc.wantNext != "":
				require.NoError(t, res.err)
				assert.Equal(t, "Enter "+tc.wantNext, res.events[len(res.events)-3])
			default:
				require.NoError(t, res.err)
				assert.JSONEq(t, `{"ok": true}`, res.out)
			}
		})
	}
}

// TestRetryEvents: Retry events carry the failed attempt, the error and
// the delay; Exit the last attempt.
func TestRetryEvents(t *testing.T) {
	seq := &sequence{errs: []error{&named{"Transient", "t1"}, &named{"Transient", "t2"}}}
	c := newClock()
	var evs []asl.Event
	r := &asl.Runner{Machine: mustParse(t, machine(`
		"A": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 2}], "Next": "B"},
		"B": {"Type": "Succeed"}`)),
		Tasks: map[string]asl.TaskFunc{"A": seq.task}, Sleep: c.Sleep, Now: c.Now,
		Hook: func(ev asl.Event) error { evs = append(evs, ev); return nil }}
	_, err := r.Run(context.Background(), "exec-1", nil)
	require.NoError(t, err)
	assert.Equal(t, []asl.Event{
		{Execution: "exec-1", State: "A", Type: "Task", Phase: asl.Enter, Attempt: 1},
		{Execution: "exec-1", State: "A", Type: "Task", Phase: asl.Retry, Attempt: 1, Err: "Transient", Cause: "t1", Delay: 2 * time.Second},
		{Execution: "exec-1", State: "A", Type: "Task", Phase: asl.Retry, Attempt: 2, Err: "Transient", Cause: "t2", Delay: 4 * time.Second},
		{Execution: "exec-1", State: "A", Type: "Task", Phase: asl.Exit, Attempt: 3},
		{Execution: "exec-1", State: "B", Type: "Succeed", Phase: asl.Enter},
		{Execution: "exec-1", State: "B", Type: "Succeed", Phase: asl.Exit},
		{Execution: "exec-1", State: "B", Type: "Succeed", Phase: asl.Succeed},
	}, evs)
}

// TestCatch: the catcher chosen, and where the error object goes.
func TestCatch(t *testing.T) {
	const input = `{"keep": "me"}`
	for _, tc := range []struct {
		name     string
		catch    string
		err      error
		wantNext string
		wantOut  string // the input of the catcher's Next
		wantFail string
	}{
		{name: "ResultPath into the input", catch: `[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handler"}]`,
			err: &named{"Oops", "it broke"}, wantNext: "Handler", wantOut: `{"keep": "me", "error": {"Error": "Oops", "Cause": "it broke"}}`},
		{name: "default ResultPath: the error object replaces the input", catch: `[{"ErrorEquals": ["Oops"], "Next": "Handler"}]`,
			err: &named{"Oops", "it broke"}, wantNext: "Handler", wantOut: `{"Error": "Oops", "Cause": "it broke"}`},
		{name: "ResultPath null keeps the input", catch: `[{"ErrorEquals": ["Oops"], "ResultPath": null, "Next": "Handler"}]`,
			err: &named{"Oops", "it broke"}, wantNext: "Handler", wantOut: input},
		{name: "first matching catcher wins", catch: `[{"ErrorEquals": ["Other"], "Next": "Other"}, {"ErrorEquals": ["Oops"], "ResultPath": null, "Next": "Handler"}, {"ErrorEquals": ["States.ALL"], "Next": "Other"}]`,
			err: &named{"Oops", "x"}, wantNext: "Handler", wantOut: input},
		{name: "States.TaskFailed catches plain errors", catch: `[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.e", "Next": "Handler"}]`,
			err: errors.New("plain"), wantNext: "Handler", wantOut: `{"keep": "me", "e": {"Error": "States.TaskFailed", "Cause": "plain"}}`},
		{name: "no catcher matches", catch: `[{"ErrorEquals": ["Other"], "Next": "Handler"}]`,
			err: &named{"Oops", "it broke"}, wantFail: "Oops"},
		{name: "the catcher's ResultPath cannot apply", catch: `[{"ErrorEquals": ["Oops"], "ResultPath": "$.keep.sub", "Next": "Handler"}]`,
			err: &named{"Oops", "x"}, wantFail: asl.ErrorResultPathMatchFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			capture := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
				got = string(in)
				return nil, nil
			}
			res := runDoc(t, machine(`
				"A": {"Type": "Task", "Resource": "r", "Catch": `+tc.catch+`, "OutputPath": "$.nothing", "ResultPath": "$.r", "Next": "Other"},
				"Handler": {"Type": "Task", "Resource": "r", "End": true},
				"Other": {"Type": "Task", "Resource": "r", "End": true}`),
				map[string]asl.TaskFunc{"A": failsWith(tc.err), "Handler": capture, "Other": capture}, input)
			if tc.wantFail != "" {
				ef := res.failed(t)
				assert.Equal(t, tc.wantFail, ef.Err)
				assert.Equal(t, "Fail A "+tc.wantFail, res.events[len(res.events)-1])
				return
			}
			require.NoError(t, res.err)
			assert.Equal(t, []string{"Enter A", "Catch A " + asl.ErrorName(tc.err), "Enter " + tc.wantNext,
				"Exit " + tc.wantNext, "Succeed " + tc.wantNext}, res.events)
			assert.JSONEq(t, tc.wantOut, got)
		})
	}
}

// TestUncaughtError: the execution fails with the Task's error name and
// cause, and the failure says where.
func TestUncaughtError(t *testing.T) {
	res := runDoc(t, machine(`"A": {"Type": "Task", "Resource": "r", "End": true}`),
		map[string]asl.TaskFunc{"A": failsWith(&named{"Quota", "no quota left"})}, "")
	assert.Equal(t, &asl.ExecutionFailed{Err: "Quota", Cause: "no quota left"}, res.failed(t))
	assert.EqualError(t, res.err, `asl: execution "test" failed in state "A": Quota: no quota left`)
	assert.Equal(t, "Quota", asl.ErrorName(res.err), "ErrorName of a failed execution is its error name")
}

// TestTaskTimeout: TimeoutSeconds is the TaskFunc's deadline; past it the
// attempt is States.Timeout, which States.TaskFailed does not match.
func TestTaskTimeout(t *testing.T) {
	t.Run("deadline of the TaskFunc's context", func(t *testing.T) {
		var deadline time.Time
		var ok bool
		task := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			deadline, ok = ctx.Deadline()
			return nil, nil
		}
		start := time.Now()
		res := runDoc(t, machine(`"A": {"Type": "Task", "Resource": "r", "TimeoutSeconds": 30, "End": true}`),
			map[string]asl.TaskFunc{"A": task}, "")
		require.NoError(t, res.err)
		require.True(t, ok, "the context has a deadline")
		assert.WithinDuration(t, start.Add(30*time.Second), deadline, 5*time.Second)
	})

	for _, tc := range []struct {
		name      string
		retry     string
		wantCalls int
		wantFail  string
		wantNext  string
	}{
		{name: "States.TaskFailed does not match States.Timeout", retry: `[{"ErrorEquals": ["States.TaskFailed"]}]`,
			wantCalls: 1, wantNext: "Caught"},
		{name: "States.Timeout is retried when named", retry: `[{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2}]`,
			wantCalls: 3, wantNext: "Caught"},
		{name: "States.ALL matches States.Timeout", retry: `[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}]`,
			wantCalls: 2, wantNext: "Caught"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *clock
			calls := 0
			// The task takes 61 s on the test's clock, and then succeeds:
			// too late, its result is discarded.
			slow := func(context.Context, json.RawMessage) (json.RawMessage, error) {
				calls++
				c.Advance(61 * time.Second)
				return json.RawMessage(`{}`), nil
			}
			m := mustParse(t, machine(`
				"A": {"Type": "Task", "Resource": "r", "TimeoutSeconds": 60, "Retry": `+tc.retry+`, "End": true,
				      "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Caught"}]},
				"Caught": {"Type": "Pass", "End": true}`))
			c = newClock()
			r := &asl.Runner{Machine: m, Tasks: map[string]asl.TaskFunc{"A": slow}, Sleep: c.Sleep, Now: c.Now}
			out, err := r.Run(context.Background(), "t", nil)
			require.NoError(t, err)
			assert.Equal(t, tc.wantCalls, calls)
			assert.JSONEq(t, `{"error": {"Error": "States.Timeout", "Cause": "the task did not finish within its TimeoutSeconds (1m0s)"}}`, string(out))
		})
	}

	t.Run("real deadline", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits one second")
		}
		// A TaskFunc that waits for its context: the runner's timer ends it
		// after TimeoutSeconds (1 s) of real time.
		task := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		r := &asl.Runner{Machine: mustParse(t, machine(`"A": {"Type": "Task", "Resource": "r", "TimeoutSeconds": 1, "End": true}`)),
			Tasks: map[string]asl.TaskFunc{"A": task}}
		_, err := r.Run(context.Background(), "t", nil)
		var ef *asl.ExecutionFailed
		require.ErrorAs(t, err, &ef)
		assert.Equal(t, asl.ErrorTimeout, ef.Err)
	})
}

func TestErrorName(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", errors.New("x"), asl.ErrorTaskFailed},
		{"named", &named{"Transient", "x"}, "Transient"},
		{"wrapped named", fmt.Errorf("a: %w", fmt.Errorf("b: %w", &named{"Transient", "x"})), "Transient"},
		{"joined, first named wins", errors.Join(errors.New("x"), &named{"First", ""}, &named{"Second", ""}), "First"},
		{"empty name", &named{"", "x"}, asl.ErrorTaskFailed},
		{"a bare DeadlineExceeded: only the runner knows whose", context.DeadlineExceeded, asl.ErrorTaskFailed},
		{"a failed execution", &asl.ExecutionFailed{Err: "ConstructionFailed"}, "ConstructionFailed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, asl.ErrorName(tc.err))
		})
	}
}
