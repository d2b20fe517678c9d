package sfnstarter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/mason/sfnstarter"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// The second check of the workflow document (issue 8's quality bar):
// Step Functions as moto implements it runs core/mason's document, each
// Task state rewritten into an SQS callback task
// (arn:aws:states:::sqs:sendMessage.waitForTaskToken, the state's input
// and $$.Task.Token in the message), and the test answers each message by
// running the same Go step (Workflow.Tasks()[state]) over a memstore
// ranch, with SendTaskSuccess (the step's answer) or SendTaskFailure (the
// error's ASL name, asl.ErrorName, and its text). Everything else of the
// document stays: Retry, Catch, ResultPath, TimeoutSeconds, the
// NeedsMet/WaitForNeeds loop (moto really waits SecondsPath), the Pass
// and Fail states. The same scenario runs on the local runner (core/asl)
// and both must leave the store alike and visit the same states.
//
// What moto 5.2.1 cannot do, and so what this check does not cover:
//   - Lambda tasks (no Docker): hence the SQS callbacks; the functions'
//     own handler is tested in core/lambdaapp.
//   - A Catch's Cause: moto sets $.error.Cause to null, so GarbageCollect
//     records only the error name ("StepFailed", not "StepFailed:
//     construct: converter failed: ...") and counts the failure under
//     step "workflow" (the local runner: "construct").
//   - Retry after SendTaskFailure: moto gives every attempt the same task
//     token, and a failure sent for one attempt also fails the next one
//     at once; so no scenario here fails with Transient (the local
//     runner's tests cover retries).
//   - More than one execution per region (see moto): each execution gets
//     a region, a queue and a state machine of its own.

// converter is the test's converter: it answers the virtual resource's
// name and its leased resources, or fails.
type converter struct{ fail error }

func (c converter) Construct(_ context.Context, res boskos.Resource, leased mason.TypeToResources) (boskos.UserData, error) {
	if c.fail != nil {
		return nil, c.fail
	}
	var names []string
	for _, rs := range leased {
		for _, r := range rs {
			names = append(names, r.Name)
		}
	}
	sort.Strings(names)
	return boskos.UserData{"built": res.Name, "from": strings.Join(names, ",")}, nil
}

// observed counts what a Workflow's Observer is told.
type observed struct {
	mu          sync.Mutex
	constructed []string
	failed      []string
}

func (o *observed) Constructed(rtype string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.constructed = append(o.constructed, rtype)
}

func (o *observed) Failed(rtype, step string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed = append(o.failed, rtype+"/"+step)
}

const secondCheckConfig = `
resources:
- {type: account, state: free, names: [a-1, a-2]}
- type: cluster
  state: dirty
  min-count: 1
  max-count: 1
  lifespan: 48h
  needs: {account: 1}
  config: {type: Test, content: "anything"}
`

// checkWorld is one run's store, ranch, steps and dispatcher.
type checkWorld struct {
	r    *ranch.Ranch
	wf   *mason.Workflow
	reg  *mason.Registry
	obs  *observed
	hold *boskos.Resource // the account alice holds, when the scenario starts so
}

// newCheckWorld builds a world; with busy, alice holds every account
// (the construction must wait for one).
func newCheckWorld(t *testing.T, conv converter, busy bool) *checkWorld {
	t.Helper()
	ctx := context.Background()
	w := &checkWorld{
		r:   ranch.New(memstore.New(), ranch.Options{DRLCCacheTTL: -1, Logger: testkit.Quiet()}),
		reg: mason.NewRegistry(),
		obs: &observed{},
	}
	require.NoError(t, w.reg.Register("Test", func(string) (mason.Masonable, error) { return conv, nil }))
	cfg, err := boskos.ParseValidConfig([]byte(secondCheckConfig))
	require.NoError(t, err)
	require.NoError(t, w.r.SyncConfig(ctx, cfg))
	if busy {
		for range 2 {
			res, err := w.r.Acquire(ctx, "account", boskos.Free, boskos.Busy, "alice", "")
			require.NoError(t, err)
			w.hold = &res
		}
	}
	w.wf = mason.NewWorkflow(w.r, w.reg, mason.Options{Wait: time.Second, Heartbeat: time.Hour, Observer: w.obs, Logger: testkit.Quiet()})
	return w
}

// tasks are the workflow's steps; the first Fulfill answer that waits
// has alice release one account, so the next attempt can lease it.
func (w *checkWorld) tasks(t *testing.T) map[string]asl.TaskFunc {
	tasks := w.wf.Tasks()
	fulfill := tasks[mason.StepFulfill]
	var once sync.Once
	tasks[mason.StepFulfill] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		out, err := fulfill(ctx, in)
		var res mason.FulfillResult
		if err == nil && json.Unmarshal(out, &res) == nil && !res.Done && w.hold != nil {
			once.Do(func() {
				assert.NoError(t, w.r.Release(ctx, w.hold.Name, boskos.Free, "alice", nil))
			})
		}
		return out, err
	}
	return tasks
}

// started records the executions a dispatcher pass starts.
type started struct {
	names  []string
	inputs map[string][]byte
}

func (s *started) Start(_ context.Context, name string, input []byte) error {
	if s.inputs == nil {
		s.inputs = map[string][]byte{}
	}
	if _, ok := s.inputs[name]; !ok {
		s.names = append(s.names, name)
	}
	s.inputs[name] = input
	return nil
}

// dispatch runs one dispatcher pass with starter and returns what it
// started.
func (w *checkWorld) dispatch(t *testing.T, s mason.Starter) {
	t.Helper()
	rep, err := mason.NewDispatcher(w.r, w.reg, s, mason.DispatcherOptions{Logger: testkit.Quiet()}).Pass(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, rep.Started, "%+v", rep)
}

// snapshot is the store, with the names a run chose (the generated
// virtual name, which account it leased) replaced, as a sorted list of
// "type state owner userdata".
func (w *checkWorld) snapshot(t *testing.T) []string {
	t.Helper()
	all, err := w.r.Resources(context.Background())
	require.NoError(t, err)
	var virtual string
	for _, r := range all {
		if r.Type == "cluster" {
			virtual = r.Name
		}
	}
	norm := strings.NewReplacer(virtual, "<cluster>", "a-1", "<account>", "a-2", "<account>")
	var out []string
	for _, r := range all {
		var ud []string
		for k, v := range r.UserData {
			if k == ranch.MasonErrorKey {
				v = "<reason>" // compared on its own: see the package comment
			}
			ud = append(ud, k+"="+v)
		}
		sort.Strings(ud)
		out = append(out, norm.Replace(fmt.Sprintf("%s %s %q %v", r.Type, r.State, r.Owner, ud)))
	}
	sort.Strings(out)
	return out
}

// virtual returns the cluster.
func (w *checkWorld) virtual(t *testing.T) boskos.Resource {
	t.Helper()
	all, err := w.r.Resources(context.Background())
	require.NoError(t, err)
	for _, r := range all {
		if r.Type == "cluster" {
			return r
		}
	}
	t.Fatal("no cluster")
	return boskos.Resource{}
}

// runLocal runs the execution the dispatcher started with the local
// runner and returns the states it entered and its ASL error ("" when it
// succeeded).
func (w *checkWorld) runLocal(t *testing.T) (visited []string, failed string) {
	t.Helper()
	var s started
	w.dispatch(t, &s)
	m, err := asl.Parse(mason.Document)
	require.NoError(t, err)
	run := &asl.Runner{Machine: m, Tasks: w.tasks(t), Hook: func(e asl.Event) error {
		if e.Phase == asl.Enter {
			visited = append(visited, e.State)
		}
		return nil
	}}
	name := s.names[0]
	_, err = run.Run(context.Background(), name, s.inputs[name])
	var ef *asl.ExecutionFailed
	if errors.As(err, &ef) {
		return visited, ef.Err
	}
	require.NoError(t, err)
	return visited, ""
}

// callbackDocument is mason.Document with every Task state an SQS
// callback task sending {"state", "input", "token"} to queueURL.
func callbackDocument(t *testing.T, queueURL string) string {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal(mason.Document, &doc))
	tasks := 0
	for name, v := range doc["States"].(map[string]any) {
		st := v.(map[string]any)
		if st["Type"] != "Task" {
			continue
		}
		tasks++
		st["Resource"] = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
		st["Parameters"] = map[string]any{
			"QueueUrl":    queueURL,
			"MessageBody": map[string]any{"state": name, "input.$": "$", "token.$": "$$.Task.Token"},
		}
	}
	require.Len(t, mason.Steps, tasks, "every step is a Task state")
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return string(b)
}

// motoStarter starts each new execution name in a region of its own
// (moto runs one execution per region), on a state machine of the
// callback document there, through the real adapter.
type motoStarter struct {
	t     *testing.T
	m     *moto
	execs map[string]*motoExecution
	order []string
}

type motoExecution struct {
	region, queue, arn string
	starter            *sfnstarter.Starter
}

func (s *motoStarter) Start(ctx context.Context, name string, input []byte) error {
	e, ok := s.execs[name]
	if !ok {
		region := s.m.region(s.t)
		q, err := s.m.sqs(region).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("mason-tasks")})
		require.NoError(s.t, err)
		machine := s.m.createMachine(s.t, region, "boskos-mason", callbackDocument(s.t, aws.ToString(q.QueueUrl)))
		st, err := sfnstarter.New(s.m.sfn(region), machine)
		require.NoError(s.t, err)
		e = &motoExecution{region: region, queue: aws.ToString(q.QueueUrl), arn: executionARN(machine, name), starter: st}
		s.execs[name] = e
		s.order = append(s.order, name)
	}
	return e.starter.Start(ctx, name, input)
}

// callback is the message body of a callback task.
type callback struct {
	State string          `json:"state"`
	Input json.RawMessage `json:"input"`
	Token string          `json:"token"`
}

// serve answers e's callback tasks with tasks until the execution ends,
// and returns the states it entered (from its history) and its error
// ("" when it succeeded).
func (s *motoStarter) serve(t *testing.T, e *motoExecution, tasks map[string]asl.TaskFunc) (visited []string, failed string) {
	t.Helper()
	ctx := context.Background()
	sf, sq := s.m.sfn(e.region), s.m.sqs(e.region)
	deadline := time.Now().Add(90 * time.Second)
	for {
		d, err := sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(e.arn)})
		require.NoError(t, err)
		if d.Status != "RUNNING" {
			failed = aws.ToString(d.Error)
			break
		}
		require.True(t, time.Now().Before(deadline), "execution %s still running", e.arn)
		msgs, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.queue), WaitTimeSeconds: 1, MaxNumberOfMessages: 10})
		require.NoError(t, err)
		for _, msg := range msgs.Messages {
			var cb callback
			require.NoError(t, json.Unmarshal([]byte(aws.ToString(msg.Body)), &cb), "message %s", aws.ToString(msg.Body))
			task, ok := tasks[cb.State]
			require.True(t, ok, "a callback for %q, which is no step", cb.State)
			out, err := task(ctx, cb.Input)
			if err != nil {
				_, serr := sf.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(cb.Token),
					Error: aws.String(asl.ErrorName(err)), Cause: aws.String(err.Error())})
				require.NoError(t, serr)
			} else {
				_, serr := sf.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(cb.Token), Output: aws.String(string(out))})
				require.NoError(t, serr)
			}
			_, err = sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(e.queue), ReceiptHandle: msg.ReceiptHandle})
			require.NoError(t, err)
		}
	}
	h, err := sf.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(e.arn)})
	require.NoError(t, err)
	for _, ev := range h.Events {
		if ev.StateEnteredEventDetails != nil {
			visited = append(visited, aws.ToString(ev.StateEnteredEventDetails.Name))
		}
	}
	return visited, failed
}

// TestWorkflowOnMoto runs each scenario on the local runner and on moto's
// Step Functions (see the comment above converter): the dispatcher claims
// the one dirty cluster and starts its execution; the store must end the
// same, through the same states.
func TestWorkflowOnMoto(t *testing.T) {
	m := motoServer(t)
	tests := []struct {
		name    string
		conv    converter
		busy    bool // every account is held at first: Fulfill waits
		visited []string
		failed  string
		// check looks at the world each runner leaves.
		check func(t *testing.T, w *checkWorld, onMoto bool)
	}{
		{
			name:    "constructed",
			visited: []string{"Recycle", "Fulfill", "NeedsMet", "Construct", "Free", "Constructed"},
			check: func(t *testing.T, w *checkWorld, _ bool) {
				v := w.virtual(t)
				assert.Equal(t, boskos.Free, v.State)
				assert.Empty(t, v.Owner)
				names, err := boskos.ParseLeasedResources(v.UserData[boskos.LeasedResources])
				require.NoError(t, err)
				require.Len(t, names, 1)
				assert.Equal(t, v.Name, v.UserData["built"])
				assert.Equal(t, names[0], v.UserData["from"])
				assert.Equal(t, []string{"cluster"}, w.obs.constructed)
				assert.Empty(t, w.obs.failed)
			},
		},
		{
			name: "needs met after a wait", busy: true,
			visited: []string{"Recycle", "Fulfill", "NeedsMet", "WaitForNeeds", "Fulfill", "NeedsMet", "Construct", "Free", "Constructed"},
			check: func(t *testing.T, w *checkWorld, _ bool) {
				v := w.virtual(t)
				assert.Equal(t, boskos.Free, v.State)
				assert.Contains(t, v.UserData[boskos.LeasedResources], w.hold.Name, "the account alice released")
				assert.Equal(t, []string{"cluster"}, w.obs.constructed)
			},
		},
		{
			name: "a failing converter ends with GarbageCollect", conv: converter{fail: errors.New("quota exceeded")},
			visited: []string{"Recycle", "Fulfill", "NeedsMet", "Construct", "GarbageCollect", "ConstructionFailed"},
			failed:  "ConstructionFailed",
			check: func(t *testing.T, w *checkWorld, onMoto bool) {
				v := w.virtual(t)
				assert.Equal(t, boskos.Dirty, v.State)
				assert.Empty(t, v.Owner)
				assert.NotContains(t, v.UserData, boskos.LeasedResources)
				reason, step := "StepFailed: construct: converter failed: quota exceeded", "cluster/construct"
				if onMoto {
					reason, step = "StepFailed", "cluster/workflow" // moto drops the Catch's Cause
				}
				assert.Equal(t, reason, v.UserData[ranch.MasonErrorKey])
				assert.Equal(t, []string{step}, w.obs.failed)
				assert.Empty(t, w.obs.constructed)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			local := newCheckWorld(t, tc.conv, tc.busy)
			visited, failed := local.runLocal(t)
			assert.Equal(t, tc.visited, visited, "local runner: states entered")
			assert.Equal(t, tc.failed, failed, "local runner: error")
			tc.check(t, local, false)

			onMoto := newCheckWorld(t, tc.conv, tc.busy)
			ms := &motoStarter{t: t, m: m, execs: map[string]*motoExecution{}}
			onMoto.dispatch(t, ms)
			require.Len(t, ms.order, 1)
			visited, failed = ms.serve(t, ms.execs[ms.order[0]], onMoto.tasks(t))
			assert.Equal(t, tc.visited, visited, "moto: states entered")
			assert.Equal(t, tc.failed, failed, "moto: error")
			tc.check(t, onMoto, true)

			assert.Equal(t, local.snapshot(t), onMoto.snapshot(t), "the store after the local runner, after moto")
		})
	}
}
