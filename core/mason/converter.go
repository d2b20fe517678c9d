package mason

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// TypeToResources holds the physical resources leased for a virtual
// resource, by type (upstream's common.TypeToResources).
type TypeToResources map[string][]boskos.Resource

// Masonable constructs a virtual resource (upstream's mason.Masonable): from
// the virtual resource and the physical resources leased for it, it returns
// the userdata to store on the virtual resource (what its consumers need:
// a kubeconfig, an endpoint). The key boskos.LeasedResources is the
// workflow's and must not be returned. Construct may be called again for
// the same resource after a crash or a retry: it must be idempotent (or at
// least safe to repeat).
type Masonable interface {
	Construct(ctx context.Context, res boskos.Resource, leased TypeToResources) (boskos.UserData, error)
}

// ConfigConverter builds the Masonable of a type from its config.content
// (upstream's mason.ConfigConverter).
type ConfigConverter func(content string) (Masonable, error)

// ErrUnknownConverter is wrapped by Registry.Converter for a config.type
// that names no registered converter.
var ErrUnknownConverter = errors.New("no converter of that name")

// Registry maps config.type names to converters. It is safe for concurrent
// use.
type Registry struct {
	mu sync.RWMutex
	m  map[string]ConfigConverter
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]ConfigConverter{}} }

// Register adds the converter name (upstream's RegisterConfigConverter).
// An empty name, a nil converter or a name already registered is an error.
func (r *Registry) Register(name string, fn ConfigConverter) error {
	if name == "" {
		return errors.New("mason: register: empty converter name")
	}
	if fn == nil {
		return fmt.Errorf("mason: register %s: nil converter", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		return fmt.Errorf("mason: register %s: already registered", name)
	}
	r.m[name] = fn
	return nil
}

// Has reports whether name is registered.
func (r *Registry) Has(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.m[name]
	return ok
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Converter returns the Masonable for a type's config. A config.type that
// is not registered wraps ErrUnknownConverter; a content the converter
// refuses is its error.
func (r *Registry) Converter(cfg boskos.ConfigType) (Masonable, error) {
	r.mu.RLock()
	fn, ok := r.m[cfg.Type]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("converter %q: %w (registered: %v)", cfg.Type, ErrUnknownConverter, r.Names())
	}
	m, err := fn(cfg.Content)
	if err != nil {
		return nil, fmt.Errorf("converter %s: %w", cfg.Type, err)
	}
	return m, nil
}
