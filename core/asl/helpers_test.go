package asl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
)

// clock is the injected Now and Sleep of a test: Sleep records the
// duration and advances Now by it, at once.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// named is a Task error with an ASL error name.
type named struct{ name, msg string }

func (e *named) Error() string     { return e.msg }
func (e *named) ErrorName() string { return e.name }

// recorder collects the events of a run as "Phase State" strings (with
// the error name and the delay when there is one).
type recorder struct {
	mu     sync.Mutex
	events []asl.Event
}

func (r *recorder) hook(ev asl.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		s := fmt.Sprintf("%s %s", ev.Phase, ev.State)
		if ev.Err != "" {
			s += " " + ev.Err
		}
		if ev.Delay > 0 {
			s += " " + ev.Delay.String()
		}
		out = append(out, s)
	}
	return out
}

// machine builds a document from its states (a JSON object's members),
// starting at the state "A".
func machine(states string) string {
	return `{"StartAt": "A", "States": {` + states + `}}`
}

func mustParse(t testing.TB, doc string) *asl.Machine {
	t.Helper()
	m, err := asl.Parse([]byte(doc))
	require.NoError(t, err)
	return m
}

// result is the outcome of one run in a test.
type result struct {
	out    string
	err    error
	clock  *clock
	events []string
}

// failed returns the *ExecutionFailed of the run, failing the test if it
// did not fail that way.
func (r result) failed(t testing.TB) *asl.ExecutionFailed {
	t.Helper()
	var ef *asl.ExecutionFailed
	require.ErrorAs(t, r.err, &ef, "got %v, want an *ExecutionFailed", r.err)
	return ef
}

// runDoc runs doc once with tasks (nil: none), input (empty: {}) on a
// fresh clock, recording the events.
func runDoc(t testing.TB, doc string, tasks map[string]asl.TaskFunc, input string) result {
	t.Helper()
	c := newClock()
	rec := &recorder{}
	r := &asl.Runner{Machine: mustParse(t, doc), Tasks: tasks, Sleep: c.Sleep, Now: c.Now, Hook: rec.hook}
	out, err := r.Run(context.Background(), "test", json.RawMessage(input))
	return result{out: string(out), err: err, clock: c, events: rec.lines()}
}

// returns is a TaskFunc that returns out (a JSON text).
func returns(out string) asl.TaskFunc {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(out), nil
	}
}

// failsWith is a TaskFunc that always fails with err.
func failsWith(err error) asl.TaskFunc {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, err }
}

// sequence is a TaskFunc that fails with errs[i] on call i (nil: returns
// out), then returns out; it counts its calls.
type sequence struct {
	mu    sync.Mutex
	errs  []error
	out   string
	calls int
	input []string
}

func (s *sequence) task(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.input = append(s.input, string(in))
	i := s.calls
	s.calls++
	if i < len(s.errs) && s.errs[i] != nil {
		return nil, s.errs[i]
	}
	if s.out == "" {
		return json.RawMessage(`{}`), nil
	}
	return json.RawMessage(s.out), nil
}

// seconds turns whole seconds into durations, for expected sleeps.
func seconds(s ...float64) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v * float64(time.Second))
	}
	return out
}

// problems returns the problems of a document Parse refuses.
func problems(t testing.TB, doc string) []string {
	t.Helper()
	_, err := asl.Parse([]byte(doc))
	require.Error(t, err, "Parse accepted the document")
	var pe *asl.ParseError
	require.ErrorAs(t, err, &pe)
	return pe.Problems
}

// containsEach asserts that every wanted substring is in one of the
// problems.
func containsEach(t testing.TB, got []string, want ...string) {
	t.Helper()
	all := strings.Join(got, "\n")
	for _, w := range want {
		require.Contains(t, all, w, "got problems:\n%s\nwant one containing %q", all, w)
	}
}
