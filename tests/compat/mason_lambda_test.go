package compat

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/tests/compat/lambdarun"
)

// masonLambdaConfig: a virtual type whose config.type no registry has, so
// its construction fails at Construct whatever converters are built in.
const masonLambdaConfig = `resources:
- {type: account, state: free, names: [a-1, a-2]}
- type: cluster
  state: dirty
  min-count: 1
  max-count: 1
  needs: {account: 1}
  config: {type: NoSuchConverter, content: "x"}
`

// lambdaTaskError is a Task error as Step Functions makes it of a Lambda
// function's error: the errorType is the name, the error payload the
// cause.
type lambdaTaskError struct{ name, cause string }

func (e lambdaTaskError) Error() string     { return e.cause }
func (e lambdaTaskError) ErrorName() string { return e.name }

// TestLambdaMason runs Mason's real bootstraps under the fake Lambda
// Runtime API on DynamoDB Local. The workflow document, run by the local
// runner with each Task state invoking its step function's bootstrap the
// way Step Functions does (the state as the event; a function error's
// errorType as the Task's error name and its payload as the cause), takes
// a claimed virtual resource through Recycle, Fulfill (which leases an
// account) and Construct, which fails with StepFailed (no converter of
// that name); the document catches it into GarbageCollect, whose bootstrap
// releases everything as dirty with the reason and emits MasonFailures.
// The dispatcher's bootstrap serves its scheduled event and refuses to
// start without its state machine.
func TestLambdaMason(t *testing.T) {
	bins := buildLambdas(t)
	ctx := context.Background()
	endpoint := dynamotest.Endpoint(t)
	client, table := dynamotest.NewTable(t)
	seedTable(t, client, table, masonLambdaConfig)
	r := ranch.New(dynamostore.New(client, table, dynamostore.Options{}), ranch.Options{Logger: slog.New(slog.DiscardHandler)})

	env := []string{"BOSKOS_TABLE=" + table, "AWS_ENDPOINT_URL_DYNAMODB=" + endpoint, "BOSKOS_LOG_LEVEL=info"}
	fns := map[string]*lambdarun.Function{}
	for _, name := range lambdarun.MasonSteps {
		fn, err := lambdarun.StartFunction(name, bins[name], lambdarun.Options{Env: env, Timeout: 30 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() {
			require.NoError(t, fn.Stop())
			if t.Failed() {
				t.Logf("logs of %s:\n%s", name, fn.Logs())
			}
		})
		fns[lambdaapp.MasonSteps[name]] = fn
	}
	tasks := map[string]asl.TaskFunc{}
	for step, fn := range fns {
		tasks[step] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			out, err := fn.Invoke(ctx, in)
			var ie *lambdarun.InvokeError
			if errors.As(err, &ie) {
				var p struct {
					ErrorType string `json:"errorType"`
				}
				require.NoError(t, json.Unmarshal([]byte(ie.Payload), &p), "error payload %s", ie.Payload)
				return nil, lambdaTaskError{name: p.ErrorType, cause: ie.Payload}
			}
			return out, err
		}
	}
	m, err := asl.Parse(mason.Document)
	require.NoError(t, err)
	var visited []string
	run := &asl.Runner{Machine: m, Tasks: tasks,
		Sleep: func(context.Context, time.Duration) error { return nil },
		Hook: func(e asl.Event) error {
			if e.Phase == asl.Enter {
				visited = append(visited, e.State)
			}
			return nil
		},
	}

	v, err := r.Acquire(ctx, "cluster", boskos.Dirty, boskos.Cleaning, mason.Owner, "")
	require.NoError(t, err)
	in, err := json.Marshal(mason.Input{Resource: v.Name, Type: "cluster", Epoch: v.Epoch})
	require.NoError(t, err)
	_, err = run.Run(ctx, mason.ExecutionName(v.Name, v.Epoch), in)
	var failed *asl.ExecutionFailed
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, "ConstructionFailed", failed.Err)
	assert.Equal(t, []string{"Recycle", "Fulfill", "NeedsMet", "Construct", "GarbageCollect", "ConstructionFailed"}, visited)

	all, err := r.Resources(ctx)
	require.NoError(t, err)
	for _, res := range all {
		assert.Empty(t, res.Owner, "%s is owned", res.Name)
		switch res.Type {
		case "cluster":
			assert.Equal(t, boskos.Dirty, res.State)
			assert.Contains(t, res.UserData[ranch.MasonErrorKey], `StepFailed: construct: converter "NoSuchConverter": no converter of that name`)
			assert.NotContains(t, res.UserData, boskos.LeasedResources)
		case "account":
			assert.Contains(t, []string{boskos.Free, boskos.Dirty}, res.State, res.Name)
		}
	}
	assert.Equal(t, map[string]int{boskos.Free: 1, boskos.Dirty: 1}, countStates(all, "account"), "the leased account went back dirty")
	gc := fns[mason.StepGarbageCollect].Logs()
	assert.Contains(t, gc, `"MasonFailures":1`)
	assert.Contains(t, gc, `"step":"construct"`)

	t.Run("dispatcher", func(t *testing.T) {
		// With no converter of the config's name, it builds nothing: it
		// must not call Step Functions.
		sfn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("unexpected Step Functions call %s", r.Header.Get("X-Amz-Target"))
			http.Error(w, "no", http.StatusBadRequest)
		}))
		t.Cleanup(sfn.Close)
		fn, err := lambdarun.StartFunction(lambdaapp.JobMasonDispatch, bins[lambdaapp.JobMasonDispatch], lambdarun.Options{
			Env: append(env, "BOSKOS_MASON_STATE_MACHINE_ARN=arn:aws:states:us-east-1:123456789012:stateMachine:boskos-mason", "AWS_ENDPOINT_URL="+sfn.URL),
		})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, fn.Stop()) })
		ev, err := os.ReadFile(filepath.Join("..", "..", "events", lambdaapp.JobMasonDispatch, "scheduled.json"))
		require.NoError(t, err)
		out, err := fn.Invoke(ctx, ev)
		require.NoError(t, err, "logs:\n%s", fn.Logs())
		var rep struct {
			Job    string               `json:"job"`
			Error  string               `json:"error"`
			Result mason.DispatchReport `json:"result"`
		}
		require.NoError(t, json.Unmarshal(out, &rep), "%s", out)
		assert.Equal(t, lambdaapp.JobMasonDispatch, rep.Job)
		assert.Empty(t, rep.Error)
		assert.Zero(t, rep.Result.Claimed)

		code, logs, err := lambdarun.RunOnce(bins[lambdaapp.JobMasonDispatch], []string{"BOSKOS_TABLE=" + table}, time.Minute)
		require.NoError(t, err)
		assert.Equal(t, 2, code, "exit code; output:\n%s", logs)
		assert.True(t, strings.Contains(logs, "BOSKOS_MASON_STATE_MACHINE_ARN: must be set"), logs)
	})
}

// countStates counts the resources of rtype by state.
func countStates(all []boskos.Resource, rtype string) map[string]int {
	out := map[string]int{}
	for _, r := range all {
		if r.Type == rtype {
			out[r.State]++
		}
	}
	return out
}
