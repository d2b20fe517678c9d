package faultstore

import (
	"context"
	"errors"
	"sync"

	"github.com/boskos-serverless/boskos/core/store"
)

var _ store.Store = (*Store)(nil)

// Method names, as they appear in Call.Method and Counts.
const (
	Get      = "Get"
	BatchGet = "BatchGet"
	Create   = "Create"
	Update   = "Update"
	Delete   = "Delete"
	Transact = "Transact"
	List     = "List"
	Query    = "Query"
)

// Call describes one call to the store.
type Call struct {
	Method string
	// Keys are the keys the call touches: one for Get, Create, Update and
	// Delete, the operations' keys in order for Transact, the requested keys
	// for BatchGet, none for List and Query.
	Keys []string
}

// IsWrite reports whether the call changes the store.
func (c Call) IsWrite() bool {
	switch c.Method {
	case Create, Update, Delete, Transact:
		return true
	}
	return false
}

// Rule decides the fate of a call: nil lets it through, an error is returned
// instead of calling the wrapped store. For Transact, return a
// *store.TxError to say which operation failed (Conflict does).
type Rule func(Call) error

// Store is the wrapper. Use New.
type Store struct {
	inner store.Store
	rules []Rule

	mu       sync.Mutex
	counts   map[string]int
	injected int
}

// New wraps s; rules are asked in order and the first error wins.
func New(s store.Store, rules ...Rule) *Store {
	return &Store{inner: s, rules: rules, counts: map[string]int{}}
}

// Counts returns how many calls of each method reached the wrapper so far
// (injected failures included).
func (s *Store) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// ResetCounts zeroes the call counts.
func (s *Store) ResetCounts() {
	s.mu.Lock()
	s.counts = map[string]int{}
	s.mu.Unlock()
}

// Injected returns how many failures the rules injected so far.
func (s *Store) Injected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.injected
}

// Inner returns the wrapped store.
func (s *Store) Inner() store.Store { return s.inner }

func (s *Store) check(c Call) error {
	s.mu.Lock()
	s.counts[c.Method]++
	s.mu.Unlock()
	for _, r := range s.rules {
		if err := r(c); err != nil {
			s.mu.Lock()
			s.injected++
			s.mu.Unlock()
			return err
		}
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.Item, error) {
	if err := s.check(Call{Method: Get, Keys: []string{key}}); err != nil {
		return store.Item{}, err
	}
	return s.inner.Get(ctx, key)
}

// BatchGet implements store.Store.
func (s *Store) BatchGet(ctx context.Context, keys []string) ([]store.Item, error) {
	if err := s.check(Call{Method: BatchGet, Keys: append([]string(nil), keys...)}); err != nil {
		return nil, err
	}
	return s.inner.BatchGet(ctx, keys)
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, it store.Item) (store.Item, error) {
	if err := s.check(Call{Method: Create, Keys: []string{it.Key}}); err != nil {
		return store.Item{}, err
	}
	return s.inner.Create(ctx, it)
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, u store.Update) (store.Item, error) {
	if err := s.check(Call{Method: Update, Keys: []string{u.Key}}); err != nil {
		return store.Item{}, err
	}
	return s.inner.Update(ctx, u)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string, conds ...store.Cond) error {
	if err := s.check(Call{Method: Delete, Keys: []string{key}}); err != nil {
		return err
	}
	return s.inner.Delete(ctx, key, conds...)
}

// Transact implements store.Store.
func (s *Store) Transact(ctx context.Context, ops []store.Op) error {
	keys := make([]string, len(ops))
	for i, o := range ops {
		keys[i] = o.Key()
	}
	if err := s.check(Call{Method: Transact, Keys: keys}); err != nil {
		return err
	}
	return s.inner.Transact(ctx, ops)
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix, cursor string, limit int) (store.Page, error) {
	if err := s.check(Call{Method: List}); err != nil {
		return store.Page{}, err
	}
	return s.inner.List(ctx, prefix, cursor, limit)
}

// Query implements store.Store.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if err := s.check(Call{Method: Query}); err != nil {
		return store.Page{}, err
	}
	return s.inner.Query(ctx, q)
}

// Close implements store.Store; it closes the wrapped store.
func (s *Store) Close() error { return s.inner.Close() }

// Conflict returns the error a backend gives for a failed condition on the
// call's first key: a *store.ConditionError without the current item, inside
// a *store.TxError for Transact. errors.Is(err, store.ErrConflict) holds.
func Conflict(c Call) error {
	ce := &store.ConditionError{}
	if c.Method == Transact {
		return &store.TxError{Index: 0, Err: ce}
	}
	return ce
}

// ErrInjected is the arbitrary failure that Fail rules return by default.
var ErrInjected = errors.New("faultstore: injected failure")

// FirstWriteConflict fails, with Conflict, the first write that touches each
// key (a Transact counts as a write of all its keys, and its TxError names
// the first operation on a fresh key), like upstream's tests that fail the
// first update of every object. The second try goes through.
func FirstWriteConflict() Rule {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(c Call) error {
		if !c.IsWrite() {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		first := -1
		for i, k := range c.Keys {
			if !seen[k] {
				seen[k] = true
				if first < 0 {
					first = i
				}
			}
		}
		switch {
		case first < 0:
			return nil
		case c.Method == Transact:
			return &store.TxError{Index: first, Err: &store.ConditionError{}}
		}
		return Conflict(c)
	}
}

// Fail returns err (ErrInjected when nil) for the calls match selects, at
// most times times (every time when times <= 0).
func Fail(match func(Call) bool, err error, times int) Rule {
	if err == nil {
		err = ErrInjected
	}
	var mu sync.Mutex
	n := 0
	return func(c Call) error {
		if !match(c) {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if times > 0 && n >= times {
			return nil
		}
		n++
		return err
	}
}

// Method matches the calls of one method.
func Method(name string) func(Call) bool {
	return func(c Call) bool { return c.Method == name }
}

// Writes matches every write.
func Writes(c Call) bool { return c.IsWrite() }
