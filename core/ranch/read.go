package ranch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// The read API's use cases: ListResources, ListQueue and ListTypes (GET
// /v1/resources, /v1/queue, /v1/types). They only read.

// attrAcquired is the time (fmtTime) the current owner acquired a resource:
// set by every lease (leaseUpdate), cleared by every release
// (releaseUpdate). Resources leased before it existed have none.
const attrAcquired = "acquired"

// Listing bounds.
const (
	// defaultListPages bounds the store pages one list call reads
	// (listPages): a filter that matches little of a large pool returns
	// fewer items than asked for (maybe none) with a cursor, rather than
	// reading the whole pool in one request.
	defaultListPages = 20
	// ownerPageLimit is the store page size of a listing filtered by
	// owner (which the index cannot select): most items are skipped.
	ownerPageLimit = 500
	// maxCursorPart bounds each position string of a cursor (a sort value
	// is at most ~540 bytes; DynamoDB refuses key values over 1024).
	maxCursorPart = 1000
)

// listPages is defaultListPages; tests lower it.
var listPages = defaultListPages

// listCursor is the decoded form of a read API cursor: base64url (no
// padding) of its JSON. It names the list (kind), the filters of the
// request that made it (a cursor is only valid with the same filters),
// and the position after which the next page starts. It holds no store
// cursor, so a forged one can only select another part of the list.
type listCursor struct {
	V      int      `json:"v"`
	Kind   string   `json:"k"`
	Filter []string `json:"f"`
	After  []string `json:"a"`
}

const cursorVersion = 1

func encodeCursor(kind string, filter []string, after ...string) string {
	b, _ := json.Marshal(listCursor{V: cursorVersion, Kind: kind, Filter: filter, After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor of list kind made with filter, whose position
// has n parts; any other input is boskos.InvalidParam("cursor").
func decodeCursor(s, kind string, filter []string, n int) (listCursor, error) {
	var c listCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, boskos.InvalidParam("cursor", "not a cursor of this API (pass the cursor of the previous page unchanged)")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.V != cursorVersion || c.Kind != kind || len(c.After) != n {
		return listCursor{}, boskos.InvalidParam("cursor", "not a cursor of this list (pass the cursor of the previous page unchanged)")
	}
	if !slices.Equal(c.Filter, filter) {
		return listCursor{}, boskos.InvalidParam("cursor", "it belongs to a request with other filters (keep the filters of the first page)")
	}
	for _, p := range c.After {
		if len(p) > maxCursorPart {
			return listCursor{}, boskos.InvalidParam("cursor", "not a cursor of this list (pass the cursor of the previous page unchanged)")
		}
	}
	return c, nil
}

// after returns the smallest index sort value that comes after sort value
// s on every backend: s's successors in the index start with s followed by
// a printable byte (names hold no control characters), and DynamoDB's index
// key is s + NUL + key, which this bound also excludes.
func after(s string) string { return s + "\x01" }

// ListResources returns one page of the resources that f selects (each
// field, when set, must be equal; each is checked like a request
// parameter), ordered by type, then as the index orders a type: by state,
// unowned before owned, least recently updated first, then by name. Each
// page reads the index (eventually consistent on DynamoDB: a change of the
// last moment may not show yet); a resource that changes state or owner
// between two pages may be listed twice or not at all. A filter that
// matches few resources of a large pool may return a page with fewer items
// than p.Limit, even none, and a cursor: follow it. Errors:
// boskos.InvalidParam for a bad filter, limit or cursor; boskos.Internal
// for a store failure.
func (r *Ranch) ListResources(ctx context.Context, f boskos.ResourceFilter, p boskos.PageRequest) (boskos.Page[boskos.ResourceInfo], error) {
	var page boskos.Page[boskos.ResourceInfo]
	for _, kv := range [][2]string{{"type", f.Type}, {"state", f.State}, {"owner", f.Owner}} {
		if err := boskos.ValidateParam(kv[0], kv[1]); err != nil {
			return page, err
		}
	}
	limit, err := boskos.CheckPageLimit(p.Limit)
	if err != nil {
		return page, err
	}
	filter := []string{f.Type, f.State, f.Owner}
	var pos []string // type, sort value: the last position read
	if p.Cursor != "" {
		c, err := decodeCursor(p.Cursor, "resources", filter, 2)
		if err != nil {
			return page, err
		}
		pos = c.After
	}
	types := []string{f.Type}
	if f.Type == "" {
		if types, err = r.typeNames(ctx); err != nil {
			return page, internal("list resources: %w", err)
		}
	}
	from, to := resourceRange(f)
	storeLimit := limit + 1
	if f.Owner != "" {
		storeLimit = max(storeLimit, ownerPageLimit)
	}
	now := r.now()
	page.Items = make([]boskos.ResourceInfo, 0, min(limit, 128))
	seen := map[string]bool{}
	pages := 0
	var lastType, lastSort string
	for _, t := range types {
		if pos != nil && t < pos[0] {
			continue
		}
		q := store.Query{Partition: t, From: from, To: to, Limit: storeLimit}
		if pos != nil && t == pos[0] && after(pos[1]) > q.From {
			q.From = after(pos[1])
		}
		for {
			sp, err := r.store.Query(ctx, q)
			if err != nil {
				return boskos.Page[boskos.ResourceInfo]{}, internal("list resources of type %s: %w", t, err)
			}
			pages++
			for _, it := range sp.Items {
				if isResourceKey(it.Key) && !seen[it.Key] && resourceMatches(f, it) {
					if len(page.Items) == limit {
						// One more exists: the next page starts after the
						// last item read before it.
						page.Cursor = encodeCursor("resources", filter, lastType, lastSort)
						return page, nil
					}
					seen[it.Key] = true
					info, err := resourceInfo(it, now)
					if err != nil {
						return boskos.Page[boskos.ResourceInfo]{}, internal("list resources: %w", err)
					}
					page.Items = append(page.Items, info)
				}
				lastType, lastSort = t, it.S(store.IndexSort)
			}
			if sp.Next == "" {
				break
			}
			if pages >= listPages {
				page.Cursor = encodeCursor("resources", filter, lastType, lastSort)
				return page, nil
			}
			q.Cursor = sp.Next
		}
	}
	return page, nil
}

// resourceRange is the index range of a type's partition that holds the
// resources f may select (From, To of store.Query; "" is unbounded).
func resourceRange(f boskos.ResourceFilter) (from, to string) {
	switch {
	case f.State != "" && f.Owner != "":
		return f.State + sep + kindOwned + sep, f.State + sep + kindOwned + sep + top
	case f.State != "":
		return f.State + sep, f.State + sep + top
	}
	return "", ""
}

// resourceMatches reports whether the resource item it passes f.
func resourceMatches(f boskos.ResourceFilter, it store.Item) bool {
	return (f.Type == "" || it.S(attrType) == f.Type) &&
		(f.State == "" || it.S(attrState) == f.State) &&
		(f.Owner == "" || it.S(attrOwner) == f.Owner)
}

// typeNames returns the types that have resources, sorted (from their
// counters: one small listing).
func (r *Ranch) typeNames(ctx context.Context) ([]string, error) {
	var out []string
	err := r.list(ctx, typeCountPrefix, func(it store.Item) error {
		if it.N(attrCount) > 0 {
			out = append(out, strings.TrimPrefix(it.Key, typeCountPrefix))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// resourceInfo is the read API's view of the resource item it at now.
func resourceInfo(it store.Item, now time.Time) (boskos.ResourceInfo, error) {
	info := boskos.ResourceInfo{
		Name: it.S(attrName), Type: it.S(attrType), State: it.S(attrState), Owner: it.S(attrOwner),
		Epoch: it.N(attrEpoch), UserDataKeys: []string{},
	}
	lu, err := parseTime(it.S(attrLastUpdate))
	if err != nil {
		return info, fmt.Errorf("ranch: item %s: lastupdate: %w", it.Key, err)
	}
	info.LastUpdate = lu
	info.IdleSeconds = seconds(now.Sub(lu))
	if s := it.S(attrExpiration); s != "" {
		exp, err := parseTime(s)
		if err != nil {
			return info, fmt.Errorf("ranch: item %s: expiration: %w", it.Key, err)
		}
		info.ExpirationDate = &exp
	}
	if s := it.S(attrAcquired); s != "" && info.Owner != "" {
		at, err := parseTime(s)
		if err != nil {
			return info, fmt.Errorf("ranch: item %s: %s: %w", it.Key, attrAcquired, err)
		}
		held := seconds(now.Sub(at))
		info.AcquiredAt, info.HeldSeconds = &at, &held
	}
	ud := it.Map[attrUserData]
	for k := range ud {
		info.UserDataKeys = append(info.UserDataKeys, k)
	}
	sort.Strings(info.UserDataKeys)
	info.QuarantineReason = ud[boskos.QuarantineReasonKey]
	return info, nil
}

// seconds is d in whole seconds, never negative (clocks of different
// processes may disagree a little).
func seconds(d time.Duration) int64 { return max(int64(d/time.Second), 0) }

// ListQueue returns one page of the request_ids waiting in the acquire
// queues that f selects (a live entry: polled within RequestTTL), ordered
// by type, state, then place in the queue, each with the rank an acquire
// with it would have now (rankOf, the rank acquire computes) and its age.
// Every page reads the selected queues whole (strongly consistent), so
// ranks are exact at the time of each page; an entry that comes or goes
// between two pages shifts the ranks of the next. Errors:
// boskos.InvalidParam for a bad filter, limit or cursor; boskos.Internal
// for a store failure.
func (r *Ranch) ListQueue(ctx context.Context, f boskos.QueueFilter, p boskos.PageRequest) (boskos.Page[boskos.QueueEntry], error) {
	var page boskos.Page[boskos.QueueEntry]
	if err := boskos.ValidateParam("type", f.Type); err != nil {
		return page, err
	}
	if err := boskos.ValidateParam("state", f.State); err != nil {
		return page, err
	}
	limit, err := boskos.CheckPageLimit(p.Limit)
	if err != nil {
		return page, err
	}
	filter := []string{f.Type, f.State}
	var pos string
	if p.Cursor != "" {
		c, err := decodeCursor(p.Cursor, "queue", filter, 1)
		if err != nil {
			return page, err
		}
		pos = c.After[0]
	}
	now := r.now()
	queues, err := r.readQueues(ctx, f.Type, f.State)
	if err != nil {
		return page, internal("list queue: %w", err)
	}
	page.Items = []boskos.QueueEntry{}
	for _, q := range queues {
		for i := range q.entries {
			e := &q.entries[i]
			if !e.live(now) {
				continue
			}
			at := queuePosition(q.rtype, q.state, e)
			if pos != "" && at <= pos {
				continue
			}
			if len(page.Items) == limit {
				last := page.Items[len(page.Items)-1]
				page.Cursor = encodeCursor("queue", filter, queuePosition(last.Type, last.State, &queueEntry{id: last.RequestID, created: last.Created}))
				return page, nil
			}
			rank, _ := rankOf(q.entries, e.id, now)
			page.Items = append(page.Items, boskos.QueueEntry{
				Type: q.rtype, State: q.state, RequestID: e.id, Rank: rank,
				AgeSeconds: seconds(now.Sub(e.created)), Created: e.created, Expires: e.expires, Blocked: e.blocked,
			})
		}
	}
	return page, nil
}

// queuePosition orders the entries of every queue: type, state, then the
// queue's own order (created, id).
func queuePosition(rtype, state string, e *queueEntry) string {
	return rtype + sep + state + sep + fmtTime(e.created) + sep + e.id
}

// requestQueue is one (type, state) acquire queue, in FIFO order.
type requestQueue struct {
	rtype, state string
	entries      []queueEntry
}

// readQueues returns the request queues of rtype and state ("" = every
// type or state), ordered by type and state, each in FIFO order (created,
// then id: the order of the index that acquire reads), with every entry
// still stored (expired ones included: callers decide with live and
// collectable). This is the one place the read API reads queue entries:
// today one strongly consistent listing of their keys,
// "queue/<type>\x1f<state>\x1f<id>" (the way GCRequestQueue reads them),
// skipping the queue items "queue/<type>\x1f<state>" among them.
func (r *Ranch) readQueues(ctx context.Context, rtype, state string) ([]requestQueue, error) {
	prefix := queuePrefix
	if rtype != "" {
		prefix += rtype + sep
		if state != "" {
			prefix += state + sep
		}
	}
	byQueue := map[[2]string]*requestQueue{}
	err := r.list(ctx, prefix, func(it store.Item) error {
		if isQueueItemKey(it.Key) {
			return nil // the (type, state)'s queue item, not an entry
		}
		e, err := toQueueEntry(it)
		if err != nil {
			r.log.Warn("ranch: skipping malformed queue entry", "key", it.Key, "err", err)
			return nil
		}
		t, s := it.S(attrType), it.S(attrState)
		if (rtype != "" && t != rtype) || (state != "" && s != state) {
			return nil
		}
		k := [2]string{t, s}
		q := byQueue[k]
		if q == nil {
			q = &requestQueue{rtype: t, state: s}
			byQueue[k] = q
		}
		q.entries = append(q.entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]requestQueue, 0, len(byQueue))
	for _, q := range byQueue {
		sort.Slice(q.entries, func(i, j int) bool {
			a, b := q.entries[i], q.entries[j]
			if !a.created.Equal(b.created) {
				return a.created.Before(b.created)
			}
			return a.id < b.id
		})
		out = append(out, *q)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].rtype != out[j].rtype {
			return out[i].rtype < out[j].rtype
		}
		return out[i].state < out[j].state
	})
	return out, nil
}

// ListTypes returns one page of the types that have resources, by name,
// each with its resources counted by state and by owner (one read of the
// type's index partition each, as Metric). Errors: boskos.InvalidParam for
// a bad limit or cursor; boskos.Internal for a store failure.
func (r *Ranch) ListTypes(ctx context.Context, p boskos.PageRequest) (boskos.Page[boskos.TypeSummary], error) {
	var page boskos.Page[boskos.TypeSummary]
	limit, err := boskos.CheckPageLimit(p.Limit)
	if err != nil {
		return page, err
	}
	var pos string
	if p.Cursor != "" {
		c, err := decodeCursor(p.Cursor, "types", nil, 1)
		if err != nil {
			return page, err
		}
		pos = c.After[0]
	}
	types, err := r.typeNames(ctx)
	if err != nil {
		return page, internal("list types: %w", err)
	}
	page.Items = []boskos.TypeSummary{}
	for _, t := range types {
		if pos != "" && t <= pos {
			continue
		}
		if len(page.Items) == limit {
			page.Cursor = encodeCursor("types", nil, page.Items[len(page.Items)-1].Type)
			return page, nil
		}
		s := boskos.TypeSummary{Type: t, States: map[string]int{}, Owners: map[string]int{}}
		err := r.query(ctx, store.Query{Partition: t}, func(it store.Item) error {
			if !isResourceKey(it.Key) {
				return nil
			}
			s.Total++
			s.States[it.S(attrState)]++
			if o := it.S(attrOwner); o != "" {
				s.Owners[o]++
			}
			return nil
		})
		if err != nil {
			return boskos.Page[boskos.TypeSummary]{}, internal("list types: %s: %w", t, err)
		}
		if s.Total > 0 {
			page.Items = append(page.Items, s)
		}
	}
	return page, nil
}
