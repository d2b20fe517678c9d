package asl

import (
	"fmt"
	"strconv"
	"strings"
)

// path is a parsed reference path of the supported JSONPath subset: "$"
// followed by any number of ".name", "['name']" (or "[\"name\"]") and
// "[N]" segments. The zero path is "$".
type path struct {
	raw  string
	segs []segment
}

// segment is one step of a path: a field of an object, or an index of an
// array when index >= 0.
type segment struct {
	field string
	index int
}

// rootPath is "$", the whole value.
var rootPath = path{raw: "$"}

// pathSyntax is what refusals of a path say is supported.
const pathSyntax = "supported: $, $.a.b, $['a'], $.a[0]"

// parsePath parses s as a reference path of the supported subset. Its
// error says what is not supported, without the field's name (the caller
// adds it).
func parsePath(s string) (path, error) {
	bad := func(format string, args ...any) (path, error) {
		return path{}, fmt.Errorf("path %q: %s (%s)", s, fmt.Sprintf(format, args...), pathSyntax)
	}
	switch {
	case s == "":
		return bad("empty")
	case strings.HasPrefix(s, "$$"):
		return bad("context object paths ($$) are not supported")
	case strings.HasPrefix(s, "States."):
		return bad("intrinsic functions are not supported")
	case s[0] != '$':
		return bad("must start with $")
	}
	p := path{raw: s}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			name := s[i:j]
			if name == "" {
				if j < len(s) && s[j] == '.' {
					return bad("recursive descent (..) is not supported")
				}
				return bad("empty field name after '.'")
			}
			if strings.ContainsAny(name, "*") {
				return bad("wildcards are not supported")
			}
			if strings.ContainsAny(name, "?@()]'\",:$ \t") {
				return bad("field name %q: use $['name'] for names with special characters, filters and expressions are not supported", name)
			}
			p.segs = append(p.segs, segment{field: name, index: -1})
			i = j
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return bad("unclosed '['")
			}
			inner := s[i+1 : i+end]
			i += end + 1
			switch {
			case len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0]:
				name := inner[1 : len(inner)-1]
				if name == "" || strings.ContainsAny(name, "'\"\\") {
					return bad("quoted field name %s: must be non-empty, without quotes or backslashes", inner)
				}
				p.segs = append(p.segs, segment{field: name, index: -1})
			case inner == "*":
				return bad("wildcards are not supported")
			case strings.HasPrefix(inner, "?") || strings.HasPrefix(inner, "("):
				return bad("filters and expressions are not supported")
			case strings.ContainsAny(inner, ":,"):
				return bad("slices and unions are not supported")
			default:
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 || strings.HasPrefix(inner, "+") {
					return bad("index [%s]: only non-negative integer indexes are supported", inner)
				}
				p.segs = append(p.segs, segment{index: n})
			}
		default:
			return bad("unexpected %q at offset %d", s[i], i)
		}
	}
	return p, nil
}

// String returns the path as written in the document.
func (p path) String() string {
	if p.raw == "" {
		return "$"
	}
	return p.raw
}

// isRoot reports whether p is "$".
func (p path) isRoot() bool { return len(p.segs) == 0 }

// hasIndex reports whether p has an array index segment.
func (p path) hasIndex() bool {
	for _, s := range p.segs {
		if s.index >= 0 {
			return true
		}
	}
	return false
}

// get returns the value p selects in v, and false if there is none (a
// field absent, an index out of range, a step into a value of another
// kind). A present JSON null is found (nil, true).
func (p path) get(v any) (any, bool) {
	for _, s := range p.segs {
		if s.index >= 0 {
			a, ok := v.([]any)
			if !ok || s.index >= len(a) {
				return nil, false
			}
			v = a[s.index]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[s.field]; !ok {
			return nil, false
		}
	}
	return v, true
}

// set returns root with val placed at p (a ResultPath), creating the
// objects missing on the way. It never modifies root: the objects on the
// path are copied. It fails when a step meets a value that is not an
// object (States.ResultPathMatchFailure). Paths with indexes are refused
// by Parse, so p has only field segments.
func (p path) set(root, val any) (any, error) {
	if p.isRoot() {
		return val, nil
	}
	var walk func(cur any, i int) (any, error)
	walk = func(cur any, i int) (any, error) {
		m, ok := cur.(map[string]any)
		if !ok {
			at := path{segs: p.segs[:i]}
			return nil, fmt.Errorf("cannot apply ResultPath %s: %s is %s, not an object", p, at.display(), kindOf(cur))
		}
		out := make(map[string]any, len(m)+1)
		for k, v := range m {
			out[k] = v
		}
		key := p.segs[i].field
		if i == len(p.segs)-1 {
			out[key] = val
			return out, nil
		}
		child, ok := m[key]
		if !ok {
			child = map[string]any{}
		}
		c, err := walk(child, i+1)
		if err != nil {
			return nil, err
		}
		out[key] = c
		return out, nil
	}
	return walk(root, 0)
}

// display renders a path made of segments (for messages).
func (p path) display() string {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range p.segs {
		if s.index >= 0 {
			fmt.Fprintf(&b, "[%d]", s.index)
		} else {
			b.WriteString(".")
			b.WriteString(s.field)
		}
	}
	return b.String()
}

// kindOf names the JSON kind of a decoded value, for messages (never the
// value itself: payloads carry credentials).
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}
