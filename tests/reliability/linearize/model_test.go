package linearize

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
)

// step is one operation of a hand-written history: its client, what it
// asked and was told, and its interval (call, ret; ret < 0 = ambiguous).
type step struct {
	client    int
	in        opInput
	out       opOutput
	call, ret int64
}

// acq, refused, granted, rel and ambiguous build the steps of the tests.
func acq(owner, id string) opInput {
	return opInput{kind: opAcquire, owner: owner, state: "free", dest: "busy", requestID: id}
}

func granted(res int, epoch int64) opOutput {
	return opOutput{status: http.StatusOK, res: res, epochs: []int64{epoch}}
}

var refused = opOutput{status: http.StatusNotFound}

func rel(owner string, res int) opInput {
	return opInput{kind: opRelease, owner: owner, res: res, dest: "free"}
}

var ok = opOutput{status: http.StatusOK}

var ambiguous = opOutput{ambiguous: true}

// seq numbers steps one after the other (no overlap) from a given time.
func seq(from int64, steps ...step) []step {
	for i := range steps {
		steps[i].call, steps[i].ret = from+int64(2*i), from+int64(2*i)+1
		if steps[i].out.ambiguous {
			steps[i].ret = -1
		}
	}
	return steps
}

// TestModelQueueOrder is a test of the checker: hand-written histories on a
// pool of one or two resources that jump the request_id queue must be
// found not linearizable, and the legal ones must pass.
func TestModelQueueOrder(t *testing.T) {
	// x holds both r0 and r1; A waits; x frees what the case needs.
	waitOne := seq(0,
		step{client: 0, in: acq("x", ""), out: granted(0, 1)},
		step{client: 1, in: acq("a", "A"), out: refused},
		step{client: 0, in: rel("x", 0), out: ok},
	)
	waitTwo := seq(0,
		step{client: 0, in: acq("x", ""), out: granted(0, 1)},
		step{client: 0, in: acq("x", ""), out: granted(1, 1)},
		step{client: 1, in: acq("a", "A"), out: refused},
		step{client: 3, in: acq("b", "B"), out: refused},
		step{client: 0, in: rel("x", 0), out: ok},
	)
	tests := []struct {
		name  string
		pool  int
		steps []step
		want  porcupine.CheckResult
	}{
		{name: "anonymous takes the last free resource while a request_id waits", pool: 1, want: porcupine.Illegal,
			steps: append(waitOne, seq(10, step{client: 2, in: acq("c", ""), out: granted(0, 2)})...)},
		{name: "the waiting request_id takes it", pool: 1, want: porcupine.Ok,
			steps: append(waitOne, seq(10, step{client: 1, in: acq("a", "A"), out: granted(0, 2)})...)},
		{name: "anonymous refused while its request_id waits", pool: 1, want: porcupine.Ok,
			steps: append(waitOne, seq(10, step{client: 2, in: acq("c", ""), out: refused})...)},
		{name: "request_id ranked behind takes the last free resource", pool: 2, want: porcupine.Illegal,
			steps: append(waitTwo, seq(10, step{client: 3, in: acq("b", "B"), out: granted(0, 2)})...)},
		{name: "request_id ranked behind refused, the head served", pool: 2, want: porcupine.Ok,
			steps: append(waitTwo, seq(10,
				step{client: 3, in: acq("b", "B"), out: refused},
				step{client: 1, in: acq("a", "A"), out: granted(0, 2)})...)},
		{name: "the head refused while a resource is free", pool: 1, want: porcupine.Illegal,
			steps: append(waitOne, seq(10, step{client: 1, in: acq("a", "A"), out: refused})...)},
		{name: "anonymous refused while nobody waits and a resource is free", pool: 1, want: porcupine.Illegal,
			steps: seq(0, step{client: 2, in: acq("c", ""), out: refused})},
		{name: "anonymous takes one of two free resources while one request_id waits", pool: 2, want: porcupine.Ok,
			steps: append(seq(0,
				step{client: 0, in: acq("x", ""), out: granted(0, 1)},
				step{client: 0, in: acq("x", ""), out: granted(1, 1)},
				step{client: 1, in: acq("a", "A"), out: refused},
				step{client: 0, in: rel("x", 0), out: ok},
				step{client: 0, in: rel("x", 1), out: ok}),
				seq(20, step{client: 2, in: acq("c", ""), out: granted(1, 2)})...)},
		{name: "an abandoned request_id may be passed", pool: 1, want: porcupine.Ok,
			steps: append(seq(0,
				step{client: 0, in: acq("x", ""), out: granted(0, 1)},
				step{client: 1, in: acq("a", "A"), out: ambiguous},
				step{client: 0, in: rel("x", 0), out: ok}),
				seq(10, step{client: 2, in: acq("c", ""), out: granted(0, 2)})...)},
		{name: "a refusal that overlaps the grant may come after it", pool: 1, want: porcupine.Ok,
			steps: []step{
				{client: 0, in: acq("x", ""), out: granted(0, 1), call: 0, ret: 1},
				{client: 0, in: rel("x", 0), out: ok, call: 2, ret: 3},
				{client: 1, in: acq("a", "A"), out: refused, call: 1, ret: 6},
				{client: 2, in: acq("c", ""), out: granted(0, 2), call: 4, ret: 5},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names := []string{"r0", "r1"}[:tc.pool]
			var ops []porcupine.Operation
			for _, s := range tc.steps {
				ret := s.ret
				if ret < 0 {
					ret = math.MaxInt64
				}
				ops = append(ops, porcupine.Operation{ClientId: s.client, Input: s.in, Output: s.out, Call: s.call, Return: ret})
			}
			got := porcupine.CheckOperationsTimeout(NewModel(names).Porcupine(), ops, 10*time.Second)
			assert.Equal(t, tc.want, got, "got %s, want %s", got, tc.want)
		})
	}
}

// TestModelMaintenance is a test of the checker for the maintenance
// client's operations: a Mason lease (an acquire of mason's into leased,
// behind the queue), its free (a release into the parked state), the
// consumer's /acquirebystate of the parked resource, a recycle (legal
// only on a resource still mason's), and the reaper's reset of a leased
// one.
func TestModelMaintenance(t *testing.T) {
	masonLease := opInput{kind: opAcquire, owner: "mason", state: "free", dest: "leased"}
	free := opInput{kind: opRelease, owner: "mason", res: 0, dest: "v-1"}
	recycle := opInput{kind: opRecycle, owner: "mason", res: 0, state: "leased", parked: "v-1", dest: "dirty"}
	moved := opOutput{reset: true}
	leftAlone := opOutput{}
	reap := opInput{kind: opResetOne, res: 0, state: "leased", dest: "dirty"}
	tests := []struct {
		name  string
		steps []step
		want  porcupine.CheckResult
	}{
		{name: "lease, free, consume", want: porcupine.Ok, steps: seq(0,
			step{client: 9, in: masonLease, out: granted(0, 1)},
			step{client: 9, in: free, out: ok},
			step{client: 9, in: opInput{kind: opAcquireByState, owner: "consumer", state: "v-1", dest: "busy", names: []int{0}},
				out: opOutput{status: http.StatusOK, epochs: []int64{2}}})},
		{name: "recycle of the parked resource", want: porcupine.Ok, steps: seq(0,
			step{client: 9, in: masonLease, out: granted(0, 1)},
			step{client: 9, in: free, out: ok},
			step{client: 9, in: recycle, out: moved})},
		{name: "recycle of a resource the consumer took", want: porcupine.Illegal, steps: seq(0,
			step{client: 9, in: masonLease, out: granted(0, 1)},
			step{client: 9, in: free, out: ok},
			step{client: 9, in: opInput{kind: opAcquireByState, owner: "consumer", state: "v-1", dest: "busy", names: []int{0}},
				out: opOutput{status: http.StatusOK, epochs: []int64{2}}},
			step{client: 9, in: recycle, out: moved})},
		{name: "recycle leaves its own resource alone", want: porcupine.Illegal, steps: seq(0,
			step{client: 9, in: masonLease, out: granted(0, 1)},
			step{client: 9, in: recycle, out: leftAlone})},
		{name: "the reaper resets mason's lease, the free is refused", want: porcupine.Ok, steps: seq(0,
			step{client: 9, in: masonLease, out: granted(0, 1)},
			step{client: 10, in: reap, out: opOutput{status: http.StatusOK, reset: true, prevOwner: "mason"}},
			step{client: 9, in: free, out: opOutput{status: http.StatusUnauthorized}})},
		{name: "mason's lease passes a waiting request_id", want: porcupine.Illegal, steps: seq(0,
			step{client: 0, in: acq("x", ""), out: granted(0, 1)},
			step{client: 1, in: acq("a", "A"), out: refused},
			step{client: 0, in: rel("x", 0), out: ok},
			step{client: 9, in: masonLease, out: granted(0, 2)})},
		{name: "the janitor claims a dirty resource and cleans it", want: porcupine.Ok, steps: seq(0,
			step{client: 0, in: acq("x", ""), out: granted(0, 1)},
			step{client: 0, in: opInput{kind: opRelease, owner: "x", res: 0, dest: "dirty"}, out: ok},
			step{client: 11, in: opInput{kind: opAcquire, owner: "janitor", state: "dirty", dest: "cleaning"}, out: granted(0, 2)},
			step{client: 11, in: opInput{kind: opUpdate, owner: "janitor", res: 0, state: "cleaning", hasEpoch: true, epoch: 2}, out: ok},
			step{client: 11, in: opInput{kind: opRelease, owner: "janitor", res: 0, dest: "free", hasEpoch: true, epoch: 2}, out: ok},
			step{client: 2, in: acq("c", ""), out: granted(0, 3)})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ops []porcupine.Operation
			for _, s := range tc.steps {
				ops = append(ops, porcupine.Operation{ClientId: s.client, Input: s.in, Output: s.out, Call: s.call, Return: s.ret})
			}
			got := porcupine.CheckOperationsTimeout(NewModel([]string{"r0"}).Porcupine(), ops, 10*time.Second)
			assert.Equal(t, tc.want, got, "got %s, want %s", got, tc.want)
		})
	}
}
