// Package memstore is an in-memory store.Store for tests and for the local
// server's --in_memory mode. One mutex serialises writes, so transactions
// are trivially atomic; the index is kept in B-trees beside the items.
package memstore

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/google/btree"

	"github.com/boskos-serverless/boskos/core/store"
)

const defaultLimit = 100

var _ store.Store = (*Store)(nil)

type indexEntry struct {
	sort, key string
}

func lessEntry(a, b indexEntry) bool {
	if a.sort != b.sort {
		return a.sort < b.sort
	}
	return a.key < b.key
}

// Store is the in-memory backend. The zero value is not usable: call New.
type Store struct {
	mu      sync.RWMutex
	items   map[string]store.Item
	keys    *btree.BTreeG[string]
	index   map[string]*btree.BTreeG[indexEntry]
	onWrite store.WriteHook
}

// Options tune a Store. The zero value is a plain store.
type Options struct {
	// OnWrite, if set, is called under the write lock for every item a
	// write changes; the items it returns are created with the write (see
	// store.WriteHook).
	OnWrite store.WriteHook
}

// New returns an empty store.
func New() *Store { return NewWithOptions(Options{}) }

// NewWithOptions returns an empty store tuned by o.
func NewWithOptions(o Options) *Store {
	return &Store{
		items:   map[string]store.Item{},
		keys:    btree.NewG(32, func(a, b string) bool { return a < b }),
		index:   map[string]*btree.BTreeG[indexEntry]{},
		onWrite: o.OnWrite,
	}
}

// hook calls OnWrite for a change of one item (old or next nil when
// absent) and creates the items it returns that are valid and new. The
// caller holds the write lock.
func (s *Store) hook(old, next *store.Item) {
	if s.onWrite == nil {
		return
	}
	for _, h := range s.onWrite(old, next) {
		if _, _, err := store.SplitKey(h.Key); err != nil {
			continue
		}
		if _, ok := s.items[h.Key]; ok {
			continue
		}
		n := normalize(h)
		if store.CheckSize(n) != nil {
			continue
		}
		s.put(n)
	}
}

// stored returns a pointer to a copy of the item under key, nil when
// there is none.
func (s *Store) stored(key string) *store.Item {
	if s.onWrite == nil {
		return nil
	}
	it, ok := s.items[key]
	if !ok {
		return nil
	}
	return &it
}

func indexOf(it store.Item) (part string, e indexEntry, ok bool) {
	p, ok1 := it.Str[store.IndexPartition]
	s, ok2 := it.Str[store.IndexSort]
	if !ok1 || !ok2 {
		return "", indexEntry{}, false
	}
	return p, indexEntry{sort: s, key: it.Key}, true
}

// put replaces the stored item (old may be absent) and keeps the index.
func (s *Store) put(it store.Item) {
	if old, ok := s.items[it.Key]; ok {
		s.unindex(old)
	} else {
		s.keys.ReplaceOrInsert(it.Key)
	}
	s.items[it.Key] = it
	if p, e, ok := indexOf(it); ok {
		t := s.index[p]
		if t == nil {
			t = btree.NewG(32, lessEntry)
			s.index[p] = t
		}
		t.ReplaceOrInsert(e)
	}
}

func (s *Store) unindex(it store.Item) {
	if p, e, ok := indexOf(it); ok {
		if t := s.index[p]; t != nil {
			t.Delete(e)
			if t.Len() == 0 {
				delete(s.index, p)
			}
		}
	}
}

func (s *Store) remove(key string) {
	if old, ok := s.items[key]; ok {
		s.unindex(old)
		delete(s.items, key)
		s.keys.Delete(key)
	}
}

func checkKey(op, key string) error {
	if _, _, err := store.SplitKey(key); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(_ context.Context, key string) (store.Item, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	it, ok := s.items[key]
	if !ok {
		return store.Item{}, fmt.Errorf("memstore: get %s: %w", key, store.ErrNotFound)
	}
	return it.Clone(), nil
}

// BatchGet implements store.Store.
func (s *Store) BatchGet(_ context.Context, keys []string) ([]store.Item, error) {
	if len(keys) > store.MaxTransactItems {
		return nil, fmt.Errorf("memstore: batch get of %d keys exceeds %d", len(keys), store.MaxTransactItems)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]store.Item, 0, len(keys))
	seen := map[string]bool{}
	for _, k := range keys {
		if it, ok := s.items[k]; ok && !seen[k] {
			seen[k] = true
			out = append(out, it.Clone())
		}
	}
	return out, nil
}

// Create implements store.Store.
func (s *Store) Create(_ context.Context, it store.Item) (store.Item, error) {
	if err := checkKey("create", it.Key); err != nil {
		return store.Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkCreate(it.Key); err != nil {
		return store.Item{}, err
	}
	n := normalize(it)
	if err := store.CheckSize(n); err != nil {
		return store.Item{}, fmt.Errorf("memstore: create %s: %w", it.Key, err)
	}
	s.put(n)
	s.hook(nil, &n)
	return n.Clone(), nil
}

func (s *Store) checkCreate(key string) error {
	if _, ok := s.items[key]; ok {
		return fmt.Errorf("memstore: create %s: %w", key, store.ErrExists)
	}
	return nil
}

// normalize returns a copy of it at version 1 with "" strings dropped.
func normalize(it store.Item) store.Item {
	n := it.Clone()
	n.Version = 1
	for k, v := range n.Str {
		if v == "" {
			delete(n.Str, k)
		}
	}
	return n
}

// Update implements store.Store.
func (s *Store) Update(_ context.Context, u store.Update) (store.Item, error) {
	if err := checkKey("update", u.Key); err != nil {
		return store.Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := s.checkUpdate(u)
	if err != nil {
		return store.Item{}, err
	}
	old := s.stored(u.Key)
	s.put(next)
	s.hook(old, &next)
	return next.Clone(), nil
}

func (s *Store) checkUpdate(u store.Update) (store.Item, error) {
	cur, ok := s.items[u.Key]
	if !ok {
		if !u.Upsert {
			return store.Item{}, fmt.Errorf("memstore: update %s: %w", u.Key, store.ErrNotFound)
		}
		cur = store.Item{Key: u.Key}
	}
	if !store.CondsHold(cur, u.Cond) {
		return store.Item{}, fmt.Errorf("memstore: update %s: %w", u.Key, condErr(cur, ok))
	}
	next := u.Apply(cur)
	if err := store.CheckSize(next); err != nil {
		return store.Item{}, fmt.Errorf("memstore: update %s: %w", u.Key, err)
	}
	return next, nil
}

func condErr(cur store.Item, exists bool) error {
	return &store.ConditionError{Current: cur.Clone(), HasCurrent: exists}
}

// Delete implements store.Store.
func (s *Store) Delete(_ context.Context, key string, conds ...store.Cond) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkExisting("delete", key, conds); err != nil {
		return err
	}
	old := s.stored(key)
	s.remove(key)
	if old != nil {
		s.hook(old, nil)
	}
	return nil
}

// has reports whether key exists.
func (s *Store) has(key string) bool {
	_, ok := s.items[key]
	return ok
}

func (s *Store) checkExisting(op, key string, conds []store.Cond) error {
	cur, ok := s.items[key]
	if !ok {
		return fmt.Errorf("memstore: %s %s: %w", op, key, store.ErrNotFound)
	}
	if !store.CondsHold(cur, conds) {
		return fmt.Errorf("memstore: %s %s: %w", op, key, condErr(cur, true))
	}
	return nil
}

// Transact implements store.Store.
func (s *Store) Transact(_ context.Context, ops []store.Op) error {
	if err := store.ValidateOps(ops); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	puts := make([]store.Item, len(ops))
	for i, o := range ops {
		var err error
		switch {
		case o.Create != nil:
			if err = s.checkCreate(o.Create.Key); err == nil {
				puts[i] = normalize(*o.Create)
				if err = store.CheckSize(puts[i]); err != nil {
					err = fmt.Errorf("memstore: create %s: %w", o.Create.Key, err)
				}
			}
		case o.Update != nil:
			puts[i], err = s.checkUpdate(*o.Update)
		case o.Delete != nil:
			err = s.checkExisting("delete", o.Delete.Key, o.Delete.Cond)
		case o.Check != nil && o.Check.AllowMissing && !s.has(o.Check.Key):
			if !store.CondsHold(store.Item{Key: o.Check.Key}, o.Check.Cond) {
				err = fmt.Errorf("memstore: check %s: %w", o.Check.Key, condErr(store.Item{}, false))
			}
		case o.Check != nil:
			err = s.checkExisting("check", o.Check.Key, o.Check.Cond)
		}
		if err != nil {
			return &store.TxError{Index: i, Err: err}
		}
	}
	olds := make([]*store.Item, len(ops))
	for i, o := range ops {
		if o.Check == nil {
			olds[i] = s.stored(o.Key())
		}
	}
	for i, o := range ops {
		switch {
		case o.Create != nil, o.Update != nil:
			s.put(puts[i])
		case o.Delete != nil:
			s.remove(o.Delete.Key)
		}
	}
	for i, o := range ops {
		switch {
		case o.Create != nil, o.Update != nil:
			s.hook(olds[i], &puts[i])
		case o.Delete != nil:
			if olds[i] != nil {
				s.hook(olds[i], nil)
			}
		}
	}
	return nil
}

// List implements store.Store. The cursor is the last key returned.
func (s *Store) List(_ context.Context, prefix, cursor string, limit int) (store.Page, error) {
	if ns, _, _ := strings.Cut(prefix, "/"); ns == "" || !strings.Contains(prefix, "/") {
		return store.Page{}, fmt.Errorf("memstore: list: prefix %q must start with <namespace>/", prefix)
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var page store.Page
	start := prefix
	if cursor > start {
		start = cursor
	}
	s.keys.AscendGreaterOrEqual(start, func(k string) bool {
		if !strings.HasPrefix(k, prefix) {
			return false
		}
		if k == cursor {
			return true
		}
		if len(page.Items) == limit {
			page.Next = page.Items[len(page.Items)-1].Key
			return false
		}
		page.Items = append(page.Items, s.items[k].Clone())
		return true
	})
	return page, nil
}

// Query implements store.Store. The cursor is "<sort>\x00<key>" of the last
// entry returned.
func (s *Store) Query(_ context.Context, q store.Query) (store.Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var page store.Page
	t := s.index[q.Partition]
	if t == nil {
		return page, nil
	}
	from := indexEntry{sort: q.From}
	var after *indexEntry
	if q.Cursor != "" {
		sort, key, ok := strings.Cut(q.Cursor, "\x00")
		if !ok {
			return store.Page{}, fmt.Errorf("memstore: query %s: invalid cursor", q.Partition)
		}
		after = &indexEntry{sort: sort, key: key}
		if lessEntry(from, *after) {
			from = *after
		}
	}
	t.AscendGreaterOrEqual(from, func(e indexEntry) bool {
		if q.To != "" && e.sort > q.To {
			return false
		}
		if after != nil && !lessEntry(*after, e) {
			return true
		}
		if len(page.Items) == limit {
			last := page.Items[len(page.Items)-1]
			page.Next = last.Str[store.IndexSort] + "\x00" + last.Key
			return false
		}
		page.Items = append(page.Items, s.items[e.key].Clone())
		return true
	})
	return page, nil
}

// Close implements store.Store; it does nothing.
func (s *Store) Close() error { return nil }
