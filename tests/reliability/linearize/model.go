package linearize

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// MaxPool is the largest pool the model tracks (its state is a fixed-size
// array, so that states compare with ==).
const MaxPool = 8

// opKind is the kind of a modelled operation.
type opKind int

// The modelled operations. A /reset call is recorded as one opResetOne per
// resource of the pool, each with the call's interval: /reset is atomic
// per resource only (known finding 2 of issue 9), so each resource's part
// has its own linearization point.
const (
	opAcquire opKind = iota
	opAcquireByState
	opUpdate
	opRelease
	opResetOne
)

func (k opKind) String() string {
	return [...]string{"acquire", "acquirebystate", "update", "release", "reset"}[k]
}

// opInput is what a client asked. Fields not used by the kind are empty.
type opInput struct {
	kind        opKind
	owner       string
	state, dest string // acquire, acquirebystate: from/to; update: state; release: dest; reset: state/dest
	requestID   string // acquire
	names       []int  // acquirebystate: the resources, by index
	res         int    // update, release, resetOne: the resource
	epoch       int64  // update, release, when hasEpoch
	hasEpoch    bool
}

// opOutput is what the client was told.
type opOutput struct {
	// ambiguous: no answer (timeout, broken connection) or a 5xx: the call
	// may or may not have taken effect.
	ambiguous bool
	status    int
	// acquire: the resource granted and its epoch; acquirebystate: the
	// epochs granted, aligned with opInput.names.
	res    int
	epochs []int64
	// malformed: a 200 whose body does not say what it must (owner, state).
	malformed string
	// resetOne: whether the reset freed the resource, and its owner then.
	reset     bool
	prevOwner string
}

// resState is one resource in the model.
type resState struct {
	owner, state string
	epoch        int64
}

// modelState is the whole modelled service. waiting holds the request_ids
// queued per state ("state\x1fid" entries, sorted, joined by "\n").
type modelState struct {
	res     [MaxPool]resState
	waiting string
}

func (s modelState) waitingList() []string {
	if s.waiting == "" {
		return nil
	}
	return strings.Split(s.waiting, "\n")
}

func withWaiting(s modelState, entry string, present bool) modelState {
	l := s.waitingList()
	i, found := slices.BinarySearch(l, entry)
	switch {
	case present && !found:
		l = slices.Insert(l, i, entry)
	case !present && found:
		l = slices.Delete(l, i, i+1)
	}
	s.waiting = strings.Join(l, "\n")
	return s
}

// waitingIn counts the request_ids queued for state.
func (s modelState) waitingIn(state string) int {
	n := 0
	for _, e := range s.waitingList() {
		if strings.HasPrefix(e, state+"\x1f") {
			n++
		}
	}
	return n
}

// Model is the sequential specification of the Boskos API on one
// static pool of one type (names[i] is resource i), as this project
// promises it: one owner per resource, an epoch that grows by one per
// grant, owner/state/epoch checks on /update and /release, all-or-nothing
// /acquirebystate, per-resource /reset.
//
// The request_id queue is modelled only as far as today's server keeps it:
// a request_id that was refused is waiting until it is granted, and an
// acquire without request_id may be refused only while at least as many
// request_ids wait as resources are free. Queue order is NOT enforced: a
// grant to a caller ranked behind a waiting request_id (or to an
// anonymous caller) is accepted. Issue 9's first known finding is that the
// server lets callers jump the queue (the rank comes from an index read,
// the conditional write checks only the candidate); once that is fixed the
// model must only grant the rank-th free resource to a request_id at rank
// k, and refuse anonymous callers while request_ids wait.
//
// The one refusal it does check is strict on purpose: an anonymous acquire
// that lost every race for the candidates it saw (ranch's lostRoundsLimit)
// answers 404 even though, in principle, a resource could have been free at
// every instant of the call. No run has shown it yet; if one does, that is
// where to look.
type Model struct {
	names []string
	index map[string]int
}

// NewModel returns the model of the pool names (resource i is names[i],
// free and unowned at the start). It panics on more than MaxPool names.
func NewModel(names []string) *Model {
	if len(names) > MaxPool {
		panic(fmt.Sprintf("model: pool of %d > MaxPool %d", len(names), MaxPool))
	}
	m := &Model{names: names, index: map[string]int{}}
	for i, n := range names {
		m.index[n] = i
	}
	return m
}

func (m *Model) init() modelState {
	var s modelState
	for i := range m.names {
		s.res[i] = resState{state: "free"}
	}
	return s
}

// free lists the resources unowned in state.
func (m *Model) free(s modelState, state string) []int {
	var out []int
	for i := range m.names {
		if s.res[i].owner == "" && s.res[i].state == state {
			out = append(out, i)
		}
	}
	return out
}

// grant is s with resource i leased by in.
func grant(s modelState, i int, in opInput) modelState {
	s.res[i] = resState{owner: in.owner, state: in.dest, epoch: s.res[i].epoch + 1}
	return s
}

// holderStatus is the status /update or /release must answer for in.
func holderStatus(r resState, in opInput, checkState bool) int {
	switch {
	case r.owner != in.owner:
		return http.StatusUnauthorized
	case checkState && r.state != in.state:
		return http.StatusConflict
	case in.hasEpoch && r.epoch != in.epoch:
		return http.StatusConflict
	}
	return http.StatusOK
}

// step returns every state the service may be in after in answered out
// in state s; none means the answer was impossible.
func (m *Model) step(s modelState, in opInput, out opOutput) []modelState {
	if out.malformed != "" {
		return nil
	}
	switch in.kind {
	case opAcquire:
		free := m.free(s, in.state)
		entry := in.state + "\x1f" + in.requestID
		took := func(i int) modelState {
			n := grant(s, i, in)
			if in.requestID != "" {
				n = withWaiting(n, entry, false)
			}
			return n
		}
		if out.ambiguous {
			next := []modelState{s}
			if in.requestID != "" {
				next = append(next, withWaiting(s, entry, true))
			}
			for _, i := range free {
				next = append(next, took(i))
			}
			return next
		}
		switch out.status {
		case http.StatusOK:
			if !slices.Contains(free, out.res) || out.epochs[0] != s.res[out.res].epoch+1 {
				return nil
			}
			return []modelState{took(out.res)}
		case http.StatusNotFound:
			if in.requestID != "" {
				return []modelState{withWaiting(s, entry, true)}
			}
			if len(free) <= s.waitingIn(in.state) {
				return []modelState{s}
			}
		}
		return nil
	case opAcquireByState:
		all := true
		for _, i := range in.names {
			if r := s.res[i]; r.owner != "" || r.state != in.state {
				all = false
			}
		}
		took := s
		for _, i := range in.names {
			took = grant(took, i, in)
		}
		if out.ambiguous {
			if all {
				return []modelState{s, took}
			}
			return []modelState{s}
		}
		switch out.status {
		case http.StatusOK:
			if !all {
				return nil
			}
			for k, i := range in.names {
				if out.epochs[k] != took.res[i].epoch {
					return nil
				}
			}
			return []modelState{took}
		case http.StatusNotFound:
			if !all {
				return []modelState{s}
			}
		}
		return nil
	case opUpdate:
		if out.ambiguous || out.status == holderStatus(s.res[in.res], in, true) {
			return []modelState{s}
		}
		return nil
	case opRelease:
		want := holderStatus(s.res[in.res], in, false)
		released := s
		released.res[in.res] = resState{state: in.dest, epoch: s.res[in.res].epoch}
		if out.ambiguous {
			if want == http.StatusOK {
				return []modelState{s, released}
			}
			return []modelState{s}
		}
		if out.status != want {
			return nil
		}
		if want == http.StatusOK {
			return []modelState{released}
		}
		return []modelState{s}
	case opResetOne:
		r := s.res[in.res]
		eligible := r.owner != "" && r.state == in.state
		freed := s
		freed.res[in.res] = resState{state: in.dest, epoch: r.epoch}
		switch {
		case out.ambiguous && eligible:
			return []modelState{s, freed}
		case out.ambiguous:
			return []modelState{s}
		case out.reset && eligible && out.prevOwner == r.owner:
			return []modelState{freed}
		case !out.reset && !eligible:
			return []modelState{s}
		}
		return nil
	}
	return nil
}

// Porcupine returns the model as Porcupine checks it.
func (m *Model) Porcupine() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Init: func() []interface{} { return []interface{}{m.init()} },
		Step: func(state, input, output interface{}) []interface{} {
			next := m.step(state.(modelState), input.(opInput), output.(opOutput))
			out := make([]interface{}, len(next))
			for i, n := range next {
				out[i] = n
			}
			return out
		},
		DescribeOperation: func(input, output interface{}) string {
			return m.describeOp(input.(opInput), output.(opOutput))
		},
		DescribeState: func(state interface{}) string { return m.describeState(state.(modelState)) },
	}
	return nm.ToModel()
}

func (m *Model) describeOp(in opInput, out opOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s(", in.kind)
	switch in.kind {
	case opAcquire:
		fmt.Fprintf(&b, "%s→%s owner=%s", in.state, in.dest, in.owner)
		if in.requestID != "" {
			fmt.Fprintf(&b, " request_id=%s", in.requestID)
		}
	case opAcquireByState:
		var ns []string
		for _, i := range in.names {
			ns = append(ns, m.names[i])
		}
		fmt.Fprintf(&b, "%s %s→%s owner=%s", strings.Join(ns, ","), in.state, in.dest, in.owner)
	case opUpdate:
		fmt.Fprintf(&b, "%s state=%s owner=%s", m.names[in.res], in.state, in.owner)
	case opRelease:
		fmt.Fprintf(&b, "%s →%s owner=%s", m.names[in.res], in.dest, in.owner)
	case opResetOne:
		fmt.Fprintf(&b, "%s %s→%s", m.names[in.res], in.state, in.dest)
	}
	if in.hasEpoch {
		fmt.Fprintf(&b, " epoch=%d", in.epoch)
	}
	b.WriteString(") → ")
	switch {
	case out.malformed != "":
		fmt.Fprintf(&b, "malformed 200: %s", out.malformed)
	case out.ambiguous:
		fmt.Fprintf(&b, "ambiguous (status %d)", out.status)
	case in.kind == opResetOne && out.reset:
		fmt.Fprintf(&b, "freed from %s", out.prevOwner)
	case in.kind == opResetOne:
		b.WriteString("not reset")
	case in.kind == opAcquire && out.status == http.StatusOK:
		fmt.Fprintf(&b, "200 %s epoch %d", m.names[out.res], out.epochs[0])
	case in.kind == opAcquireByState && out.status == http.StatusOK:
		fmt.Fprintf(&b, "200 epochs %v", out.epochs)
	default:
		fmt.Fprintf(&b, "%d", out.status)
	}
	return b.String()
}

func (m *Model) describeState(s modelState) string {
	var parts []string
	for i, n := range m.names {
		r := s.res[i]
		owner := r.owner
		if owner == "" {
			owner = "-"
		}
		parts = append(parts, fmt.Sprintf("%s: %s/%s/e%d", n, r.state, owner, r.epoch))
	}
	if w := s.waitingList(); len(w) > 0 {
		parts = append(parts, "waiting: "+strings.ReplaceAll(strings.Join(w, " "), "\x1f", ":"))
	}
	return strings.Join(parts, ", ")
}
