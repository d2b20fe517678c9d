package asl

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// maxSeconds is the largest number of seconds the States Language allows
// in TimeoutSeconds, IntervalSeconds, MaxAttempts and Wait Seconds.
const maxSeconds = 99999999

// maxDelaySeconds bounds a retrier's MaxDelaySeconds (Step Functions: below
// 31622401, one year).
const maxDelaySeconds = 31622400

// parser collects the problems of one document.
type parser struct {
	problems []string
}

func (p *parser) add(where, msg string) {
	p.problems = append(p.problems, where+": "+msg)
}

// object is one JSON object of the document being read: each field taken
// is marked, and done reports the fields nobody took.
type object struct {
	p     *parser
	where string
	m     map[string]json.RawMessage
	taken map[string]bool
}

// object decodes raw as a JSON object, or reports that it is not one.
func (p *parser) object(where string, raw json.RawMessage) (*object, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		p.add(where, "must be a JSON object")
		return nil, false
	}
	return &object{p: p, where: where, m: m, taken: map[string]bool{}}, true
}

func (o *object) fieldProblem(key, format string, args ...any) {
	o.p.add(fmt.Sprintf("%s: field %q", o.where, key), fmt.Sprintf(format, args...))
}

// has reports whether the field is present (without taking it).
func (o *object) has(key string) bool {
	_, ok := o.m[key]
	return ok
}

// raw takes a field.
func (o *object) raw(key string) (json.RawMessage, bool) {
	r, ok := o.m[key]
	if ok {
		o.taken[key] = true
	}
	return r, ok
}

// isNull reports whether the field is present and null.
func (o *object) isNull(key string) bool {
	r, ok := o.m[key]
	return ok && strings.TrimSpace(string(r)) == "null"
}

// value takes a field as a decoded JSON value.
func (o *object) value(key string) (any, bool) {
	r, ok := o.raw(key)
	if !ok {
		return nil, false
	}
	v, err := decodeJSON(r)
	if err != nil {
		o.fieldProblem(key, "%v", err)
		return nil, false
	}
	return v, true
}

// str takes a string field; a missing required one is a problem.
func (o *object) str(key string, required bool) (string, bool) {
	v, ok := o.value(key)
	if !ok {
		if required && !o.has(key) {
			o.p.add(o.where, fmt.Sprintf("field %q is required", key))
		}
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		o.fieldProblem(key, "must be a string")
	}
	return s, ok
}

// boolean takes a boolean field.
func (o *object) boolean(key string) (bool, bool) {
	v, ok := o.value(key)
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		o.fieldProblem(key, "must be a boolean")
	}
	return b, ok
}

// rat takes a number field.
func (o *object) rat(key string) (*big.Rat, bool) {
	v, ok := o.value(key)
	if !ok {
		return nil, false
	}
	r, ok := number(v)
	if !ok {
		o.fieldProblem(key, "must be a number")
	}
	return r, ok
}

// integer takes an integer field in [lo, hi].
func (o *object) integer(key string, lo, hi int64) (int64, bool) {
	r, ok := o.rat(key)
	if !ok {
		return 0, false
	}
	if !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() < lo || r.Num().Int64() > hi {
		o.fieldProblem(key, "must be an integer from %d to %d", lo, hi)
		return 0, false
	}
	return r.Num().Int64(), true
}

// optPath is a path field of a state: absent (then "$"), null, or a path.
type optPath struct {
	path
	present bool // the field is present
	null    bool // the field is JSON null
}

// pathField takes a path field; JSON null is allowed if nullable.
func (o *object) pathField(key string, nullable bool) optPath {
	if !o.has(key) {
		return optPath{path: rootPath}
	}
	if o.isNull(key) {
		o.raw(key)
		if !nullable {
			o.fieldProblem(key, "must be a path, not null")
		}
		return optPath{path: rootPath, present: true, null: true}
	}
	s, ok := o.str(key, false)
	if !ok {
		return optPath{path: rootPath}
	}
	p, err := parsePath(s)
	if err != nil {
		o.fieldProblem(key, "%v", err)
		return optPath{path: rootPath}
	}
	return optPath{path: p, present: true}
}

// refusal is a field the runner knows and refuses, with the reason.
type refusal map[string]string

// done reports the fields nobody took: refused ones with their reason,
// others as unknown. Comment is allowed everywhere.
func (o *object) done(refused refusal) {
	for _, k := range sortedKeys(o.m) {
		if o.taken[k] || k == "Comment" {
			continue
		}
		if why, ok := refused[k]; ok {
			o.fieldProblem(k, "not supported by this runner (%s)", why)
			continue
		}
		if why, ok := refusedEverywhere[k]; ok {
			o.fieldProblem(k, "not supported by this runner (%s)", why)
			continue
		}
		o.fieldProblem(k, "unknown field")
	}
}

// refusedEverywhere are fields of the States Language that the runner
// refuses wherever they appear.
var refusedEverywhere = refusal{
	"Assign":    "workflow variables",
	"Output":    "JSONata",
	"Arguments": "JSONata",
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// stateWhere names a state in problems.
func stateWhere(name string) string { return fmt.Sprintf("state %q", name) }
