// The built-in converters (Command, Webhook, and Lambda in package
// lambdaconv) share one protocol, defined here: they send the JSON of a
// Request and read back an answer with DecodeAnswer.
//
// The request:
//
//	{"resource": <the virtual resource, boskos.Resource's wire JSON>,
//	 "leased":   {"<type>": [<resource>, ...], ...},
//	 "content":  "<the type's config.content>"}
//
// The answer is a JSON object whose values are all strings: the userdata
// of the virtual resource. Anything else is an error wrapping
// ErrBadAnswer, which names what is wrong (a key, a JSON kind, a size) and
// never a value: values carry credentials.

package mason

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// Names of the built-in converters, as a type's config.type names them.
const (
	// ConverterCommand is the Command converter's name.
	ConverterCommand = "Command"
	// ConverterWebhook is the Webhook converter's name.
	ConverterWebhook = "Webhook"
	// ConverterLambda is the Lambda converter's name (core/mason/lambdaconv,
	// which links the AWS SDK's Lambda client).
	ConverterLambda = "Lambda"
)

// MaxAnswerBytes bounds a built-in converter's answer: room for
// boskos.MaxUserDataBytes of userdata with JSON's escapes.
const MaxAnswerBytes = 4 * boskos.MaxUserDataBytes

// ErrBadAnswer is wrapped by the error of an answer that is not a JSON
// object of strings a virtual resource can carry.
var ErrBadAnswer = errors.New("bad converter answer")

// Request is what the built-in converters send.
type Request struct {
	// Resource is the virtual resource being constructed.
	Resource boskos.Resource `json:"resource"`
	// Leased holds the physical resources leased for it, by type.
	Leased TypeToResources `json:"leased"`
	// Content is the type's config.content.
	Content string `json:"content"`
}

// EncodeRequest returns the JSON of the Request of res, leased and
// content. A nil leased is written {} and a nil list [] (the shape never
// has null).
func EncodeRequest(res boskos.Resource, leased TypeToResources, content string) ([]byte, error) {
	l := make(TypeToResources, len(leased))
	for t, rs := range leased {
		if rs == nil {
			rs = []boskos.Resource{}
		}
		l[t] = rs
	}
	b, err := json.Marshal(Request{Resource: res, Leased: l, Content: content})
	if err != nil {
		return nil, fmt.Errorf("encode the converter request: %w", err)
	}
	return b, nil
}

// DecodeAnswer reads a converter's answer: a JSON object (white space
// around it is fine) whose values are all strings, at most MaxAnswerBytes
// long. An empty string value is kept (merged into userdata by upstream's
// rule it deletes the key). Its errors wrap ErrBadAnswer and say, in this
// order: an empty or non-JSON answer, a JSON value that is not an object
// (naming its kind), a value that is not a string (naming the first such
// key in sorted order, and how many more), an empty key, a key over
// boskos.MaxUserDataKeyBytes, a key boskos.LeasedResources (Mason's own),
// and userdata whose boskos.UserData.Size is over boskos.MaxUserDataBytes.
func DecodeAnswer(b []byte) (boskos.UserData, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadAnswer, fmt.Sprintf(format, args...))
	}
	if len(b) > MaxAnswerBytes {
		return nil, bad("%d bytes, over the limit of %d", len(b), MaxAnswerBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, bad("empty, want a JSON object of strings")
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, bad("not JSON (%v, at byte %d), want a JSON object of strings", se, se.Offset)
		}
		return nil, bad("not JSON (%v), want a JSON object of strings", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, bad("%s, want a JSON object of strings", jsonKind(v))
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ud := make(boskos.UserData, len(obj))
	var notString []string
	for _, k := range keys {
		s, ok := obj[k].(string)
		if !ok {
			notString = append(notString, k)
			continue
		}
		ud[k] = s
	}
	if n := len(notString); n > 0 {
		k := notString[0]
		more := ""
		if n > 1 {
			more = fmt.Sprintf(" (and %d more)", n-1)
		}
		return nil, bad("the value of %q is %s, want a string%s", k, jsonKind(obj[k]), more)
	}
	for _, k := range keys {
		switch {
		case k == "":
			return nil, bad("an empty key")
		case len(k) > boskos.MaxUserDataKeyBytes:
			return nil, bad("a key of %d bytes, over the limit of %d", len(k), boskos.MaxUserDataKeyBytes)
		case k == boskos.LeasedResources:
			return nil, bad("it sets %q, which is Mason's (the names of the leased resources)", k)
		}
	}
	if n := ud.Size(); n > boskos.MaxUserDataBytes {
		return nil, bad("userdata of %d bytes, over the limit of %d", n, boskos.MaxUserDataBytes)
	}
	return ud, nil
}

// jsonKind names the kind of a decoded JSON value, with its article.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// ConverterOptions tune the built-in converters Register and NewDefaultRegistry
// make.
type ConverterOptions struct {
	// Logger, if set, receives at debug level each line a Command
	// converter writes to stderr, with the virtual resource's type and
	// name. Its stdout (the userdata) is never logged.
	Logger *slog.Logger
	// Client sends the Webhook converters' requests (default: one that
	// follows no redirect; the construction's context bounds each one).
	Client *http.Client
	// Header is added to every Webhook request (an Authorization header,
	// say).
	Header http.Header
}

// builtin is one converter Register adds.
type builtin struct {
	name string
	fn   ConfigConverter
}

// builtins are the SDK-free built-in converters over o.
func builtins(o ConverterOptions) []builtin {
	return []builtin{
		{ConverterCommand, func(content string) (Masonable, error) { return NewCommand(content, o) }},
		{ConverterWebhook, func(content string) (Masonable, error) { return NewWebhook(content, o) }},
	}
}

// Register adds the SDK-free built-in converters, "Command" (NewCommand)
// and "Webhook" (NewWebhook), made with o, to r. A name r has already is
// an error (both are tried; the errors are joined). The "Lambda" converter
// is package lambdaconv's Register, so that only programs that invoke
// Lambda functions link the AWS SDK.
func Register(r *Registry, o ConverterOptions) error {
	var errs []error
	for _, b := range builtins(o) {
		if err := r.Register(b.name, b.fn); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// NewDefaultRegistry returns a new registry holding the SDK-free built-in
// converters, "Command" and "Webhook", made with o (Register on a new
// registry, which cannot fail). There is no package-level default
// registry: each server builds its own, so tests and servers in one
// process do not share state.
func NewDefaultRegistry(o ConverterOptions) *Registry {
	r := NewRegistry()
	for _, b := range builtins(o) {
		r.m[b.name] = b.fn
	}
	return r
}
