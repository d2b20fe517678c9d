package asl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// decodeJSON decodes one JSON value, numbers as json.Number (so integers
// of any size pass through a state unchanged). Trailing data is an error.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// encodeJSON encodes a decoded value (without HTML escaping, so strings
// come out as they went in).
func encodeJSON(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(b.Bytes(), "\n")), nil
}

// number returns v as an exact rational if it is a JSON number.
func number(v any) (*big.Rat, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(string(n))
	return r, ok
}

// template is a compiled payload template (Parameters, ResultSelector): a
// JSON value whose object fields named "key.$" take the value of a path
// over the template's input, as "key". Objects and arrays are templates
// all the way down.
type template struct {
	literal any         // a leaf without paths, used as is (never modified)
	fields  []tmplField // an object
	items   []*template // an array
	isObj   bool
	isArr   bool
}

type tmplField struct {
	key  string    // the output key ("a" for "a.$")
	src  string    // the key as written ("a.$"), for messages
	path *path     // for "a.$" fields
	val  *template // for the others
}

// compileTemplate compiles a decoded payload template, reporting problems
// through add (with the location inside the template).
func compileTemplate(v any, where string, add func(where, msg string)) *template {
	switch v := v.(type) {
	case map[string]any:
		t := &template{isObj: true}
		seen := map[string]string{}
		for _, k := range sortedKeys(v) {
			f := tmplField{key: k, src: k}
			at := where + "." + k
			if strings.HasSuffix(k, ".$") {
				f.key = strings.TrimSuffix(k, ".$")
				s, ok := v[k].(string)
				if !ok {
					add(at, "a field ending in .$ must be a path string")
					continue
				}
				p, err := parsePath(s)
				if err != nil {
					add(at, err.Error())
					continue
				}
				f.path = &p
			} else {
				f.val = compileTemplate(v[k], at, add)
			}
			if other, dup := seen[f.key]; dup {
				add(at, fmt.Sprintf("both %q and %q give the field %q", other, k, f.key))
				continue
			}
			seen[f.key] = k
			t.fields = append(t.fields, f)
		}
		return t
	case []any:
		t := &template{isArr: true}
		for i, item := range v {
			t.items = append(t.items, compileTemplate(item, fmt.Sprintf("%s[%d]", where, i), add))
		}
		return t
	default:
		return &template{literal: v}
	}
}

// eval builds the template's value over input. A path that selects
// nothing is a States.Runtime error naming the field and the path.
func (t *template) eval(input any) (any, error) {
	switch {
	case t.isObj:
		out := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			if f.path != nil {
				v, ok := f.path.get(input)
				if !ok {
					return nil, fmt.Errorf("the path %s of the field %q selects nothing in the input", f.path, f.src)
				}
				out[f.key] = v
				continue
			}
			v, err := f.val.eval(input)
			if err != nil {
				return nil, err
			}
			out[f.key] = v
		}
		return out, nil
	case t.isArr:
		out := make([]any, len(t.items))
		for i, item := range t.items {
			v, err := item.eval(input)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	default:
		return t.literal, nil
	}
}
