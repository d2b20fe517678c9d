package boltstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/boskos-serverless/boskos/core/store"
)

var _ store.Store = (*Store)(nil)

// Defaults of Options.
const (
	DefaultOpenTimeout   = time.Second
	DefaultMaxBatchDelay = 500 * time.Microsecond
	defaultLimit         = 100
	formatVersion        = "1"
)

// Bucket names, and the key of the format marker in the meta bucket.
var (
	bucketItems = []byte("items")
	bucketIndex = []byte("index")
	bucketMeta  = []byte("meta")
	keyFormat   = []byte("format")
)

// ErrLocked is returned (wrapped) by Open when another process, or another
// Store in this one, holds the file for longer than Options.OpenTimeout.
var ErrLocked = errors.New("database file is in use by another process")

// Options configure Open. The zero value is fine for production use.
type Options struct {
	// OpenTimeout bounds the wait for the file lock; <= 0 means
	// DefaultOpenTimeout.
	OpenTimeout time.Duration
	// NoSync skips fsync on commit. Faster, but a crash may lose or corrupt
	// the file: for tests only.
	NoSync bool
	// MaxBatchDelay is how long a write waits for companions to share its
	// transaction when other writes are in flight; <= 0 means
	// DefaultMaxBatchDelay.
	MaxBatchDelay time.Duration
	// OnWrite, if set, is called inside the transaction of every write for
	// each item it changes; the items it returns are created in the same
	// transaction (see store.WriteHook).
	OnWrite store.WriteHook
}

// Store is the bbolt backend. It is safe for concurrent use. Create it with
// Open and release it with Close.
type Store struct {
	db       *bolt.DB
	path     string
	inflight atomic.Int64
	onWrite  store.WriteHook
}

// Open opens (creating if needed) the bbolt file at path. It fails with
// ErrLocked when the file stays locked for Options.OpenTimeout, and when the
// file was written by an incompatible version of this package.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.OpenTimeout
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: timeout,
		NoSync:  opts.NoSync,
		// The free page list is rebuilt on open instead of being written on
		// every commit, and kept as a map: commits no longer grow with the
		// size of the file (as etcd runs bbolt).
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("boltstore: open %s: gave up after %s: %w", path, timeout, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	db.MaxBatchDelay = opts.MaxBatchDelay
	if db.MaxBatchDelay <= 0 {
		db.MaxBatchDelay = DefaultMaxBatchDelay
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch f := meta.Get(keyFormat); {
		case f == nil:
			if err := meta.Put(keyFormat, []byte(formatVersion)); err != nil {
				return err
			}
		case string(f) != formatVersion:
			return fmt.Errorf("file format %q, want %q", f, formatVersion)
		}
		for _, name := range [][]byte{bucketItems, bucketIndex} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return &Store{db: db, path: path, onWrite: opts.OnWrite}, nil
}

// hook calls OnWrite for a change of one item (old or next nil when
// absent) and creates, in tx, the items it returns that are valid and
// new.
func (s *Store) hook(tx *bolt.Tx, old, next *store.Item) error {
	if s.onWrite == nil {
		return nil
	}
	items := tx.Bucket(bucketItems)
	for _, h := range s.onWrite(old, next) {
		if _, _, err := store.SplitKey(h.Key); err != nil {
			continue
		}
		if items.Get([]byte(h.Key)) != nil {
			continue
		}
		n := normalize(h)
		if store.CheckSize(n) != nil {
			continue
		}
		if err := put(tx, store.Item{}, false, n); err != nil {
			return err
		}
	}
	return nil
}

// ptr returns &it when ok, else nil.
func ptr(it store.Item, ok bool) *store.Item {
	if !ok {
		return nil
	}
	return &it
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close releases the file lock. Calls after Close fail.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close %s: %w", s.path, err)
	}
	return nil
}

// write runs fn in a read-write transaction. A lone writer commits at once;
// concurrent writers share transactions (and fsyncs) through db.Batch, so fn
// may run more than once and must reset what it records on each run.
func (s *Store) write(fn func(tx *bolt.Tx) error) error {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	if n == 1 {
		return s.db.Update(fn)
	}
	return s.db.Batch(fn)
}

// record is the stored encoding of an item (its key is the bucket key).
type record struct {
	V int64                        `json:"v"`
	S map[string]string            `json:"s,omitempty"`
	N map[string]int64             `json:"n,omitempty"`
	M map[string]map[string]string `json:"m,omitempty"`
}

func encode(it store.Item) ([]byte, error) {
	return json.Marshal(record{V: it.Version, S: it.Str, N: it.Num, M: it.Map})
}

func decode(key string, data []byte) (store.Item, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return store.Item{}, fmt.Errorf("corrupt item %s: %w", key, err)
	}
	it := store.Item{Key: key, Version: r.V, Str: r.S, Num: r.N, Map: r.M}
	if it.Str == nil {
		it.Str = map[string]string{}
	}
	if it.Num == nil {
		it.Num = map[string]int64{}
	}
	if it.Map == nil {
		it.Map = map[string]map[string]string{}
	}
	return it, nil
}

// get reads key in tx; ok is false when it is missing.
func get(tx *bolt.Tx, key string) (it store.Item, ok bool, err error) {
	data := tx.Bucket(bucketItems).Get([]byte(key))
	if data == nil {
		return store.Item{}, false, nil
	}
	it, err = decode(key, data)
	return it, err == nil, err
}

// appendEsc appends s escaped (0x00 -> 0x00 0xFF) and, when term, the
// terminator 0x00 0x01, which sorts below every escaped byte.
func appendEsc(b []byte, s string, term bool) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			b = append(b, 0, 0xFF)
		} else {
			b = append(b, s[i])
		}
	}
	if term {
		b = append(b, 0, 1)
	}
	return b
}

// nextComponent decodes one escaped, terminated component of b.
func nextComponent(b []byte) (comp string, rest []byte, ok bool) {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			out = append(out, b[i])
			continue
		}
		if i+1 >= len(b) {
			return "", nil, false
		}
		switch b[i+1] {
		case 0xFF:
			out = append(out, 0)
			i++
		case 1:
			return string(out), b[i+2:], true
		default:
			return "", nil, false
		}
	}
	return "", nil, false
}

// indexKey returns the index entry of it, if it is indexed.
func indexKey(it store.Item) ([]byte, bool) {
	p, ok1 := it.Str[store.IndexPartition]
	v, ok2 := it.Str[store.IndexSort]
	if !ok1 || !ok2 || p == "" || v == "" {
		return nil, false
	}
	b := appendEsc(nil, p, true)
	b = appendEsc(b, v, true)
	return appendEsc(b, it.Key, true), true
}

// put stores next, replacing old (when hadOld), and keeps the index.
func put(tx *bolt.Tx, old store.Item, hadOld bool, next store.Item) error {
	data, err := encode(next)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketItems).Put([]byte(next.Key), data); err != nil {
		return err
	}
	ix := tx.Bucket(bucketIndex)
	newEntry, newOK := indexKey(next)
	if hadOld {
		if oldEntry, ok := indexKey(old); ok && !(newOK && bytes.Equal(oldEntry, newEntry)) {
			if err := ix.Delete(oldEntry); err != nil {
				return err
			}
		}
	}
	if newOK {
		return ix.Put(newEntry, []byte{})
	}
	return nil
}

// remove deletes old and its index entry.
func remove(tx *bolt.Tx, old store.Item) error {
	if err := tx.Bucket(bucketItems).Delete([]byte(old.Key)); err != nil {
		return err
	}
	if entry, ok := indexKey(old); ok {
		return tx.Bucket(bucketIndex).Delete(entry)
	}
	return nil
}

// normalize returns it as Create stores it: version 1, no "" strings,
// non-nil attribute maps (as Get returns them).
func normalize(it store.Item) store.Item {
	n := it.Clone()
	n.Version = 1
	for k, v := range n.Str {
		if v == "" {
			delete(n.Str, k)
		}
	}
	if n.Str == nil {
		n.Str = map[string]string{}
	}
	if n.Num == nil {
		n.Num = map[string]int64{}
	}
	if n.Map == nil {
		n.Map = map[string]map[string]string{}
	}
	return n
}

func condErr(cur store.Item, exists bool) error {
	return &store.ConditionError{Current: cur.Clone(), HasCurrent: exists}
}

func checkKey(op, key string) error {
	if _, _, err := store.SplitKey(key); err != nil {
		return fmt.Errorf("boltstore: %s: %w", op, err)
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.Item, error) {
	if err := ctx.Err(); err != nil {
		return store.Item{}, fmt.Errorf("boltstore: get %s: %w", key, err)
	}
	var it store.Item
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		it, ok, err = get(tx, key)
		return err
	})
	switch {
	case err != nil:
		return store.Item{}, fmt.Errorf("boltstore: get %s: %w", key, err)
	case !ok:
		return store.Item{}, fmt.Errorf("boltstore: get %s: %w", key, store.ErrNotFound)
	}
	return it, nil
}

// BatchGet implements store.Store.
func (s *Store) BatchGet(ctx context.Context, keys []string) ([]store.Item, error) {
	if len(keys) > store.MaxTransactItems {
		return nil, fmt.Errorf("boltstore: batch get of %d keys exceeds %d", len(keys), store.MaxTransactItems)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("boltstore: batch get: %w", err)
	}
	out := make([]store.Item, 0, len(keys))
	err := s.db.View(func(tx *bolt.Tx) error {
		seen := make(map[string]bool, len(keys))
		for _, k := range keys {
			if seen[k] {
				continue
			}
			seen[k] = true
			it, ok, err := get(tx, k)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, it)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: batch get: %w", err)
	}
	return out, nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, it store.Item) (store.Item, error) {
	if err := checkKey("create", it.Key); err != nil {
		return store.Item{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Item{}, fmt.Errorf("boltstore: create %s: %w", it.Key, err)
	}
	n := normalize(it)
	if err := store.CheckSize(n); err != nil {
		return store.Item{}, fmt.Errorf("boltstore: create %s: %w", it.Key, err)
	}
	var exists bool
	err := s.write(func(tx *bolt.Tx) error {
		exists = tx.Bucket(bucketItems).Get([]byte(n.Key)) != nil
		if exists {
			return nil
		}
		if err := put(tx, store.Item{}, false, n); err != nil {
			return err
		}
		return s.hook(tx, nil, &n)
	})
	switch {
	case err != nil:
		return store.Item{}, fmt.Errorf("boltstore: create %s: %w", it.Key, err)
	case exists:
		return store.Item{}, fmt.Errorf("boltstore: create %s: %w", it.Key, store.ErrExists)
	}
	return n, nil
}

// planUpdate checks u against the stored item and returns the new one and
// the item it replaces. opErr is the client-facing failure, if any.
func planUpdate(tx *bolt.Tx, u store.Update) (next, cur store.Item, existed bool, opErr, err error) {
	cur, existed, err = get(tx, u.Key)
	if err != nil {
		return
	}
	if !existed {
		if !u.Upsert {
			opErr = store.ErrNotFound
			return
		}
		cur = store.Item{Key: u.Key}
	}
	if !store.CondsHold(cur, u.Cond) {
		opErr = condErr(cur, existed)
		return
	}
	next = u.Apply(cur)
	opErr = store.CheckSize(next)
	return
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, u store.Update) (store.Item, error) {
	if err := checkKey("update", u.Key); err != nil {
		return store.Item{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Item{}, fmt.Errorf("boltstore: update %s: %w", u.Key, err)
	}
	var next store.Item
	var opErr error
	err := s.write(func(tx *bolt.Tx) error {
		var cur store.Item
		var existed bool
		var err error
		next, cur, existed, opErr, err = planUpdate(tx, u)
		if err != nil || opErr != nil {
			return err
		}
		if err := put(tx, cur, existed, next); err != nil {
			return err
		}
		return s.hook(tx, ptr(cur, existed), &next)
	})
	if err == nil {
		err = opErr
	}
	if err != nil {
		return store.Item{}, fmt.Errorf("boltstore: update %s: %w", u.Key, err)
	}
	return next, nil
}

// checkExisting reads key and checks conds; opErr is the client-facing
// failure, if any.
func checkExisting(tx *bolt.Tx, key string, conds []store.Cond) (cur store.Item, opErr, err error) {
	cur, ok, err := get(tx, key)
	switch {
	case err != nil:
		return store.Item{}, nil, err
	case !ok:
		return store.Item{}, store.ErrNotFound, nil
	case !store.CondsHold(cur, conds):
		return cur, condErr(cur, true), nil
	}
	return cur, nil, nil
}

// checkOp evaluates a transaction's Check; opErr is the client-facing
// failure, if any.
func checkOp(tx *bolt.Tx, c store.Check) (opErr, err error) {
	if c.AllowMissing && tx.Bucket(bucketItems).Get([]byte(c.Key)) == nil {
		if !store.CondsHold(store.Item{Key: c.Key}, c.Cond) {
			return condErr(store.Item{}, false), nil
		}
		return nil, nil
	}
	_, opErr, err = checkExisting(tx, c.Key, c.Cond)
	return opErr, err
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string, conds ...store.Cond) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: delete %s: %w", key, err)
	}
	var opErr error
	err := s.write(func(tx *bolt.Tx) error {
		var cur store.Item
		var err error
		cur, opErr, err = checkExisting(tx, key, conds)
		if err != nil || opErr != nil {
			return err
		}
		if err := remove(tx, cur); err != nil {
			return err
		}
		return s.hook(tx, &cur, nil)
	})
	if err == nil {
		err = opErr
	}
	if err != nil {
		return fmt.Errorf("boltstore: delete %s: %w", key, err)
	}
	return nil
}

// Transact implements store.Store. All operations are checked, then all
// are applied, in one bbolt transaction.
func (s *Store) Transact(ctx context.Context, ops []store.Op) error {
	if err := store.ValidateOps(ops); err != nil {
		return fmt.Errorf("boltstore: transact: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: transact: %w", err)
	}
	type planned struct {
		cur, next store.Item
		existed   bool
	}
	var txErr error
	err := s.write(func(tx *bolt.Tx) error {
		txErr = nil
		plans := make([]planned, len(ops))
		for i, o := range ops {
			var opErr, err error
			p := &plans[i]
			switch {
			case o.Create != nil:
				if tx.Bucket(bucketItems).Get([]byte(o.Create.Key)) != nil {
					opErr = fmt.Errorf("boltstore: create %s: %w", o.Create.Key, store.ErrExists)
				} else {
					p.next = normalize(*o.Create)
					if err := store.CheckSize(p.next); err != nil {
						opErr = fmt.Errorf("boltstore: create %s: %w", o.Create.Key, err)
					}
				}
			case o.Update != nil:
				p.next, p.cur, p.existed, opErr, err = planUpdate(tx, *o.Update)
				if opErr != nil {
					opErr = fmt.Errorf("boltstore: update %s: %w", o.Update.Key, opErr)
				}
			case o.Delete != nil:
				p.cur, opErr, err = checkExisting(tx, o.Delete.Key, o.Delete.Cond)
				if opErr != nil {
					opErr = fmt.Errorf("boltstore: delete %s: %w", o.Delete.Key, opErr)
				}
			case o.Check != nil:
				opErr, err = checkOp(tx, *o.Check)
				if opErr != nil {
					opErr = fmt.Errorf("boltstore: check %s: %w", o.Check.Key, opErr)
				}
			}
			if err != nil {
				return err
			}
			if opErr != nil {
				txErr = &store.TxError{Index: i, Err: opErr}
				return nil
			}
		}
		for i, o := range ops {
			var err error
			switch {
			case o.Create != nil:
				err = put(tx, store.Item{}, false, plans[i].next)
			case o.Update != nil:
				err = put(tx, plans[i].cur, plans[i].existed, plans[i].next)
			case o.Delete != nil:
				err = remove(tx, plans[i].cur)
			}
			if err != nil {
				return err
			}
		}
		for i, o := range ops {
			var err error
			p := &plans[i]
			switch {
			case o.Create != nil:
				err = s.hook(tx, nil, &p.next)
			case o.Update != nil:
				err = s.hook(tx, ptr(p.cur, p.existed), &p.next)
			case o.Delete != nil:
				err = s.hook(tx, &p.cur, nil)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("boltstore: transact: %w", err)
	}
	return txErr
}

// List implements store.Store. The cursor is the last key returned.
func (s *Store) List(ctx context.Context, prefix, cursor string, limit int) (store.Page, error) {
	if ns, _, found := strings.Cut(prefix, "/"); ns == "" || !found {
		return store.Page{}, fmt.Errorf("boltstore: list: prefix %q must start with <namespace>/", prefix)
	}
	if cursor != "" && !strings.HasPrefix(cursor, prefix) {
		return store.Page{}, fmt.Errorf("boltstore: list %s: invalid cursor %q", prefix, cursor)
	}
	if err := ctx.Err(); err != nil {
		return store.Page{}, fmt.Errorf("boltstore: list %s: %w", prefix, err)
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	var page store.Page
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketItems).Cursor()
		p := []byte(prefix)
		var k, v []byte
		if cursor == "" {
			k, v = c.Seek(p)
		} else {
			k, v = c.Seek([]byte(cursor))
			if string(k) == cursor {
				k, v = c.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if len(page.Items) == limit {
				page.Next = page.Items[len(page.Items)-1].Key
				break
			}
			it, err := decode(string(k), v)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, it)
		}
		return nil
	})
	if err != nil {
		return store.Page{}, fmt.Errorf("boltstore: list %s: %w", prefix, err)
	}
	return page, nil
}

// Query implements store.Store. The cursor is the last index entry
// returned, base64 (URL alphabet) encoded.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if err := ctx.Err(); err != nil {
		return store.Page{}, fmt.Errorf("boltstore: query %s: %w", q.Partition, err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	part := appendEsc(nil, q.Partition, true)
	seek := appendEsc(bytes.Clone(part), q.From, false)
	var after []byte
	if q.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || !bytes.HasPrefix(raw, part) {
			return store.Page{}, fmt.Errorf("boltstore: query %s: invalid cursor %q", q.Partition, q.Cursor)
		}
		if bytes.Compare(raw, seek) >= 0 {
			seek, after = raw, raw
		}
	}
	var page store.Page
	err := s.db.View(func(tx *bolt.Tx) error {
		items := tx.Bucket(bucketItems)
		c := tx.Bucket(bucketIndex).Cursor()
		var last []byte
		for k, _ := c.Seek(seek); k != nil && bytes.HasPrefix(k, part); k, _ = c.Next() {
			if after != nil && bytes.Equal(k, after) {
				continue
			}
			sort, rest, ok := nextComponent(k[len(part):])
			var key string
			if ok {
				key, _, ok = nextComponent(rest)
			}
			if !ok {
				return fmt.Errorf("corrupt index entry %q", k)
			}
			if q.To != "" && sort > q.To {
				break
			}
			if len(page.Items) == limit {
				page.Next = base64.RawURLEncoding.EncodeToString(last)
				break
			}
			data := items.Get([]byte(key))
			if data == nil {
				return fmt.Errorf("index entry for missing item %s", key)
			}
			it, err := decode(key, data)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, it)
			last = append(last[:0], k...)
		}
		return nil
	})
	if err != nil {
		return store.Page{}, fmt.Errorf("boltstore: query %s: %w", q.Partition, err)
	}
	return page, nil
}
