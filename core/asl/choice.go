package asl

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// rule is one Choice rule: a comparison of the value at variable, or a
// Boolean combination of rules. Top-level rules have a next state.
type rule struct {
	next string

	and, or []*rule
	not     *rule

	variable path
	op       string // the operator as written, e.g. "NumericLessThanPath"
	kind     opKind
	rel      relation
	byPath   bool     // the operand is the value at operand path
	operand  path     // for the ...Path operators
	str      string   // String operand
	num      *big.Rat // Numeric operand
	boolean  bool     // Boolean operand, and the expected result of the type tests
	test     typeTest // for the type tests
}

type opKind int

const (
	kindString opKind = iota + 1
	kindNumeric
	kindBoolean
	kindTest
)

type relation int

const (
	relEq relation = iota + 1
	relLt
	relLe
	relGt
	relGe
)

type typeTest int

const (
	testPresent typeTest = iota + 1
	testNull
	testString
	testNumeric
	testBoolean
)

// operator describes one comparison operator.
type operator struct {
	kind opKind
	rel  relation
	test typeTest
}

// operators are the comparison operators the runner supports (each also
// with the suffix "Path" except the type tests).
var operators = func() map[string]operator {
	ops := map[string]operator{
		"IsPresent": {kind: kindTest, test: testPresent},
		"IsNull":    {kind: kindTest, test: testNull},
		"IsString":  {kind: kindTest, test: testString},
		"IsNumeric": {kind: kindTest, test: testNumeric},
		"IsBoolean": {kind: kindTest, test: testBoolean},
	}
	rels := map[string]relation{"Equals": relEq, "LessThan": relLt, "LessThanEquals": relLe,
		"GreaterThan": relGt, "GreaterThanEquals": relGe}
	for prefix, kind := range map[string]opKind{"String": kindString, "Numeric": kindNumeric} {
		for suffix, rel := range rels {
			ops[prefix+suffix] = operator{kind: kind, rel: rel}
		}
	}
	ops["BooleanEquals"] = operator{kind: kindBoolean, rel: relEq}
	return ops
}()

// refusedOperators are operators of the States Language the runner does
// not implement.
var refusedOperators = []string{"StringMatches", "IsTimestamp", "TimestampEquals", "TimestampLessThan",
	"TimestampLessThanEquals", "TimestampGreaterThan", "TimestampGreaterThanEquals"}

// lookupOperator finds a supported operator (with or without the Path
// suffix).
func lookupOperator(name string) (operator, bool, bool) {
	if op, ok := operators[name]; ok {
		return op, false, true
	}
	if base, ok := strings.CutSuffix(name, "Path"); ok {
		if op, ok := operators[base]; ok && op.kind != kindTest {
			return op, true, true
		}
	}
	return operator{}, false, false
}

func isRefusedOperator(name string) bool {
	base := strings.TrimSuffix(name, "Path")
	for _, r := range refusedOperators {
		if name == r || base == r {
			return true
		}
	}
	return false
}

// parseRule reads a Choice rule at where; top-level rules need Next,
// nested ones must not have it.
func (p *parser) parseRule(where string, raw []byte, top bool) *rule {
	o, ok := p.object(where, raw)
	if !ok {
		return nil
	}
	r := &rule{}
	if top {
		r.next, _ = o.str("Next", true)
	} else if o.has("Next") {
		o.raw("Next")
		o.fieldProblem("Next", "a nested rule (inside And, Or or Not) has no Next")
	}
	var combinators []string
	for _, c := range []string{"And", "Or", "Not"} {
		if o.has(c) {
			combinators = append(combinators, c)
		}
	}
	var ops []string
	refused := false
	for _, k := range sortedKeys(o.m) {
		if _, _, ok := lookupOperator(k); ok {
			ops = append(ops, k)
		} else if isRefusedOperator(k) {
			o.raw(k)
			o.fieldProblem(k, "comparison operator not supported by this runner")
			refused = true
		}
	}
	if len(combinators)+len(ops) != 1 {
		// Take the fields this problem is about, so they are not reported
		// as unknown as well.
		for _, k := range append(append([]string{"Variable"}, combinators...), ops...) {
			o.raw(k)
		}
	}
	switch {
	case len(combinators)+len(ops) == 0:
		if !refused {
			p.add(where, "no comparison operator (nor And, Or, Not)")
		}
	case len(combinators)+len(ops) > 1:
		p.add(where, fmt.Sprintf("more than one operator: %s", strings.Join(append(combinators, ops...), ", ")))
	case len(combinators) == 1:
		if o.has("Variable") {
			o.raw("Variable")
			o.fieldProblem("Variable", "And, Or and Not rules have no Variable")
		}
		c := combinators[0]
		raw, _ := o.raw(c)
		if c == "Not" {
			r.not = p.parseRule(where+".Not", raw, false)
			break
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil || len(items) == 0 {
			o.fieldProblem(c, "must be a non-empty array of rules")
			break
		}
		subs := make([]*rule, 0, len(items))
		for i, item := range items {
			subs = append(subs, p.parseRule(fmt.Sprintf("%s.%s[%d]", where, c, i), item, false))
		}
		if c == "And" {
			r.and = subs
		} else {
			r.or = subs
		}
	default:
		name := ops[0]
		op, byPath, _ := lookupOperator(name)
		r.op, r.kind, r.rel, r.test, r.byPath = name, op.kind, op.rel, op.test, byPath
		v := o.pathField("Variable", false)
		if !v.present && !o.has("Variable") {
			p.add(where, fmt.Sprintf("field %q is required with %s", "Variable", name))
		}
		r.variable = v.path
		switch {
		case byPath:
			r.operand = o.pathField(name, false).path
		case op.kind == kindString:
			r.str, _ = o.str(name, false)
		case op.kind == kindNumeric:
			r.num, _ = o.rat(name)
		default: // Boolean, type tests
			r.boolean, _ = o.boolean(name)
		}
	}
	o.done(refusal{"Assign": "workflow variables"})
	return r
}

// eval evaluates the rule over input. A missing Variable (or operand
// path) is a States.Runtime error, except for IsPresent. A value of
// another type than the operator's makes the comparison false. And and Or
// stop at the first rule that decides.
func (r *rule) eval(input any) (bool, *stateError) {
	switch {
	case r.and != nil:
		for _, s := range r.and {
			ok, err := s.eval(input)
			if err != nil {
				return false, err
			}
			if !ok {
				return false, nil
			}
		}
		return true, nil
	case r.or != nil:
		for _, s := range r.or {
			ok, err := s.eval(input)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(input)
		if err != nil {
			return false, err
		}
		return !ok, nil
	}
	v, found := r.variable.get(input)
	if r.kind == kindTest && r.test == testPresent {
		return found == r.boolean, nil
	}
	if !found {
		return false, runtimeErrorf("the Variable %s of a %s rule selects nothing in the input", r.variable, r.op)
	}
	if r.kind == kindTest {
		var is bool
		switch r.test {
		case testNull:
			is = v == nil
		case testString:
			_, is = v.(string)
		case testNumeric:
			_, is = number(v)
		case testBoolean:
			_, is = v.(bool)
		}
		return is == r.boolean, nil
	}
	var operand any
	switch {
	case r.byPath:
		var ok bool
		if operand, ok = r.operand.get(input); !ok {
			return false, runtimeErrorf("the path %s of a %s rule selects nothing in the input", r.operand, r.op)
		}
	case r.kind == kindString:
		operand = r.str
	case r.kind == kindNumeric:
		operand = r.num
	default:
		operand = r.boolean
	}
	var cmp int
	switch r.kind {
	case kindString:
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		cmp = strings.Compare(a, b)
	case kindNumeric:
		a, ok1 := number(v)
		b, ok2 := operand.(*big.Rat)
		if !ok2 {
			b, ok2 = number(operand)
		}
		if !ok1 || !ok2 {
			return false, nil
		}
		cmp = a.Cmp(b)
	case kindBoolean:
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b, nil
	}
	switch r.rel {
	case relEq:
		return cmp == 0, nil
	case relLt:
		return cmp < 0, nil
	case relLe:
		return cmp <= 0, nil
	case relGt:
		return cmp > 0, nil
	default:
		return cmp >= 0, nil
	}
}
