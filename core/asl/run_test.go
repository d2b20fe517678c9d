package asl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
)

// TestCancel: a cancelled context stops the run promptly wherever it is,
// and Run returns the context's error, not an ASL failure.
func TestCancel(t *testing.T) {
	waitDoc := machine(`"A": {"Type": "Wait", "Seconds": 3600, "Next": "B"}, "B": {"Type": "Task", "Resource": "r", "End": true}`)
	retryDoc := machine(`"A": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3600}], "End": true}`)
	taskDoc := machine(`"A": {"Type": "Task", "Resource": "r", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"}], "End": true},
		"B": {"Type": "Task", "Resource": "r", "End": true}`)
	blocking := func(started chan<- struct{}) func(ctx context.Context, d time.Duration) error {
		return func(ctx context.Context, d time.Duration) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}
	}
	for _, tc := range []struct {
		name  string
		doc   string
		setup func(r *asl.Runner, cancel context.CancelFunc)
	}{
		{"during a Wait (injected Sleep)", waitDoc, func(r *asl.Runner, cancel context.CancelFunc) {
			started := make(chan struct{})
			r.Sleep = blocking(started)
			go func() { <-started; cancel() }()
		}},
		{"during a Wait (real timer)", waitDoc, func(r *asl.Runner, cancel context.CancelFunc) {
			r.Sleep = nil // a real one-hour timer: the test ends at once only if it honours ctx
			r.Hook = func(ev asl.Event) error {
				if ev.Phase == asl.Enter && ev.State == "A" {
					time.AfterFunc(20*time.Millisecond, cancel) // while the timer runs
				}
				return nil
			}
		}},
		{"during a retry backoff (real timer)", retryDoc, func(r *asl.Runner, cancel context.CancelFunc) {
			r.Sleep = nil
			r.Tasks["A"] = failsWith(errors.New("x"))
			r.Hook = func(ev asl.Event) error {
				if ev.Phase == asl.Retry {
					cancel()
				}
				return nil
			}
		}},
		{"during a Task: not caught", taskDoc, func(r *asl.Runner, cancel context.CancelFunc) {
			r.Tasks["A"] = func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
				cancel()
				<-ctx.Done()
				return nil, ctx.Err()
			}
		}},
		{"a Task that ignores the cancellation and succeeds", taskDoc, func(r *asl.Runner, cancel context.CancelFunc) {
			r.Tasks["A"] = func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
				cancel()
				return json.RawMessage(`{}`), nil
			}
		}},
		{"before the start", waitDoc, func(r *asl.Runner, cancel context.CancelFunc) { cancel() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.doc)
			tasks := map[string]asl.TaskFunc{}
			for _, name := range m.TaskStates() {
				tasks[name] = func(context.Context, json.RawMessage) (json.RawMessage, error) {
					t.Errorf("the task %s ran after the cancellation", name)
					return nil, nil
				}
			}
			c := newClock()
			r := &asl.Runner{Machine: m, Tasks: tasks, Sleep: c.Sleep, Now: c.Now}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tc.setup(r, cancel)
			start := time.Now()
			_, err := r.Run(ctx, "x", nil)
			require.ErrorIs(t, err, context.Canceled)
			var ef *asl.ExecutionFailed
			assert.False(t, errors.As(err, &ef), "got an ASL failure %v, want the context's error", err)
			assert.Less(t, time.Since(start), 10*time.Second)
		})
	}
}

// TestHookStops: a Hook error stops the execution right there (a crash
// after any state); Run returns it wrapped.
func TestHookStops(t *testing.T) {
	crash := errors.New("simulated crash")
	doc := machine(`
		"A": {"Type": "Task", "Resource": "r", "Next": "B"},
		"B": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["Transient"]}], "Next": "C"},
		"C": {"Type": "Task", "Resource": "r", "End": true}`)
	for _, tc := range []struct {
		name      string
		at        asl.Phase
		state     string
		wantCalls string // the tasks that ran
		wantErr   string
	}{
		{"after A", asl.Exit, "A", "A", `asl: execution "x": the hook stopped it at Exit of state "A": simulated crash`},
		{"entering B", asl.Enter, "B", "A", `asl: execution "x": the hook stopped it at Enter of state "B": simulated crash`},
		{"at B's retry", asl.Retry, "B", "AB", `asl: execution "x": the hook stopped it at Retry of state "B": simulated crash`},
		{"after B", asl.Exit, "B", "ABB", `asl: execution "x": the hook stopped it at Exit of state "B": simulated crash`},
		{"at the end", asl.Succeed, "C", "ABBC", `asl: execution "x": the hook stopped it at Succeed of state "C": simulated crash`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var calls string
			task := func(name string, errs ...error) asl.TaskFunc {
				n := 0
				return func(context.Context, json.RawMessage) (json.RawMessage, error) {
					mu.Lock()
					defer mu.Unlock()
					calls += name
					n++
					if n <= len(errs) {
						return nil, errs[n-1]
					}
					return json.RawMessage(`{}`), nil
				}
			}
			c := newClock()
			r := &asl.Runner{Machine: mustParse(t, doc), Sleep: c.Sleep, Now: c.Now,
				Tasks: map[string]asl.TaskFunc{"A": task("A"), "B": task("B", &named{"Transient", "t"}), "C": task("C")},
				Hook: func(ev asl.Event) error {
					if ev.Phase == tc.at && ev.State == tc.state {
						return crash
					}
					return nil
				}}
			_, err := r.Run(context.Background(), "x", nil)
			require.ErrorIs(t, err, crash)
			assert.EqualError(t, err, tc.wantErr)
			assert.Equal(t, tc.wantCalls, calls)
		})
	}
	t.Run("at the Fail of a failing execution", func(t *testing.T) {
		r := &asl.Runner{Machine: mustParse(t, machine(`"A": {"Type": "Fail", "Error": "E"}`)),
			Hook: func(ev asl.Event) error {
				if ev.Phase == asl.Fail {
					return crash
				}
				return nil
			}}
		_, err := r.Run(context.Background(), "x", nil)
		require.ErrorIs(t, err, crash)
		var ef *asl.ExecutionFailed
		assert.False(t, errors.As(err, &ef), "the hook's error replaces the failure")
	})
}

// TestMachineTimeout: the machine's TimeoutSeconds ends the execution with
// States.Timeout, which no catcher handles; waits are cut at the deadline.
func TestMachineTimeout(t *testing.T) {
	t.Run("a Wait past the deadline", func(t *testing.T) {
		res := runDoc(t, `{"StartAt": "A", "TimeoutSeconds": 10, "States": {
			"A": {"Type": "Wait", "Seconds": 6, "Next": "B"},
			"B": {"Type": "Wait", "Seconds": 6, "Next": "C"},
			"C": {"Type": "Succeed"}}}`, nil, "")
		ef := res.failed(t)
		assert.Equal(t, asl.ErrorTimeout, ef.Err)
		assert.Equal(t, "the execution did not finish within its TimeoutSeconds (10s)", ef.Cause)
		assert.Equal(t, seconds(6, 4), res.clock.Slept(), "the second wait is cut at the deadline")
		assert.Equal(t, []string{"Enter A", "Exit A", "Enter B", "Fail B States.Timeout"}, res.events)
	})
	t.Run("a Task past the deadline is not caught", func(t *testing.T) {
		var c *clock
		slow := func(context.Context, json.RawMessage) (json.RawMessage, error) {
			c.Advance(11 * time.Second)
			return nil, &named{"Transient", "slow"}
		}
		m := mustParse(t, `{"StartAt": "A", "TimeoutSeconds": 10, "States": {
			"A": {"Type": "Task", "Resource": "r", "End": true,
			      "Retry": [{"ErrorEquals": ["States.ALL"]}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"}]},
			"B": {"Type": "Succeed"}}}`)
		c = newClock()
		calls := 0
		r := &asl.Runner{Machine: m, Sleep: c.Sleep, Now: c.Now, Tasks: map[string]asl.TaskFunc{
			"A": func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) { calls++; return slow(ctx, in) }}}
		_, err := r.Run(context.Background(), "x", nil)
		var ef *asl.ExecutionFailed
		require.ErrorAs(t, err, &ef)
		assert.Equal(t, asl.ErrorTimeout, ef.Err)
		assert.Equal(t, 1, calls)
		assert.Empty(t, c.Slept(), "no backoff after the deadline")
	})
	t.Run("a run within the deadline", func(t *testing.T) {
		res := runDoc(t, `{"StartAt": "A", "TimeoutSeconds": 10, "States": {"A": {"Type": "Wait", "Seconds": 9, "End": true}}}`, nil, "")
		require.NoError(t, res.err)
	})
}

// TestLogs: one structured line per event, with the execution, state,
// phase and error name, and never a payload.
func TestLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	seq := &sequence{errs: []error{&named{"Transient", "try again"}}, out: `{"password": "hunter2-out"}`}
	c := newClock()
	r := &asl.Runner{Machine: mustParse(t, machine(`
		"A": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["Transient"]}], "ResultPath": "$.r", "Next": "B"},
		"B": {"Type": "Fail", "Error": "Done", "Cause": "on purpose"}`)),
		Tasks: map[string]asl.TaskFunc{"A": seq.task}, Sleep: c.Sleep, Now: c.Now, Log: log}
	_, err := r.Run(context.Background(), "exec-7", json.RawMessage(`{"password": "hunter2-in"}`))
	require.Error(t, err)
	assert.NotContains(t, buf.String(), "hunter2", "payloads are never logged")
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		delete(m, "time")
		lines = append(lines, m)
	}
	assert.Equal(t, []map[string]any{
		{"level": "DEBUG", "msg": "asl Enter", "execution": "exec-7", "state": "A", "type": "Task", "phase": "Enter", "attempt": 1.0},
		{"level": "INFO", "msg": "asl Retry", "execution": "exec-7", "state": "A", "type": "Task", "phase": "Retry", "attempt": 1.0,
			"error": "Transient", "cause": "try again", "delay": float64(time.Second)},
		{"level": "DEBUG", "msg": "asl Exit", "execution": "exec-7", "state": "A", "type": "Task", "phase": "Exit", "attempt": 2.0},
		{"level": "DEBUG", "msg": "asl Enter", "execution": "exec-7", "state": "B", "type": "Fail", "phase": "Enter"},
		{"level": "WARN", "msg": "asl Fail", "execution": "exec-7", "state": "B", "type": "Fail", "phase": "Fail",
			"error": "Done", "cause": "on purpose"},
	}, lines)
}

// TestConcurrentRuns: one Runner serves concurrent executions, each with
// its own data (the race detector checks nothing is shared).
func TestConcurrentRuns(t *testing.T) {
	task := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		var v struct{ N int }
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, err
		}
		return json.RawMessage(fmt.Sprintf(`{"double": %d}`, 2*v.N)), nil
	}
	r := &asl.Runner{Machine: mustParse(t, machine(`
		"A": {"Type": "Task", "Resource": "r", "ResultPath": "$.a.b", "Next": "B"},
		"B": {"Type": "Pass", "Result": {"fixed": [1, 2]}, "ResultPath": "$.a.c", "Next": "W"},
		"W": {"Type": "Wait", "Seconds": 1, "End": true}`)),
		Tasks: map[string]asl.TaskFunc{"A": task}, Sleep: newClock().Sleep}
	var wg sync.WaitGroup
	outs := make([]string, 16)
	errs := make([]error, 16)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := r.Run(context.Background(), fmt.Sprint("e", i), json.RawMessage(fmt.Sprintf(`{"N": %d}`, i)))
			outs[i], errs[i] = string(out), err
		}()
	}
	wg.Wait()
	for i := range outs {
		require.NoError(t, errs[i])
		assert.JSONEq(t, fmt.Sprintf(`{"N": %d, "a": {"b": {"double": %d}, "c": {"fixed": [1, 2]}}}`, i, 2*i), outs[i])
	}
}
