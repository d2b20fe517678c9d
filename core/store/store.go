package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Names of the attributes that place an item in the index. IndexPartition
// selects the partition, IndexSort orders items inside it.
const (
	IndexPartition = "ixp"
	IndexSort      = "ixs"
)

// TTLAttr is the number attribute (Unix seconds) after which a backend may
// delete an item on its own. Backends are not obliged to: readers must still
// check expiry themselves. DynamoDB's Time to Live feature uses it.
const TTLAttr = "ttl"

// MaxTransactItems is the most operations one Transact call may carry (the
// DynamoDB TransactWriteItems limit, which every backend enforces alike).
const MaxTransactItems = 100

// MaxItemBytes bounds the size of one item (Item.Size): no backend stores a
// bigger one, and a write that would make one fails with ErrTooLarge and
// changes nothing. It is DynamoDB's item size limit; dynamostore's own
// attributes (keys, version, index sort key) count there too, so on DynamoDB
// the bound is reached a few hundred bytes earlier.
const MaxItemBytes = 400 * 1024

// Sentinel errors. Backends wrap them with the operation and the key.
var (
	// ErrTooLarge means the write would make an item larger than the
	// backend allows (see MaxItemBytes). It is not retryable.
	ErrTooLarge = errors.New("item too large")
	// ErrUnavailable means the backend refused the request for lack of
	// capacity (throttling, after the backend's own retries) and applied
	// nothing. Retrying later may succeed; retrying at once mostly adds load.
	ErrUnavailable = errors.New("unavailable")
	// ErrNotFound means the key does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means Create found the key already there.
	ErrExists = errors.New("already exists")
	// ErrConflict means a condition (including the version) did not hold, or
	// a concurrent transaction got in the way. Retrying after a fresh read
	// may succeed.
	ErrConflict = errors.New("conflict")
)

// Item is one versioned record. The zero value of each map is valid, and the
// maps of an item a Store returns may be nil: read them freely (S, N, index
// expressions), but initialise one before writing into it. Returned items are
// the caller's: the store keeps no reference to them. A map attribute emptied
// by MapRemove may be returned as an empty map or not at all; empty strings
// inside map values are kept.
type Item struct {
	Key     string
	Version int64
	Str     map[string]string
	Num     map[string]int64
	Map     map[string]map[string]string
}

// S returns the string attribute name, or "" when it is absent.
func (it Item) S(name string) string { return it.Str[name] }

// N returns the number attribute name, or 0 when it is absent.
func (it Item) N(name string) int64 { return it.Num[name] }

// Clone returns a deep copy of it.
func (it Item) Clone() Item {
	out := Item{Key: it.Key, Version: it.Version}
	if it.Str != nil {
		out.Str = make(map[string]string, len(it.Str))
		for k, v := range it.Str {
			out.Str[k] = v
		}
	}
	if it.Num != nil {
		out.Num = make(map[string]int64, len(it.Num))
		for k, v := range it.Num {
			out.Num[k] = v
		}
	}
	if it.Map != nil {
		out.Map = make(map[string]map[string]string, len(it.Map))
		for k, m := range it.Map {
			c := make(map[string]string, len(m))
			for mk, mv := range m {
				c[mk] = mv
			}
			out.Map[k] = c
		}
	}
	return out
}

// Size is the item's size as DynamoDB counts it: the UTF-8 bytes of the key,
// of every attribute name and string, of every key and value inside maps
// (plus 3 bytes per map entry and per map), and 21 bytes per number
// (DynamoDB's upper bound for a number); 8 bytes for the version.
func (it Item) Size() int {
	n := len(it.Key) + 8
	for k, v := range it.Str {
		if v != "" {
			n += len(k) + len(v)
		}
	}
	for k := range it.Num {
		n += len(k) + 21
	}
	for k, m := range it.Map {
		n += len(k) + 3
		for mk, mv := range m {
			n += len(mk) + len(mv) + 3
		}
	}
	return n
}

// CheckSize returns ErrTooLarge (with the sizes) when it is larger than
// MaxItemBytes. In-process backends call it on every item they would store.
func CheckSize(it Item) error {
	if n := it.Size(); n > MaxItemBytes {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, n, MaxItemBytes)
	}
	return nil
}

// CondOp is the kind of a Cond.
type CondOp int

// The condition operators.
const (
	// OpEq: string attribute Attr equals Value ("" means absent).
	OpEq CondOp = iota + 1
	// OpNotIn: string attribute Attr is absent or not one of Values.
	OpNotIn
	// OpNumEq: number attribute Attr equals N (absent counts as 0).
	OpNumEq
	// OpNumLt: number attribute Attr is less than N (absent counts as 0).
	OpNumLt
	// OpStrLE: string attribute Attr is present and <= Value (byte order).
	OpStrLE
	// OpVersion: the item's version equals N.
	OpVersion
	// OpNumGE: number attribute Attr is at least N (absent counts as 0).
	OpNumGE
)

// Cond is one condition on the stored item. All conditions of a write must
// hold for it to happen.
type Cond struct {
	Op     CondOp
	Attr   string
	Value  string
	Values []string
	N      int64
}

// Eq is the condition "string attribute attr equals value" ("" = absent).
func Eq(attr, value string) Cond { return Cond{Op: OpEq, Attr: attr, Value: value} }

// NotIn is the condition "string attribute attr is absent or none of values".
func NotIn(attr string, values ...string) Cond {
	return Cond{Op: OpNotIn, Attr: attr, Values: values}
}

// NumEq is the condition "number attribute attr equals n" (absent = 0).
func NumEq(attr string, n int64) Cond { return Cond{Op: OpNumEq, Attr: attr, N: n} }

// NumLt is the condition "number attribute attr is less than n" (absent = 0).
func NumLt(attr string, n int64) Cond { return Cond{Op: OpNumLt, Attr: attr, N: n} }

// NumGE is the condition "number attribute attr is at least n" (absent = 0).
func NumGE(attr string, n int64) Cond { return Cond{Op: OpNumGE, Attr: attr, N: n} }

// StrLE is the condition "string attribute attr is present and <= value".
func StrLE(attr, value string) Cond { return Cond{Op: OpStrLE, Attr: attr, Value: value} }

// VersionIs is the condition "the stored version equals v".
func VersionIs(v int64) Cond { return Cond{Op: OpVersion, N: v} }

// Holds reports whether c holds for it. Backends that evaluate conditions in
// process (memory, bbolt) use it, so the semantics are written once.
func (c Cond) Holds(it Item) bool {
	switch c.Op {
	case OpEq:
		return it.Str[c.Attr] == c.Value
	case OpNotIn:
		v, ok := it.Str[c.Attr]
		if !ok {
			return true
		}
		for _, x := range c.Values {
			if v == x {
				return false
			}
		}
		return true
	case OpNumEq:
		return it.Num[c.Attr] == c.N
	case OpNumLt:
		return it.Num[c.Attr] < c.N
	case OpNumGE:
		return it.Num[c.Attr] >= c.N
	case OpStrLE:
		v, ok := it.Str[c.Attr]
		return ok && v <= c.Value
	case OpVersion:
		return it.Version == c.N
	}
	return false
}

// Update describes a change to one existing item. Its conditions are checked
// against the stored item first; then Remove, Set, SetNum, AddNum, SetMap,
// MapSet and MapRemove are applied, and the version goes up by one. A name may
// appear in at most one of Remove, Set, SetNum, AddNum and SetMap.
type Update struct {
	Key  string
	Cond []Cond
	// Upsert creates the item (version 0 before the update) when it is
	// missing, instead of failing with ErrNotFound. Conditions are then
	// evaluated against an empty item.
	Upsert    bool
	Set       map[string]string            // string attributes; "" removes
	SetNum    map[string]int64             // number attributes
	AddNum    map[string]int64             // number attributes += n (absent = 0)
	SetMap    map[string]map[string]string // whole map attributes
	MapSet    map[string]map[string]string // keys set inside map attributes
	MapRemove map[string][]string          // keys removed from map attributes
	Remove    []string                     // attributes of any kind
}

// Apply returns it changed by u (version + 1). It does not check conditions.
// Backends that apply updates in process use it.
func (u Update) Apply(it Item) Item {
	out := it.Clone()
	out.Key = u.Key
	if out.Str == nil {
		out.Str = map[string]string{}
	}
	if out.Num == nil {
		out.Num = map[string]int64{}
	}
	if out.Map == nil {
		out.Map = map[string]map[string]string{}
	}
	for _, name := range u.Remove {
		delete(out.Str, name)
		delete(out.Num, name)
		delete(out.Map, name)
	}
	for k, v := range u.Set {
		if v == "" {
			delete(out.Str, k)
		} else {
			out.Str[k] = v
		}
	}
	for k, v := range u.SetNum {
		out.Num[k] = v
	}
	for k, v := range u.AddNum {
		out.Num[k] += v
	}
	for k, m := range u.SetMap {
		c := make(map[string]string, len(m))
		for mk, mv := range m {
			c[mk] = mv
		}
		out.Map[k] = c
	}
	for k, m := range u.MapSet {
		if out.Map[k] == nil {
			out.Map[k] = map[string]string{}
		}
		for mk, mv := range m {
			out.Map[k][mk] = mv
		}
	}
	for k, keys := range u.MapRemove {
		for _, mk := range keys {
			delete(out.Map[k], mk)
		}
	}
	out.Version = it.Version + 1
	return out
}

// CondsHold reports whether every condition holds for it.
func CondsHold(it Item, conds []Cond) bool {
	for _, c := range conds {
		if !c.Holds(it) {
			return false
		}
	}
	return true
}

// ConditionError is returned (wrapped) when a write's conditions failed.
// errors.Is(err, ErrConflict) holds for it.
type ConditionError struct {
	// Current is the item when the condition failed; valid when HasCurrent.
	Current    Item
	HasCurrent bool
}

func (e *ConditionError) Error() string { return "condition failed: " + ErrConflict.Error() }

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *ConditionError) Unwrap() error { return ErrConflict }

// Op is one operation of a transaction: exactly one of Create, Update,
// Delete or Check is set.
type Op struct {
	Create *Item
	Update *Update
	Delete *Delete
	Check  *Check
}

// Delete removes an existing item whose conditions hold.
type Delete struct {
	Key  string
	Cond []Cond
}

// Check asserts conditions on an existing item without changing it.
type Check struct {
	Key  string
	Cond []Cond
	// AllowMissing checks a missing item as an empty one (version 0, no
	// attributes), as Update.Upsert does, instead of failing with
	// ErrNotFound; a condition that fails on it is a *ConditionError
	// without HasCurrent.
	AllowMissing bool
}

// Key returns the key the operation is about.
func (o Op) Key() string {
	switch {
	case o.Create != nil:
		return o.Create.Key
	case o.Update != nil:
		return o.Update.Key
	case o.Delete != nil:
		return o.Delete.Key
	case o.Check != nil:
		return o.Check.Key
	}
	return ""
}

// TxError says which operation made a transaction fail. errors.Is(err, X)
// holds for X in ErrNotFound, ErrExists, ErrConflict according to Err.
type TxError struct {
	Index int   // index of the failing operation in the Transact call, -1 if unknown
	Err   error // the operation's error (may be a *ConditionError)
}

func (e *TxError) Error() string { return fmt.Sprintf("transaction operation %d: %v", e.Index, e.Err) }

// Unwrap returns the operation's error.
func (e *TxError) Unwrap() error { return e.Err }

// Page is one page of a listing. Next is empty on the last page; otherwise
// it is an opaque cursor for the following call.
type Page struct {
	Items []Item
	Next  string
}

// Query asks for the items of one index partition whose sort value lies in
// [From, To] (inclusive; an empty To means no upper bound), ascending.
type Query struct {
	Partition string
	From, To  string
	Limit     int    // at most this many items; <= 0 means the backend default
	Cursor    string // from a previous Page.Next
}

// Store is the contract every backend satisfies. All methods are safe for
// concurrent use. Reads of items (Get, BatchGet, List) are strongly
// consistent; Query reads the index, which may lag.
type Store interface {
	// Get returns the item, or ErrNotFound.
	Get(ctx context.Context, key string) (Item, error)
	// BatchGet returns the items that exist among keys (at most
	// MaxTransactItems, all distinct: a backend may reject duplicates), in
	// no particular order. Missing keys are left out.
	BatchGet(ctx context.Context, keys []string) ([]Item, error)
	// Create stores a new item with version 1 and returns it; ErrExists if
	// the key is taken. it.Version is ignored. Every write fails with
	// ErrTooLarge when it would store an item over MaxItemBytes.
	Create(ctx context.Context, it Item) (Item, error)
	// Update applies u and returns the new item. ErrNotFound when the key
	// is missing (unless Upsert); a *ConditionError when a condition fails.
	Update(ctx context.Context, u Update) (Item, error)
	// Delete removes the item. ErrNotFound when missing; a *ConditionError
	// when a condition fails.
	Delete(ctx context.Context, key string, conds ...Cond) error
	// Transact applies every operation or none (at most MaxTransactItems,
	// each on a different key). When an operation fails it returns a
	// *TxError; a malformed transaction (see ValidateOps) is a plain error,
	// never ErrConflict.
	Transact(ctx context.Context, ops []Op) error
	// List returns items whose key starts with prefix, ascending by key, at
	// most limit per page (<= 0: backend default). prefix must include the
	// namespace and its "/" (List("") is an error); a cursor is only valid
	// with the prefix it came from.
	List(ctx context.Context, prefix, cursor string, limit int) (Page, error)
	// Query reads the index (see the package comment). From > To gives an
	// empty page, not an error.
	Query(ctx context.Context, q Query) (Page, error)
	// Close releases the backend's resources.
	Close() error
}

// SplitKey splits a key into its namespace and the rest. It fails when the
// key has no "/" or an empty namespace or rest.
func SplitKey(key string) (ns, rest string, err error) {
	i := strings.IndexByte(key, '/')
	if i <= 0 || i == len(key)-1 {
		return "", "", fmt.Errorf("store: invalid key %q: want <namespace>/<rest>", key)
	}
	return key[:i], key[i+1:], nil
}

// ValidateOps checks the shape of a transaction: size, one key per op, one
// kind per op. Backends call it before doing anything.
func ValidateOps(ops []Op) error {
	if len(ops) == 0 {
		return errors.New("store: empty transaction")
	}
	if len(ops) > MaxTransactItems {
		return fmt.Errorf("store: transaction of %d operations exceeds %d", len(ops), MaxTransactItems)
	}
	seen := make(map[string]bool, len(ops))
	for i, o := range ops {
		n := 0
		for _, set := range []bool{o.Create != nil, o.Update != nil, o.Delete != nil, o.Check != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("store: transaction operation %d must set exactly one of Create, Update, Delete, Check", i)
		}
		k := o.Key()
		if _, _, err := SplitKey(k); err != nil {
			return err
		}
		if seen[k] {
			return fmt.Errorf("store: transaction touches %q twice", k)
		}
		seen[k] = true
	}
	return nil
}

// WriteHook is the change hook of the embedded backends (memstore,
// boltstore: their Options.OnWrite). The backend calls it inside the
// transaction of every write, once per item the write changes, with the
// item before (nil for a creation) and after (nil for a deletion), and
// creates the items it returns in the same transaction: they are stored
// if and only if the write is. An item whose key already exists is left
// as it is (hook items are records, idempotent by key), and so is one the
// backend refuses (an invalid key, too large): the write itself never
// fails for its hook. Items the hook returns are not passed to it again.
// It must be fast and must not call the store (the backend holds its
// write lock).
type WriteHook func(old, new *Item) []Item

// Change is one write as a change feed reports it (DynamoDB Streams, or
// a WriteHook): the item before (nil when it was created) and after (nil
// when it was deleted), and when the feed saw it (zero when unknown).
type Change struct {
	Old, New *Item
	At       time.Time
}
