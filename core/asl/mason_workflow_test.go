package asl_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
)

// masonWorkflow is Mason's document, as Step Functions runs it.
const masonWorkflow = "../mason/workflow.asl.json"

// masonInput is the input of one Mason execution.
const masonInput = `{"resource": "v-1", "type": "virtual", "epoch": 3}`

// mason is a set of fake Mason steps: each answers with the next of its
// replies (the last one repeats) and records its calls.
type mason struct {
	mu      sync.Mutex
	replies map[string][]reply
	calls   []string
	inputs  map[string][]string
	clock   *clock
}

type reply struct {
	out  string
	err  error
	took time.Duration // advances the test's clock
}

func (m *mason) tasks() map[string]asl.TaskFunc {
	tasks := map[string]asl.TaskFunc{}
	for _, name := range []string{"Recycle", "Fulfill", "Construct", "Free", "GarbageCollect"} {
		tasks[name] = func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.calls = append(m.calls, name)
			m.inputs[name] = append(m.inputs[name], string(in))
			rs := m.replies[name]
			r := reply{out: `{}`}
			if len(rs) > 0 {
				r = rs[0]
				if len(rs) > 1 {
					m.replies[name] = rs[1:]
				}
			}
			m.clock.Advance(r.took)
			if r.err != nil {
				return nil, r.err
			}
			return json.RawMessage(r.out), nil
		}
	}
	return tasks
}

func transientErr(msg string) error { return &named{"Transient", msg} }

// TestMasonWorkflow runs core/mason/workflow.asl.json end to end with fake
// steps: the paths of a construction, the waits and retries requested.
func TestMasonWorkflow(t *testing.T) {
	doc, err := os.ReadFile(masonWorkflow)
	require.NoError(t, err)
	m, err := asl.Parse(doc)
	require.NoError(t, err)
	require.Equal(t, []string{"Construct", "Free", "Fulfill", "GarbageCollect", "Recycle"}, m.TaskStates())

	const done = `{"done": true, "giveUp": false}`
	const notYet = `{"done": false, "giveUp": false, "waitSeconds": 5}`
	for _, tc := range []struct {
		name      string
		replies   map[string][]reply
		wantCalls []string
		wantSlept []time.Duration
		wantOut   string // on success
		wantFail  *asl.ExecutionFailed
		check     func(t *testing.T, f *mason)
	}{
		{
			name:      "happy path",
			replies:   map[string][]reply{"Fulfill": {{out: done}}},
			wantCalls: []string{"Recycle", "Fulfill", "Construct", "Free"},
			wantOut:   `{"resource": "v-1", "type": "virtual", "epoch": 3, "fulfill": {"done": true, "giveUp": false}}`,
			check: func(t *testing.T, f *mason) {
				assert.JSONEq(t, masonInput, f.inputs["Recycle"][0], "Recycle gets the execution's input")
				assert.JSONEq(t, masonInput, f.inputs["Fulfill"][0], "Recycle's result is discarded")
				assert.JSONEq(t, `{"resource": "v-1", "type": "virtual", "epoch": 3, "fulfill": {"done": true, "giveUp": false}}`,
					f.inputs["Construct"][0], "Fulfill's result is at $.fulfill")
			},
		},
		{
			name:      "needs not available twice: two 5 s waits",
			replies:   map[string][]reply{"Fulfill": {{out: notYet}, {out: notYet}, {out: done}}},
			wantCalls: []string{"Recycle", "Fulfill", "Fulfill", "Fulfill", "Construct", "Free"},
			wantSlept: seconds(5, 5),
			wantOut:   `{"resource": "v-1", "type": "virtual", "epoch": 3, "fulfill": {"done": true, "giveUp": false}}`,
		},
		{
			name:      "give up: NeedsNotMet, GarbageCollect, ConstructionFailed",
			replies:   map[string][]reply{"Fulfill": {{out: notYet}, {out: `{"done": false, "giveUp": true}`}}},
			wantCalls: []string{"Recycle", "Fulfill", "Fulfill", "GarbageCollect"},
			wantSlept: seconds(5),
			wantFail: &asl.ExecutionFailed{Err: "ConstructionFailed",
				Cause: "a step failed; the resources were released as dirty (the reason is in the virtual resource's masonError userdata)"},
			check: func(t *testing.T, f *mason) {
				var in struct{ Error struct{ Error, Cause string } }
				require.NoError(t, json.Unmarshal([]byte(f.inputs["GarbageCollect"][0]), &in))
				assert.Equal(t, "NeedsNotMet", in.Error.Error)
				assert.Equal(t, "the needs of the resource were not available after the longest wait", in.Error.Cause)
			},
		},
		{
			name: "a transient error is retried",
			replies: map[string][]reply{"Fulfill": {{out: done}},
				"Construct": {{err: transientErr("converter busy")}, {err: transientErr("converter busy")}, {out: `{}`}}},
			wantCalls: []string{"Recycle", "Fulfill", "Construct", "Construct", "Construct", "Free"},
			wantSlept: seconds(2, 4),
			wantOut:   `{"resource": "v-1", "type": "virtual", "epoch": 3, "fulfill": {"done": true, "giveUp": false}}`,
		},
		{
			name:      "a permanent error is caught: GarbageCollect, ConstructionFailed",
			replies:   map[string][]reply{"Fulfill": {{out: done}}, "Construct": {{err: errors.New("converter: bad config")}}},
			wantCalls: []string{"Recycle", "Fulfill", "Construct", "GarbageCollect"},
			wantFail:  &asl.ExecutionFailed{Err: "ConstructionFailed"},
			check: func(t *testing.T, f *mason) {
				assert.JSONEq(t, `{"resource": "v-1", "type": "virtual", "epoch": 3, "fulfill": {"done": true, "giveUp": false},
					"error": {"Error": "States.TaskFailed", "Cause": "converter: bad config"}}`, f.inputs["GarbageCollect"][0])
			},
		},
		{
			name:    "transient errors until the retrier is spent (backoff capped at 60 s), then caught",
			replies: map[string][]reply{"Recycle": {{err: transientErr("store busy")}}},
			// 6 retries after the first attempt: 2, 4, 8, 16, 32, then 64 capped at 60.
			wantCalls: []string{"Recycle", "Recycle", "Recycle", "Recycle", "Recycle", "Recycle", "Recycle", "GarbageCollect"},
			wantSlept: seconds(2, 4, 8, 16, 32, 60),
			wantFail:  &asl.ExecutionFailed{Err: "ConstructionFailed"},
			check: func(t *testing.T, f *mason) {
				assert.JSONEq(t, `{"resource": "v-1", "type": "virtual", "epoch": 3,
					"error": {"Error": "Transient", "Cause": "store busy"}}`, f.inputs["GarbageCollect"][0])
			},
		},
		{
			name:      "Construct past its 900 s is not retried (its retrier does not name States.Timeout)",
			replies:   map[string][]reply{"Fulfill": {{out: done}}, "Construct": {{out: `{}`, took: 901 * time.Second}}},
			wantCalls: []string{"Recycle", "Fulfill", "Construct", "GarbageCollect"},
			wantFail:  &asl.ExecutionFailed{Err: "ConstructionFailed"},
			check: func(t *testing.T, f *mason) {
				var in struct{ Error struct{ Error string } }
				require.NoError(t, json.Unmarshal([]byte(f.inputs["GarbageCollect"][0]), &in))
				assert.Equal(t, asl.ErrorTimeout, in.Error.Error)
			},
		},
		{
			name:      "Free past its 60 s is retried (its retrier names States.Timeout)",
			replies:   map[string][]reply{"Fulfill": {{out: done}}, "Free": {{took: 61 * time.Second}, {out: `{}`}}},
			wantCalls: []string{"Recycle", "Fulfill", "Construct", "Free", "Free"},
			wantSlept: seconds(2),
			wantOut:   `{"resource": "v-1", "type": "virtual", "epoch": 3, "fulfill": {"done": true, "giveUp": false}}`,
		},
		{
			name: "GarbageCollect failing is retried 10 times (capped at 300 s), then the execution fails with its error",
			replies: map[string][]reply{"Fulfill": {{out: `{"done": false, "giveUp": true}`}},
				"GarbageCollect": {{err: errors.New("store down")}}},
			wantCalls: []string{"Recycle", "Fulfill", "GarbageCollect", "GarbageCollect", "GarbageCollect", "GarbageCollect",
				"GarbageCollect", "GarbageCollect", "GarbageCollect", "GarbageCollect", "GarbageCollect", "GarbageCollect", "GarbageCollect"},
			wantSlept: seconds(2, 4, 8, 16, 32, 64, 128, 256, 300, 300),
			wantFail:  &asl.ExecutionFailed{Err: asl.ErrorTaskFailed, Cause: "store down"},
		},
		{
			// As in Step Functions, a Choice Variable that selects nothing
			// fails the execution (States.Runtime, which no catcher
			// handles): Fulfill must always return both done and giveUp.
			name:      "Fulfill without giveUp fails the execution, as in Step Functions",
			replies:   map[string][]reply{"Fulfill": {{out: `{"done": false, "waitSeconds": 5}`}}},
			wantCalls: []string{"Recycle", "Fulfill"},
			wantFail: &asl.ExecutionFailed{Err: asl.ErrorRuntime,
				Cause: "the Variable $.fulfill.giveUp of a BooleanEquals rule selects nothing in the input"},
		},
		{
			name:      "Fulfill with a waitSeconds that is not an integer fails the execution",
			replies:   map[string][]reply{"Fulfill": {{out: `{"done": false, "giveUp": false, "waitSeconds": "5"}`}}},
			wantCalls: []string{"Recycle", "Fulfill"},
			wantFail: &asl.ExecutionFailed{Err: asl.ErrorRuntime,
				Cause: "the SecondsPath $.fulfill.waitSeconds selects a string, not an integer from 0 to 99999999"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			f := &mason{replies: tc.replies, inputs: map[string][]string{}, clock: c}
			if f.replies == nil {
				f.replies = map[string][]reply{}
			}
			r := &asl.Runner{Machine: m, Tasks: f.tasks(), Sleep: c.Sleep, Now: c.Now}
			out, err := r.Run(context.Background(), "mason-v-1-3", json.RawMessage(masonInput))
			assert.Equal(t, tc.wantCalls, f.calls)
			assert.Equal(t, tc.wantSlept, c.Slept(), "waits and backoffs requested")
			if tc.wantFail != nil {
				var ef *asl.ExecutionFailed
				require.ErrorAs(t, err, &ef)
				assert.Equal(t, tc.wantFail.Err, ef.Err)
				if tc.wantFail.Cause != "" {
					assert.Equal(t, tc.wantFail.Cause, ef.Cause)
				}
			} else {
				require.NoError(t, err)
				assert.JSONEq(t, tc.wantOut, string(out))
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}

// TestMasonWorkflowCrash: a crash after any state leaves the steps run so
// far, and nothing after (the local execution manager then starts the
// execution again: each step is idempotent).
func TestMasonWorkflowCrash(t *testing.T) {
	doc, err := os.ReadFile(masonWorkflow)
	require.NoError(t, err)
	m := mustParse(t, string(doc))
	crash := errors.New("crash")
	for _, tc := range []struct {
		after     string
		wantCalls []string
	}{
		{"Recycle", []string{"Recycle"}},
		{"Fulfill", []string{"Recycle", "Fulfill"}},
		{"NeedsMet", []string{"Recycle", "Fulfill"}},
		{"Construct", []string{"Recycle", "Fulfill", "Construct"}},
		{"Free", []string{"Recycle", "Fulfill", "Construct", "Free"}},
	} {
		t.Run("after "+tc.after, func(t *testing.T) {
			c := newClock()
			f := &mason{replies: map[string][]reply{"Fulfill": {{out: `{"done": true, "giveUp": false}`}}}, inputs: map[string][]string{}, clock: c}
			r := &asl.Runner{Machine: m, Tasks: f.tasks(), Sleep: c.Sleep, Now: c.Now, Hook: func(ev asl.Event) error {
				if ev.Phase == asl.Exit && ev.State == tc.after {
					return crash
				}
				return nil
			}}
			_, err := r.Run(context.Background(), "mason-v-1-3", json.RawMessage(masonInput))
			require.ErrorIs(t, err, crash)
			assert.Equal(t, tc.wantCalls, f.calls)
		})
	}
}
