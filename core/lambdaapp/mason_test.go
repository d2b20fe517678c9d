package lambdaapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestMasonDeployNames: core/deploy's Mason functions are lambdaapp's and
// core/mason's: one step function per Task state of the document (the
// same step names), with the variables each reads, and the dispatcher is
// a job reading the state machine's ARN.
func TestMasonDeployNames(t *testing.T) {
	assert.Equal(t, []string{deploy.StepRecycle, deploy.StepFulfill, deploy.StepConstruct, deploy.StepFree, deploy.StepGarbageCollect}, mason.Steps)
	m, err := asl.Parse(mason.Document)
	require.NoError(t, err)
	tasks := m.TaskStates()
	sort.Strings(tasks)
	steps := deploy.StepFunctions()
	var got []string
	for step, f := range steps {
		got = append(got, step)
		assert.Equal(t, step, lambdaapp.MasonSteps[f.Name], "%s runs %s", f.Name, step)
		assert.ElementsMatch(t, lambdaapp.MasonStepEnv[f.Name], f.Env, "%s: environment", f.Name)
		_, err := os.Stat("../../functions/" + f.Name + "/main.go")
		assert.NoError(t, err, "functions/%s", f.Name)
	}
	sort.Strings(got)
	assert.Equal(t, tasks, got, "one function per Task state of the document")
	assert.Len(t, lambdaapp.MasonSteps, len(steps))

	assert.Equal(t, deploy.FnMasonDispatch, lambdaapp.JobMasonDispatch)
	d, ok := deploy.Lookup(deploy.FnMasonDispatch)
	require.True(t, ok)
	assert.Equal(t, deploy.Job, d.Kind)
	assert.Equal(t, lambdaapp.JobEnv[lambdaapp.JobMasonDispatch], d.Env)
	assert.Equal(t, deploy.EnvMasonStateMachineARN, lambdaapp.EnvMasonStateMachineARN)
	assert.Equal(t, deploy.EnvMasonWait, lambdaapp.EnvMasonWait)
}

func TestMasonFromEnv(t *testing.T) {
	tests := []struct {
		name     string
		fn       string
		env      map[string]string
		wantStep string
		wantWait time.Duration
		wantErr  []string
	}{
		{name: "recycle", fn: "mason-recycle", env: map[string]string{"BOSKOS_TABLE": "boskos"}, wantStep: mason.StepRecycle},
		{name: "fulfill default wait", fn: "mason-fulfill", env: map[string]string{"BOSKOS_TABLE": "boskos"}, wantStep: mason.StepFulfill},
		{name: "fulfill wait", fn: "mason-fulfill", env: map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_MASON_WAIT": " 30s "},
			wantStep: mason.StepFulfill, wantWait: 30 * time.Second},
		{name: "other steps ignore the wait", fn: "mason-gc", env: map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_MASON_WAIT": "soon"},
			wantStep: mason.StepGarbageCollect},
		{name: "every problem at once", fn: "mason-fulfill", env: map[string]string{"BOSKOS_MASON_WAIT": "soon", "BOSKOS_LOG_LEVEL": "loud"},
			wantErr: []string{"BOSKOS_TABLE: must be set", `BOSKOS_MASON_WAIT: "soon" is not a duration`, "BOSKOS_LOG_LEVEL"}},
		{name: "a wait must be positive", fn: "mason-fulfill", env: map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_MASON_WAIT": "0s"},
			wantErr: []string{`BOSKOS_MASON_WAIT: "0s" must be positive`}},
		{name: "not a step function", fn: "reaper", env: map[string]string{"BOSKOS_TABLE": "boskos"},
			wantErr: []string{`"reaper" is not a Mason step function (mason-construct, mason-free, mason-fulfill, mason-gc, mason-recycle)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mc, err := lambdaapp.MasonFromEnv(tc.fn, env(tc.env))
			if len(tc.wantErr) > 0 {
				require.Error(t, err)
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				assert.Len(t, strings.Split(err.Error(), "\n"), len(tc.wantErr), "one line per problem: %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.fn, mc.Name)
			assert.Equal(t, tc.wantStep, mc.Step)
			assert.Equal(t, tc.wantWait, mc.Wait)
			assert.Equal(t, "boskos", mc.Table)
		})
	}
}

func TestMasonDispatchFromEnv(t *testing.T) {
	arn := "arn:aws:states:us-east-1:123456789012:stateMachine:boskos-dev-mason"
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "ok", env: map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_MASON_STATE_MACHINE_ARN": arn}, want: arn},
		{name: "required", env: map[string]string{"BOSKOS_TABLE": "boskos"}, wantErr: "BOSKOS_MASON_STATE_MACHINE_ARN: must be set for the mason-dispatch"},
		{name: "a name is not an ARN", env: map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_MASON_STATE_MACHINE_ARN": "boskos-dev-mason"},
			wantErr: `BOSKOS_MASON_STATE_MACHINE_ARN: "boskos-dev-mason" is not a state machine ARN`},
		{name: "an execution is not a state machine", env: map[string]string{"BOSKOS_TABLE": "boskos",
			"BOSKOS_MASON_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:execution:m:e"}, wantErr: "is not a state machine ARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jc, err := lambdaapp.JobFromEnv(lambdaapp.JobMasonDispatch, env(tc.env))
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, jc.MasonStateMachineARN)
		})
	}
	_, err := lambdaapp.NewJob(context.Background(), lambdaapp.JobConfig{Config: lambdaapp.Config{Table: "boskos"}, Job: lambdaapp.JobMasonDispatch})
	assert.ErrorContains(t, err, "the Mason dispatcher is not linked in")
	_, err = lambdaapp.NewJob(context.Background(), lambdaapp.JobConfig{Config: lambdaapp.Config{Table: "boskos"}, Job: lambdaapp.JobMasonDispatch,
		MasonJob: lambdaapp.MasonDispatcher})
	assert.ErrorContains(t, err, "the Mason dispatcher needs a starter")
}

// TestMainMasonStepReportsEveryStartProblem: a step function's main exits
// 2 with every problem of its configuration.
func TestMainMasonStepReportsEveryStartProblem(t *testing.T) {
	var stderr strings.Builder
	code := lambdaapp.MainMasonStep("mason-fulfill", env(map[string]string{"BOSKOS_MASON_WAIT": "-1s"}), &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "mason-fulfill: invalid configuration")
	assert.Contains(t, stderr.String(), "BOSKOS_TABLE")
	assert.Contains(t, stderr.String(), "BOSKOS_MASON_WAIT")
}

// stepFailure is a Task error as Step Functions reports a Lambda
// function's error: the function's errorType as the name, and its error
// payload (JSON with errorMessage and errorType) as the cause.
type stepFailure struct{ name, cause string }

func (e stepFailure) Error() string     { return e.cause }
func (e stepFailure) ErrorName() string { return e.name }

// viaLambda turns a step function's handler into the runner's TaskFunc,
// the way Step Functions calls the function: the error the Lambda
// runtime reports (it passes a messages.InvokeResponse_Error value
// through unchanged; anything else would be named after its Go type)
// becomes the Task's error.
func viaLambda(t *testing.T, h func(context.Context, json.RawMessage) (json.RawMessage, error)) asl.TaskFunc {
	return func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		out, err := h(ctx, in)
		if err == nil {
			return out, nil
		}
		ie, ok := err.(messages.InvokeResponse_Error)
		require.True(t, ok, "got a %T, want a messages.InvokeResponse_Error value (the runtime names other errors after their Go type)", err)
		cause, _ := json.Marshal(map[string]string{"errorMessage": ie.Message, "errorType": ie.Type})
		return nil, stepFailure{name: ie.Type, cause: string(cause)}
	}
}

// masonConverter answers the names it was given, after delay; it fails
// for the resources in fail.
type masonConverter struct {
	delay time.Duration
	mu    sync.Mutex
	fail  map[string]bool
}

func (c *masonConverter) Construct(ctx context.Context, res boskos.Resource, leased mason.TypeToResources) (boskos.UserData, error) {
	select {
	case <-time.After(c.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail[res.Name] {
		return nil, errors.New("quota exceeded")
	}
	var names []string
	for _, rs := range leased {
		for _, r := range rs {
			names = append(names, r.Name)
		}
	}
	return boskos.UserData{"built": res.Name, "from": strings.Join(names, ",")}, nil
}

const masonActionsConfig = `resources:
- type: account
  state: free
  names: [a-1, a-2, a-3, a-4]
- type: cluster
  state: dirty
  min-count: 2
  max-count: 2
  lifespan: 48h
  needs: {account: 1}
  config: {type: Test, content: "anything"}
`

// recordedStarts is the dispatcher's Starter of the test: it records
// what it starts; names in ended have ended; fail fails every start.
type recordedStarts struct {
	mu     sync.Mutex
	inputs map[string][]byte
	order  []string
	ended  map[string]bool
	fail   error
}

func (s *recordedStarts) Start(_ context.Context, name string, input []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if s.ended[name] {
		return mason.ErrExecutionEnded
	}
	if _, ok := s.inputs[name]; !ok {
		s.order = append(s.order, name)
	}
	s.inputs[name] = input
	return nil
}

// take returns the executions started since the last take.
func (s *recordedStarts) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.order
	s.order = nil
	return out
}

// TestMasonDynamoDBActions proves the DynamoDB actions of Mason's
// functions (deploy.Functions, their IAM policies) equal to what their
// handlers issue, the way TestDeployDynamoDBActions does for the others:
// each function is built as its main builds it (NewMasonStep, NewJob
// with the dispatcher) over a client recording the IAM action of every
// request, on one DynamoDB Local table, and the workflow document runs
// with the local runner, its Task states calling the step functions'
// Lambda handlers as Step Functions does. The scenario walks every path
// of the steps that reaches the store: needs not met (a heartbeat), then
// met behind a queued request_id (condition checks on the reserved
// resource), a repeated Fulfill (its work found done), a converter
// heart-beating while it runs, a free, a failing converter and its
// garbage collection, the recycling of a built resource claimed again, a
// crash after Fulfill whose execution then ended (the dispatcher aborts
// the stale claim), a start that fails (the dispatcher releases the
// claim), and a pass with nothing to claim. It also checks the metrics
// the functions emit and the store each step leaves.
func TestMasonDynamoDBActions(t *testing.T) {
	ctx := context.Background()
	_, table := dynamotest.NewTable(t)
	log := slog.New(slog.DiscardHandler)
	clk := &settableClock{t: time.Date(2100, 1, 2, 15, 4, 5, 0, time.UTC)}
	setup := ranch.New(dynamostore.New(dynamotest.Client(t), table, dynamostore.Options{}),
		ranch.Options{Now: clk.Now, Logger: log, DRLCCacheTTL: -1})
	cfg, err := boskos.ParseValidConfig([]byte(masonActionsConfig))
	require.NoError(t, err)
	_, err = maintenance.Apply(ctx, setup, cfg, ranch.Origin{Source: "test:setup"})
	require.NoError(t, err)

	conv := &masonConverter{delay: 150 * time.Millisecond, fail: map[string]bool{}}
	reg := mason.NewRegistry()
	require.NoError(t, reg.Register("Test", func(string) (mason.Masonable, error) { return conv, nil }))

	rec := map[string]*dynamotest.Actions{}
	metrics := map[string]*bytes.Buffer{}
	base := func(fn string) lambdaapp.Config {
		a := &dynamotest.Actions{}
		rec[fn] = a
		metrics[fn] = &bytes.Buffer{}
		return lambdaapp.Config{Table: table, Now: clk.Now, Logger: log, Client: dynamotest.Client(t, a.Option),
			Function: "boskos-test-" + fn, MetricsOut: metrics[fn]}
	}
	tasks := map[string]asl.TaskFunc{}
	handlers := map[string]func(context.Context, json.RawMessage) (json.RawMessage, error){}
	for _, fn := range lambdaapp.MasonStepFunctions() {
		step, err := lambdaapp.NewMasonStep(ctx, lambdaapp.MasonConfig{Config: base(fn), Name: fn, Step: lambdaapp.MasonSteps[fn],
			Wait: time.Second, Registry: reg, Heartbeat: 20 * time.Millisecond})
		require.NoError(t, err)
		handlers[fn] = lambdaapp.MasonHandler(step)
		tasks[lambdaapp.MasonSteps[fn]] = viaLambda(t, handlers[fn])
	}
	starts := &recordedStarts{inputs: map[string][]byte{}, ended: map[string]bool{}}
	disp, err := lambdaapp.NewJob(ctx, lambdaapp.JobConfig{Config: base(deploy.FnMasonDispatch), Job: lambdaapp.JobMasonDispatch,
		MasonJob: lambdaapp.MasonDispatcher, MasonStarter: starts, MasonRegistry: reg})
	require.NoError(t, err)
	pass := func() mason.DispatchReport {
		t.Helper()
		rep, err := lambdaapp.JobHandler(disp, log, 0, nil)(ctx, events.EventBridgeEvent{ID: "ev"})
		require.NoError(t, err)
		return rep.Result.(mason.DispatchReport)
	}

	// A repeated Fulfill: the first answer that leases is lost and Step
	// Functions calls it again, which finds its work done.
	fulfill := tasks[mason.StepFulfill]
	tasks[mason.StepFulfill] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		out, err := fulfill(ctx, in)
		if err == nil && strings.Contains(string(out), `"done":true`) {
			out, err = fulfill(ctx, in)
		}
		return out, err
	}
	m, err := mason.Machine(mason.NewWorkflow(setup, reg, mason.Options{}))
	require.NoError(t, err)
	var onWait func()
	var crashAfter string
	errCrash := errors.New("crash")
	runner := &asl.Runner{Machine: m, Tasks: tasks, Log: log,
		Sleep: func(context.Context, time.Duration) error {
			if onWait != nil {
				onWait()
				onWait = nil
			}
			return nil
		},
		Hook: func(e asl.Event) error {
			if e.Phase == asl.Exit && e.State == crashAfter {
				return errCrash
			}
			return nil
		},
	}
	run := func(name string) error {
		_, err := runner.Run(ctx, name, starts.inputs[name])
		return err
	}
	state := func(name string) boskos.Resource {
		t.Helper()
		all, err := setup.Resources(ctx)
		require.NoError(t, err)
		for _, r := range all {
			if r.Name == name {
				return r
			}
		}
		t.Fatalf("no resource %s", name)
		return boskos.Resource{}
	}
	clusters := func() []string {
		all, err := setup.Resources(ctx)
		require.NoError(t, err)
		var out []string
		for _, r := range all {
			if r.Type == "cluster" {
				out = append(out, r.Name)
			}
		}
		sort.Strings(out)
		return out
	}

	// Bob holds every account; carol queues for one (request_id r1).
	for range 4 {
		_, err := setup.Acquire(ctx, "account", boskos.Free, boskos.Busy, "bob", "")
		require.NoError(t, err)
	}
	_, err = setup.Acquire(ctx, "account", boskos.Free, boskos.Busy, "carol", "r1")
	require.Equal(t, boskos.ENotFound, boskos.ErrorCode(err), "carol queued: %v", err)
	release := func(n int) {
		t.Helper()
		all, err := setup.Resources(ctx)
		require.NoError(t, err)
		for _, r := range all {
			if n > 0 && r.Type == "account" && r.Owner == "bob" {
				require.NoError(t, setup.Release(ctx, r.Name, boskos.Free, "bob", nil))
				n--
			}
		}
		require.Zero(t, n)
	}
	release(1) // reserved for carol's r1

	// A start that fails: the dispatcher hands the claims back.
	starts.fail = errors.New("throttled")
	_, err = lambdaapp.JobHandler(disp, log, 0, nil)(ctx, events.EventBridgeEvent{ID: "ev"})
	require.ErrorContains(t, err, "throttled")
	for _, n := range clusters() {
		assert.Equal(t, boskos.Dirty+"/", state(n).State+"/"+state(n).Owner, n)
	}
	starts.fail = nil

	rep := pass()
	assert.Equal(t, 2, rep.Started, "%+v", rep)
	started := starts.take()
	require.Len(t, started, 2)
	var first, second string
	for _, n := range started {
		var in mason.Input
		require.NoError(t, json.Unmarshal(starts.inputs[n], &in))
		if first == "" {
			first = in.Resource
		} else {
			second = in.Resource
		}
	}

	// The first construction waits (the free account is carol's), then
	// two accounts come free: it leases one behind carol's.
	onWait = func() { release(2) }
	require.NoError(t, run(started[0]))
	v := state(first)
	assert.Equal(t, boskos.Free, v.State)
	assert.Equal(t, first, v.UserData["built"])

	// The second one's converter fails: GarbageCollect.
	conv.mu.Lock()
	conv.fail[second] = true
	conv.mu.Unlock()
	var failed *asl.ExecutionFailed
	require.ErrorAs(t, run(started[1]), &failed)
	assert.Equal(t, "ConstructionFailed", failed.Err)
	v = state(second)
	assert.Equal(t, boskos.Dirty, v.State)
	assert.Equal(t, "StepFailed: construct: converter failed: quota exceeded", v.UserData[ranch.MasonErrorKey])
	conv.mu.Lock()
	conv.fail = map[string]bool{}
	conv.mu.Unlock()

	// A consumer takes the first one and releases it dirty: the next
	// construction recycles its account; both crash after Fulfill.
	got, err := setup.Acquire(ctx, "cluster", boskos.Free, boskos.Busy, "dave", "")
	require.NoError(t, err)
	require.Equal(t, first, got.Name)
	require.NoError(t, setup.Release(ctx, first, boskos.Dirty, "dave", nil))
	release(1)
	rep = pass()
	assert.Equal(t, 2, rep.Started, "%+v", rep)
	crashAfter = mason.StepFulfill
	for _, n := range starts.take() {
		require.ErrorIs(t, run(n), errCrash)
		starts.ended[n] = true // the execution stopped: Step Functions calls it ended
	}
	crashAfter = ""

	// Their heartbeats stop: the dispatcher restarts them, finds their
	// executions ended and aborts the claims (releasing what they hold),
	// then claims them again under new epochs.
	clk.Add(mason.DefaultStaleAfter + time.Minute)
	rep = pass()
	assert.Equal(t, 2, rep.Released, "%+v", rep)
	assert.Equal(t, 2, rep.Started, "%+v", rep)
	assert.Len(t, starts.take(), 2)
	all, err := setup.Resources(ctx)
	require.NoError(t, err)
	for _, r := range all {
		if r.Type == "account" && r.Owner != "carol" {
			assert.Contains(t, []string{boskos.Dirty, boskos.Free}, r.State, "%s: nothing left leased or parked", r.Name)
			assert.Empty(t, r.Owner, r.Name)
		}
	}

	// A pass with nothing dirty to claim.
	rep = pass()
	assert.Zero(t, rep.Claimed, "%+v", rep)

	for _, f := range deploy.Functions {
		if f.Kind != deploy.Step && f.Name != deploy.FnMasonDispatch {
			continue // TestDeployDynamoDBActions
		}
		t.Run("actions/"+f.Name, func(t *testing.T) {
			a := rec[f.Name]
			require.NotNil(t, a, "no scenario ran %s", f.Name)
			assert.Equal(t, f.DynamoDBActions, a.List(), "got the actions %s issued, want deploy.Functions' list", f.Name)
		})
	}

	// Metrics: the free function counts constructions, the garbage
	// collector failures by step (EMF, with the deployed name).
	tests := []struct {
		fn, metric string
		dims       map[string]string
	}{
		{"mason-free", emf.MasonConstructed, map[string]string{emf.DimType: "cluster"}},
		{"mason-gc", emf.MasonFailures, map[string]string{emf.DimType: "cluster", emf.DimStep: "construct"}},
	}
	for _, tc := range tests {
		t.Run("metrics/"+tc.fn, func(t *testing.T) {
			var found bool
			for _, line := range strings.Split(strings.TrimSpace(metrics[tc.fn].String()), "\n") {
				var l map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &l), line)
				if l[tc.metric] == nil {
					continue
				}
				found = true
				assert.Equal(t, "boskos-test-"+tc.fn, l[emf.DimFunction])
				for k, v := range tc.dims {
					assert.Equal(t, v, l[k], "dimension %s", k)
				}
			}
			assert.True(t, found, "%s emitted no %s: %s", tc.fn, tc.metric, metrics[tc.fn].String())
		})
	}
}

// TestMasonHandlerErrors: each kind of step failure reaches the Lambda
// runtime as a messages.InvokeResponse_Error value named for the
// document's Retry and Catch.
func TestMasonHandlerErrors(t *testing.T) {
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	log := slog.New(slog.DiscardHandler)
	setup := ranch.New(dynamostore.New(client, table, dynamostore.Options{}), ranch.Options{Logger: log})
	cfg, err := boskos.ParseValidConfig([]byte(masonActionsConfig))
	require.NoError(t, err)
	require.NoError(t, setup.SyncConfig(ctx, cfg))
	handler := func(fn string) func(context.Context, json.RawMessage) (json.RawMessage, error) {
		step, err := lambdaapp.NewMasonStep(ctx, lambdaapp.MasonConfig{Config: lambdaapp.Config{Table: table, Client: client, Logger: log, MetricsOut: &bytes.Buffer{}},
			Name: fn, Step: lambdaapp.MasonSteps[fn], Registry: mason.NewRegistry()})
		require.NoError(t, err)
		return lambdaapp.MasonHandler(step)
	}
	claimed, err := setup.Acquire(ctx, "cluster", boskos.Dirty, boskos.Cleaning, mason.Owner, "")
	require.NoError(t, err)
	in := func(epoch int64) json.RawMessage {
		b, _ := json.Marshal(mason.Input{Resource: claimed.Name, Type: "cluster", Epoch: epoch})
		return b
	}
	tests := []struct {
		name, fn string
		in       json.RawMessage
		wantType string
		wantMsg  string
		wantOut  string
	}{
		{name: "done", fn: "mason-recycle", in: in(claimed.Epoch), wantOut: `{"done":true}`},
		{name: "not JSON", fn: "mason-recycle", in: json.RawMessage(`"nope"`), wantType: mason.ErrBadInput, wantMsg: "recycle: invalid input"},
		{name: "no epoch", fn: "mason-free", in: json.RawMessage(`{"resource":"c","type":"cluster"}`), wantType: mason.ErrBadInput, wantMsg: "free: invalid epoch 0"},
		{name: "a claim that no longer holds", fn: "mason-fulfill", in: in(claimed.Epoch + 1), wantType: mason.ErrClaimLost, wantMsg: "fulfill: "},
		{name: "no converter of that name", fn: "mason-construct", in: in(claimed.Epoch), wantType: mason.ErrStepFailed,
			wantMsg: `construct: converter "Test": no converter of that name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := handler(tc.fn)(ctx, tc.in)
			if tc.wantType == "" {
				require.NoError(t, err)
				assert.JSONEq(t, tc.wantOut, string(out))
				return
			}
			ie, ok := err.(messages.InvokeResponse_Error)
			require.True(t, ok, "got %T %v, want a messages.InvokeResponse_Error value", err, err)
			assert.Equal(t, tc.wantType, ie.Type)
			assert.Contains(t, ie.Message, tc.wantMsg)
		})
	}
}

// TestMasonEvents: each events/mason-<step>/state.json is the input of
// its step function (a mason.Input, decoded strictly), and runs through
// its handler built as the function builds it: on a table where nobody
// claimed the resource, every step but GarbageCollect (which has nothing
// to release) reports the lost claim.
func TestMasonEvents(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	log := slog.New(slog.DiscardHandler)
	cfg, err := boskos.ParseValidConfig([]byte(masonActionsConfig))
	require.NoError(t, err)
	require.NoError(t, ranch.New(dynamostore.New(client, table, dynamostore.Options{}), ranch.Options{Logger: log}).SyncConfig(context.Background(), cfg))
	reg := mason.NewRegistry()
	require.NoError(t, reg.Register("Test", func(string) (mason.Masonable, error) { return &masonConverter{}, nil }))
	for _, fn := range lambdaapp.MasonStepFunctions() {
		t.Run(fn, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("../../events", fn, "state.json"))
			require.NoError(t, err)
			var in mason.Input
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&in))
			assert.NotEmpty(t, in.Resource)
			assert.Positive(t, in.Epoch)
			step, err := lambdaapp.NewMasonStep(context.Background(), lambdaapp.MasonConfig{Config: lambdaapp.Config{Table: table, Client: client, Logger: log, MetricsOut: &bytes.Buffer{}},
				Name: fn, Step: lambdaapp.MasonSteps[fn], Registry: reg})
			require.NoError(t, err)
			out, err := lambdaapp.MasonHandler(step)(context.Background(), raw)
			if fn == "mason-gc" {
				require.NoError(t, err)
				assert.JSONEq(t, `{"done":true}`, string(out))
				return
			}
			ie, ok := err.(messages.InvokeResponse_Error)
			require.True(t, ok, "got %T %v", err, err)
			assert.Equal(t, mason.ErrClaimLost, ie.Type)
		})
	}
}
