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
	opRecycle
)

func (k opKind) String() string {
	return [...]string{"acquire", "acquirebystate", "update", "release", "reset", "recycle"}[k]
}

// opInput is what a client asked. Fields not used by the kind are empty.
type opInput struct {
	kind        opKind
	owner       string
	state, dest string // acquire, acquirebystate: from/to; update: state; release: dest; reset: state/dest
	requestID   string // acquire
	names       []int  // acquirebystate: the resources, by index
	res         int    // update, release, resetOne, recycle: the resource
	epoch       int64  // update, release, when hasEpoch
	hasEpoch    bool
	parked      string // recycle: the state a built virtual resource leaves its physical ones in
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
	// resetOne: whether the reset freed the resource, and its owner then;
	// recycle: whether it was moved.
	reset     bool
	prevOwner string
}

// resState is one resource in the model.
type resState struct {
	owner, state string
	epoch        int64
}

// modelState is the whole modelled service. waiting is the request_id
// queue: "state\x1fid" entries in queue order (first refusal first), joined
// by "\n"; an entry that ends in "\x1f?" is abandoned (see Model).
type modelState struct {
	res     [MaxPool]resState
	waiting string
}

// abandonedMark ends the entry of a request_id whose client stopped.
const abandonedMark = "\x1f?"

func (s modelState) waitingList() []string {
	if s.waiting == "" {
		return nil
	}
	return strings.Split(s.waiting, "\n")
}

func withList(s modelState, l []string) modelState {
	s.waiting = strings.Join(l, "\n")
	return s
}

// queueView is what one acquire's caller sees of its state's queue.
type queueView struct {
	pos int // index of the caller's entry in the whole list, -1 if none
	// ahead counts the entries of the state ranked ahead of the caller
	// (every one for an anonymous or new caller); aheadLive leaves the
	// abandoned ones out.
	ahead, aheadLive int
	abandoned        bool // the caller's own entry is abandoned
}

func (s modelState) queueFor(state, id string) queueView {
	v := queueView{pos: -1}
	for i, e := range s.waitingList() {
		st, rest, _ := strings.Cut(e, "\x1f")
		if st != state {
			continue
		}
		eid, ab := strings.CutSuffix(rest, abandonedMark)
		if id != "" && eid == id {
			v.pos, v.abandoned = i, ab
			return v
		}
		v.ahead++
		if !ab {
			v.aheadLive++
		}
	}
	return v
}

// enqueued is s with id waiting in state: its entry kept where it is, or
// a new one at the tail; abandoned marks it so.
func enqueued(s modelState, state, id string, abandoned bool) modelState {
	l := s.waitingList()
	e := state + "\x1f" + id
	if abandoned {
		e += abandonedMark
	}
	if v := s.queueFor(state, id); v.pos >= 0 {
		l = slices.Clone(l)
		if abandoned {
			l[v.pos] = e
		}
		return withList(s, l)
	}
	return withList(s, append(slices.Clone(l), e))
}

// dequeued is s without id's entry in state.
func dequeued(s modelState, state, id string) modelState {
	if v := s.queueFor(state, id); v.pos >= 0 {
		l := s.waitingList()
		return withList(s, slices.Delete(slices.Clone(l), v.pos, v.pos+1))
	}
	return s
}

// Model is the sequential specification of the Boskos API on one
// static pool of one type (names[i] is resource i), as this project
// promises it: one owner per resource, an epoch that grows by one per
// grant, owner/state/epoch checks on /update and /release, all-or-nothing
// /acquirebystate, per-resource /reset.
//
// The request_id queue is enforced strictly (FIFO, per state): a
// request_id joins the tail of its state's queue at its first refusal and
// keeps its place until it is granted. A grant to a caller with k waiting
// request_ids ranked ahead of it (every waiting one, for a caller without
// request_id) is legal only while more than k resources are free: the
// request_ids ranked ahead must be served before the caller takes the last
// free resource (issue 9's first finding, fixed in core/ranch). A refusal
// is legal only while at most k resources are free. Which free resource a
// grant takes is not checked (the spread window picks at random).
//
// A request_id whose call was ambiguous belongs to a client that stops
// there: its entry may stay behind until its TTL, so it is abandoned, and
// counts leniently: it may explain a refusal, but a grant may pass it.
//
// The refusals are strict on purpose: an acquire that lost every race for
// the candidates it saw (ranch's lostRoundsLimit) answers 404 even though,
// in principle, a resource could have been free at every instant of the
// call. No run has shown it yet; if one does, that is where to look.
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
		q := s.queueFor(in.state, in.requestID)
		mayGrant := q.aheadLive < len(free)
		mayRefuse := q.ahead >= len(free)
		took := func(i int) modelState {
			n := grant(s, i, in)
			if in.requestID != "" {
				n = dequeued(n, in.state, in.requestID)
			}
			return n
		}
		if out.ambiguous {
			next := []modelState{}
			switch {
			case in.requestID != "":
				next = append(next, enqueued(s, in.state, in.requestID, true))
				if q.pos < 0 {
					next = append(next, s)
				}
			default:
				next = append(next, s)
			}
			if mayGrant {
				for _, i := range free {
					next = append(next, took(i))
				}
			}
			return next
		}
		switch out.status {
		case http.StatusOK:
			if !mayGrant || !slices.Contains(free, out.res) || out.epochs[0] != s.res[out.res].epoch+1 {
				return nil
			}
			return []modelState{took(out.res)}
		case http.StatusNotFound:
			if !mayRefuse {
				return nil
			}
			if in.requestID != "" {
				return []modelState{enqueued(s, in.state, in.requestID, false)}
			}
			return []modelState{s}
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
	case opRecycle:
		// Mason's recycle (or abort) of a virtual resource: a physical
		// resource still its own (leased by in.owner in in.state, or parked
		// unowned in in.parked) goes unowned to in.dest; any other is left
		// alone.
		r := s.res[in.res]
		eligible := (r.owner == in.owner && r.state == in.state) || (r.owner == "" && r.state == in.parked)
		moved := s
		moved.res[in.res] = resState{state: in.dest, epoch: r.epoch}
		switch {
		case out.ambiguous && eligible:
			return []modelState{s, moved}
		case out.ambiguous:
			return []modelState{s}
		case out.reset && eligible:
			return []modelState{moved}
		case !out.reset && !eligible:
			return []modelState{s}
		}
		return nil
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
	case opRecycle:
		fmt.Fprintf(&b, "%s %s of %s or parked in %s →%s", m.names[in.res], in.state, in.owner, in.parked, in.dest)
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
	case in.kind == opRecycle && out.reset:
		b.WriteString("moved")
	case in.kind == opRecycle:
		b.WriteString("left alone")
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
		parts = append(parts, "waiting: "+strings.ReplaceAll(strings.ReplaceAll(strings.Join(w, " "), abandonedMark, "(abandoned)"), "\x1f", ":"))
	}
	return strings.Join(parts, ", ")
}
