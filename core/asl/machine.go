package asl

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Machine is a parsed and checked state machine. It is immutable: one
// Machine serves any number of concurrent Runs.
type Machine struct {
	startAt string
	timeout time.Duration // the machine's TimeoutSeconds; 0: none
	states  map[string]*state
}

// The state types the runner supports.
const (
	typeTask    = "Task"
	typePass    = "Pass"
	typeChoice  = "Choice"
	typeWait    = "Wait"
	typeSucceed = "Succeed"
	typeFail    = "Fail"
)

// state is one parsed state. Which fields are used depends on typ.
type state struct {
	name string
	typ  string
	next string
	end  bool

	inputPath, outputPath, resultPath optPath
	parameters, resultSelector        *template
	result                            any
	hasResult                         bool

	// Task
	timeout  time.Duration // per attempt; 0: none
	retriers []retrier
	catchers []catcher

	// Choice
	choices     []*rule
	defaultNext string

	// Wait
	seconds       int64
	hasSeconds    bool
	secondsPath   *path
	timestamp     time.Time
	hasTimestamp  bool
	timestampPath *path

	// Fail
	errName, cause       string
	errorPath, causePath *path
}

// retrier is one element of a Task's Retry.
type retrier struct {
	equals      []string
	interval    int64 // seconds
	maxAttempts int64
	backoff     float64
	maxDelay    int64 // seconds; 0: no cap
}

// delay is the wait before retry n (n >= 1) of this retrier:
// IntervalSeconds × BackoffRate^(n-1), at most MaxDelaySeconds, in whole
// milliseconds.
func (r retrier) delay(n int64) time.Duration {
	secs := float64(r.interval)
	for i := int64(1); i < n && secs < maxSeconds; i++ {
		secs *= r.backoff
	}
	if r.maxDelay > 0 && secs > float64(r.maxDelay) {
		secs = float64(r.maxDelay)
	}
	if secs > maxSeconds {
		secs = maxSeconds
	}
	return time.Duration(secs*1000+0.5) * time.Millisecond
}

// catcher is one element of a Task's Catch.
type catcher struct {
	equals     []string
	resultPath optPath
	next       string
}

// transition is a Next-like field of a state, for the checks.
type transition struct {
	field, target string
}

func (s *state) transitions() []transition {
	var ts []transition
	if s.next != "" {
		ts = append(ts, transition{"Next", s.next})
	}
	for i, r := range s.choices {
		if r != nil && r.next != "" {
			ts = append(ts, transition{fmt.Sprintf("Choices[%d].Next", i), r.next})
		}
	}
	if s.defaultNext != "" {
		ts = append(ts, transition{"Default", s.defaultNext})
	}
	for i, c := range s.catchers {
		if c.next != "" {
			ts = append(ts, transition{fmt.Sprintf("Catch[%d].Next", i), c.next})
		}
	}
	return ts
}

// Parse reads an Amazon States Language document and checks it: StartAt
// and every Next, Default and Catch Next name a state, every state is
// reachable from StartAt, each state has the fields of its type (a type or
// a field the runner does not support is refused, naming the state and the
// field, rather than ignored), paths are of the supported subset, and
// States.ALL is alone in its ErrorEquals and in the last retrier or
// catcher. All problems are reported together, in a *ParseError.
func Parse(doc []byte) (*Machine, error) {
	p := &parser{}
	m := p.machine(doc)
	if len(p.problems) > 0 {
		return nil, &ParseError{Problems: p.problems}
	}
	return m, nil
}

func (p *parser) machine(doc []byte) *Machine {
	const where = "state machine"
	top, ok := p.object(where, doc)
	if !ok {
		return nil
	}
	m := &Machine{states: map[string]*state{}}
	m.startAt, _ = top.str("StartAt", true)
	if top.has("TimeoutSeconds") {
		if n, ok := top.integer("TimeoutSeconds", 1, maxSeconds); ok {
			m.timeout = time.Duration(n) * time.Second
		}
	}
	if v, ok := top.str("Version", false); ok && v != "1.0" {
		top.fieldProblem("Version", `must be "1.0"`)
	}
	p.queryLanguage(top)
	var raws map[string]json.RawMessage
	if raw, ok := top.raw("States"); !ok {
		p.add(where, `field "States" is required`)
	} else if err := json.Unmarshal(raw, &raws); err != nil || len(raws) == 0 {
		top.fieldProblem("States", "must be a non-empty object of states")
	}
	top.done(nil)

	names := sortedKeys(raws)
	for _, name := range names {
		if n := utf8.RuneCountInString(name); n == 0 || n > 80 {
			p.add(stateWhere(name), "a state name has 1 to 80 characters")
		}
		m.states[name] = p.state(name, raws[name])
	}
	if len(m.states) == 0 {
		return m
	}
	_, startOK := m.states[m.startAt]
	if !startOK && m.startAt != "" {
		top.fieldProblem("StartAt", "no state named %q", m.startAt)
	}
	for _, name := range names {
		for _, t := range m.states[name].transitions() {
			if _, ok := m.states[t.target]; !ok {
				p.add(fmt.Sprintf("%s: field %q", stateWhere(name), t.field), fmt.Sprintf("no state named %q", t.target))
			}
		}
	}
	reached := map[string]bool{}
	queue := []string{m.startAt}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		s, ok := m.states[name]
		if !ok || reached[name] {
			continue
		}
		reached[name] = true
		for _, t := range s.transitions() {
			queue = append(queue, t.target)
		}
	}
	for _, name := range names {
		if startOK && !reached[name] {
			p.add(stateWhere(name), "not reachable from StartAt")
		}
	}
	return m
}

// queryLanguage checks a QueryLanguage field: JSONPath (the default) only.
func (p *parser) queryLanguage(o *object) {
	if q, ok := o.str("QueryLanguage", false); ok {
		switch q {
		case "JSONPath":
		case "JSONata":
			o.fieldProblem("QueryLanguage", "JSONata is not supported by this runner (JSONPath only)")
		default:
			o.fieldProblem("QueryLanguage", "must be JSONPath")
		}
	}
}

// state reads one state. It returns a state even when it has problems, so
// that transitions to it are not reported as well.
func (p *parser) state(name string, raw json.RawMessage) *state {
	where := stateWhere(name)
	st := &state{name: name, inputPath: optPath{path: rootPath}, outputPath: optPath{path: rootPath},
		resultPath: optPath{path: rootPath}}
	o, ok := p.object(where, raw)
	if !ok {
		return st
	}
	typ, ok := o.str("Type", true)
	if !ok {
		return st
	}
	st.typ = typ
	var refused refusal
	switch typ {
	case typeTask:
		p.transition(o, st)
		p.io(o, st, true, true)
		p.task(o, st)
		refused = refusal{
			"HeartbeatSeconds":     "heartbeats",
			"HeartbeatSecondsPath": "heartbeats",
			"TimeoutSecondsPath":   "use TimeoutSeconds",
			"Credentials":          "cross-account tasks",
		}
	case typePass:
		p.transition(o, st)
		p.io(o, st, true, false)
		st.result, st.hasResult = o.value("Result")
	case typeChoice:
		p.noTransition(o, "a Choice state has no Next or End (each rule has its Next)")
		p.io(o, st, false, false)
		p.choice(o, st)
	case typeWait:
		p.transition(o, st)
		p.io(o, st, false, false)
		p.wait(o, st)
	case typeSucceed:
		p.noTransition(o, "a Succeed state ends the execution: no Next or End")
		p.io(o, st, false, false)
	case typeFail:
		p.noTransition(o, "a Fail state ends the execution: no Next or End")
		p.fail(o, st)
	case "Map", "Parallel":
		o.fieldProblem("Type", "state type %s is not supported by this runner (supported: Task, Choice, Wait, Pass, Succeed, Fail)", typ)
		return st
	default:
		o.fieldProblem("Type", "unknown state type %q (supported: Task, Choice, Wait, Pass, Succeed, Fail)", typ)
		return st
	}
	p.queryLanguage(o)
	o.done(refused)
	return st
}

// transition reads Next or End (exactly one) of a Task, Pass or Wait.
func (p *parser) transition(o *object, st *state) {
	next, hasNext := o.str("Next", false)
	end, hasEnd := o.boolean("End")
	switch {
	case hasEnd && !end:
		o.fieldProblem("End", "must be true (or absent, with Next)")
	case hasNext && hasEnd:
		p.add(o.where, `has both "Next" and "End"`)
	case !o.has("Next") && !o.has("End"):
		p.add(o.where, `needs "Next" or "End": true`)
	}
	st.next, st.end = next, end && !hasNext
}

func (p *parser) noTransition(o *object, why string) {
	for _, k := range []string{"Next", "End"} {
		if o.has(k) {
			o.raw(k)
			o.fieldProblem(k, "%s", why)
		}
	}
}

// io reads InputPath and OutputPath, and for the states that have them
// ResultPath and Parameters (result) and ResultSelector (selector).
func (p *parser) io(o *object, st *state, result, selector bool) {
	st.inputPath = o.pathField("InputPath", true)
	st.outputPath = o.pathField("OutputPath", true)
	if !result {
		return
	}
	st.resultPath = p.resultPath(o)
	st.parameters = p.templateField(o, "Parameters")
	if selector {
		st.resultSelector = p.templateField(o, "ResultSelector")
	}
}

func (p *parser) resultPath(o *object) optPath {
	rp := o.pathField("ResultPath", true)
	if rp.hasIndex() {
		o.fieldProblem("ResultPath", "array indexes are not supported in a ResultPath")
	}
	return rp
}

func (p *parser) templateField(o *object, key string) *template {
	v, ok := o.value(key)
	if !ok {
		return nil
	}
	return compileTemplate(v, key, func(at, msg string) {
		p.add(fmt.Sprintf("%s: field %q", o.where, at), msg)
	})
}

func (p *parser) task(o *object, st *state) {
	if _, ok := o.raw("Resource"); !ok {
		p.add(o.where, `field "Resource" is required`)
	}
	if o.has("TimeoutSeconds") {
		if n, ok := o.integer("TimeoutSeconds", 1, maxSeconds); ok {
			st.timeout = time.Duration(n) * time.Second
		}
	}
	st.retriers = p.retriers(o)
	st.catchers = p.catchers(o)
}

// list takes a field that must be a non-empty array.
func (p *parser) list(o *object, key string) []json.RawMessage {
	raw, ok := o.raw(key)
	if !ok {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || len(items) == 0 {
		o.fieldProblem(key, "must be a non-empty array")
		return nil
	}
	return items
}

func (p *parser) retriers(o *object) []retrier {
	items := p.list(o, "Retry")
	var rs []retrier
	for i, item := range items {
		ro, ok := p.object(fmt.Sprintf("%s: Retry[%d]", o.where, i), item)
		if !ok {
			continue
		}
		r := retrier{interval: 1, maxAttempts: 3, backoff: 2}
		r.equals = p.errorEquals(ro, i == len(items)-1, "retrier")
		if ro.has("IntervalSeconds") {
			r.interval, _ = ro.integer("IntervalSeconds", 1, maxSeconds)
		}
		if ro.has("MaxAttempts") {
			r.maxAttempts, _ = ro.integer("MaxAttempts", 0, maxSeconds)
		}
		if b, ok := ro.rat("BackoffRate"); ok {
			if b.Cmp(big.NewRat(1, 1)) < 0 {
				ro.fieldProblem("BackoffRate", "must be at least 1.0")
			} else {
				r.backoff, _ = b.Float64()
			}
		}
		if ro.has("MaxDelaySeconds") {
			r.maxDelay, _ = ro.integer("MaxDelaySeconds", 1, maxDelaySeconds)
		}
		if j, ok := ro.str("JitterStrategy", false); ok {
			switch j {
			case "NONE":
			case "FULL":
				ro.fieldProblem("JitterStrategy", "FULL is not supported by this runner (delays must be exact): use NONE")
			default:
				ro.fieldProblem("JitterStrategy", "must be NONE or FULL")
			}
		}
		ro.done(nil)
		rs = append(rs, r)
	}
	return rs
}

func (p *parser) catchers(o *object) []catcher {
	items := p.list(o, "Catch")
	var cs []catcher
	for i, item := range items {
		co, ok := p.object(fmt.Sprintf("%s: Catch[%d]", o.where, i), item)
		if !ok {
			continue
		}
		c := catcher{equals: p.errorEquals(co, i == len(items)-1, "catcher")}
		c.next, _ = co.str("Next", true)
		c.resultPath = p.resultPath(co)
		co.done(nil)
		cs = append(cs, c)
	}
	return cs
}

// errorEquals reads the ErrorEquals of a retrier or catcher: non-empty
// strings, States.ALL alone and only in the last one.
func (p *parser) errorEquals(o *object, last bool, what string) []string {
	raw, ok := o.raw("ErrorEquals")
	if !ok {
		p.add(o.where, `field "ErrorEquals" is required`)
		return nil
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil || len(names) == 0 {
		o.fieldProblem("ErrorEquals", "must be a non-empty array of error names")
		return nil
	}
	for _, n := range names {
		switch {
		case n == "":
			o.fieldProblem("ErrorEquals", "an error name is empty")
		case n == ErrorAll && len(names) > 1:
			o.fieldProblem("ErrorEquals", "States.ALL must be the only error name in its ErrorEquals")
		case n == ErrorAll && !last:
			o.fieldProblem("ErrorEquals", "States.ALL must be in the last %s", what)
		}
	}
	return names
}

func (p *parser) choice(o *object, st *state) {
	items := p.list(o, "Choices")
	if items == nil && !o.has("Choices") {
		p.add(o.where, `field "Choices" is required`)
	}
	for i, item := range items {
		st.choices = append(st.choices, p.parseRule(fmt.Sprintf("%s: Choices[%d]", o.where, i), item, true))
	}
	st.defaultNext, _ = o.str("Default", false)
}

func (p *parser) wait(o *object, st *state) {
	var given []string
	for _, k := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
		if o.has(k) {
			given = append(given, k)
		}
	}
	if len(given) != 1 {
		p.add(o.where, fmt.Sprintf("needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath (has %d)", len(given)))
	}
	if o.has("Seconds") {
		st.seconds, st.hasSeconds = o.integer("Seconds", 0, maxSeconds)
	}
	if o.has("SecondsPath") {
		sp := o.pathField("SecondsPath", false)
		st.secondsPath = &sp.path
	}
	if s, ok := o.str("Timestamp", false); ok {
		t, err := parseTimestamp(s)
		if err != nil {
			o.fieldProblem("Timestamp", "%v", err)
		}
		st.timestamp, st.hasTimestamp = t, err == nil
	}
	if o.has("TimestampPath") {
		tp := o.pathField("TimestampPath", false)
		st.timestampPath = &tp.path
	}
}

// parseTimestamp reads an RFC 3339 timestamp (2016-03-14T01:59:00Z, an
// offset instead of Z, optional fractional seconds).
func parseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp like 2016-03-14T01:59:00Z", s)
	}
	return t, nil
}

func (p *parser) fail(o *object, st *state) {
	for _, pair := range [][2]string{{"Error", "ErrorPath"}, {"Cause", "CausePath"}} {
		if o.has(pair[0]) && o.has(pair[1]) {
			p.add(o.where, fmt.Sprintf("has both %q and %q", pair[0], pair[1]))
		}
	}
	st.errName, _ = o.str("Error", false)
	st.cause, _ = o.str("Cause", false)
	if o.has("ErrorPath") {
		ep := o.pathField("ErrorPath", false)
		st.errorPath = &ep.path
	}
	if o.has("CausePath") {
		cp := o.pathField("CausePath", false)
		st.causePath = &cp.path
	}
}

// TaskStates returns the names of the Task states, sorted.
func (m *Machine) TaskStates() []string {
	var names []string
	for name, s := range m.states {
		if s.typ == typeTask {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Validate checks that tasks has a non-nil TaskFunc for every Task state
// of the document and none for a name that is not a Task state; its error
// names all the missing and all the unused ones.
func (m *Machine) Validate(tasks map[string]TaskFunc) error {
	var missing, unused []string
	for _, name := range m.TaskStates() {
		if tasks[name] == nil {
			missing = append(missing, name)
		}
	}
	for _, name := range sortedKeys(tasks) {
		if s, ok := m.states[name]; !ok || s.typ != typeTask {
			unused = append(unused, name)
		}
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("asl: no TaskFunc for the Task state(s) %s", quoteList(missing)))
	}
	if len(unused) > 0 {
		errs = append(errs, fmt.Errorf("asl: TaskFunc(s) %s match no Task state of the document", quoteList(unused)))
	}
	return errors.Join(errs...)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
