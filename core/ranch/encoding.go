package ranch

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// Storage encoding. The DynamoDB backend builds its index on the same
// attributes, so these names and formats are part of the schema.
const (
	resourcePrefix  = "resource/"
	queuePrefix     = "queue/"
	typeCountPrefix = "typecount/"
	drlcPrefix      = "drlc/"

	attrType       = "type"
	attrName       = "name"
	attrState      = "state"
	attrOwner      = "owner"
	attrLastUpdate = "lastupdate"
	attrExpiration = "expiration"
	attrEpoch      = "epoch"
	attrUserData   = "userdata"
	attrID         = "id"
	attrCreated    = "created"
	attrExpires    = "expires"
	attrCount      = "count"
	attrSpec       = "spec"
	attrStatics    = "statics"

	// sep separates the parts of index sort values and queue keys. It is
	// safe because every part is validated to hold no control characters.
	sep = "\x1f"
	// top sorts after every valid UTF-8 string.
	top = "\U0010FFFF"

	// kindHead is the kind of a (type, state)'s queue item; it sorts
	// before kindQueue, so the queue item comes first in the index.
	kindHead   = "/"
	kindQueue  = "0"
	kindFree   = "1"
	kindOwned  = "2"
	timeLayout = "2006-01-02T15:04:05.000000000Z"
	// queueGrace is how long an expired queue entry keeps its place for
	// its own id (upstream's GC period): after it, the entry counts as
	// absent and GCRequestQueue deletes it.
	queueGrace  = 60 * time.Second
	ttlGraceSec = 60
)

func resourceKey(name string) string   { return resourcePrefix + name }
func typeCountKey(rtype string) string { return typeCountPrefix + rtype }
func drlcKey(rtype string) string      { return drlcPrefix + rtype }
func queueKey(rtype, state, id string) string {
	return queueItemKey(rtype, state) + sep + id
}

// queueItemKey is the key of the queue item of (rtype, state); the keys of
// its entries start with it and sep.
func queueItemKey(rtype, state string) string { return queuePrefix + rtype + sep + state }

// isQueueItemKey reports whether k is the key of a queue item (not of an
// entry): one sep after the namespace, where an entry's key has two.
func isQueueItemKey(k string) bool {
	return strings.HasPrefix(k, queuePrefix) && strings.Count(k[len(queuePrefix):], sep) == 1
}

// fmtTime writes t in the fixed-width UTC form that sorts like time.
func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeLayout, s) }

// sortValue is the index sort value: state, kind, time, name or id.
func sortValue(state, kind string, t time.Time, nameOrID string) string {
	return state + sep + kind + sep + fmtTime(t) + sep + nameOrID
}

// resourceSort is the sort value of a resource in state, owned or not.
func resourceSort(state string, owned bool, t time.Time, name string) string {
	kind := kindFree
	if owned {
		kind = kindOwned
	}
	return sortValue(state, kind, t, name)
}

// newResourceItem is a fresh unowned resource.
func newResourceItem(rtype, name, state string, now time.Time) store.Item {
	ts := fmtTime(now)
	return store.Item{
		Key: resourceKey(name),
		Str: map[string]string{
			attrType: rtype, attrName: name, attrState: state, attrLastUpdate: ts,
			store.IndexPartition: rtype, store.IndexSort: resourceSort(state, false, now, name),
		},
		Num: map[string]int64{attrEpoch: 0, attrBorn: now.UnixNano()},
		Map: map[string]map[string]string{attrUserData: {}},
	}
}

// toResource decodes a resource item.
func toResource(it store.Item) (boskos.Resource, error) {
	r := boskos.Resource{
		Type:  it.S(attrType),
		Name:  it.S(attrName),
		State: it.S(attrState),
		Owner: it.S(attrOwner),
		Epoch: it.N(attrEpoch),
	}
	lu, err := parseTime(it.S(attrLastUpdate))
	if err != nil {
		return boskos.Resource{}, fmt.Errorf("ranch: item %s: lastupdate: %w", it.Key, err)
	}
	r.LastUpdate = lu
	if s := it.S(attrExpiration); s != "" {
		exp, err := parseTime(s)
		if err != nil {
			return boskos.Resource{}, fmt.Errorf("ranch: item %s: expiration: %w", it.Key, err)
		}
		r.ExpirationDate = &exp
	}
	r.UserData = boskos.UserData{}
	for k, v := range it.Map[attrUserData] {
		r.UserData[k] = v
	}
	return r, nil
}

// queueEntry is a decoded request queue entry.
type queueEntry struct {
	item    store.Item
	id      string
	created time.Time
	expires time.Time
	blocked bool // its last poll was refused for its owner's quota
}

func toQueueEntry(it store.Item) (queueEntry, error) {
	c, err := parseTime(it.S(attrCreated))
	if err != nil {
		return queueEntry{}, fmt.Errorf("ranch: item %s: created: %w", it.Key, err)
	}
	return queueEntry{item: it, id: it.S(attrID), created: c, expires: time.Unix(0, it.N(attrExpires)), blocked: it.S(attrBlocked) != ""}, nil
}

// Attributes of a queue item (see the package doc, "The queue item"),
// besides attrGen (string: changes with every entry that starts counting
// for others).
const (
	attrUntil     = "until"     // number: no unblocked entry is live after it (Unix nanoseconds)
	attrRejoin    = "rejoin"    // string: changes with every entry that starts counting again at its old place
	attrLastJoin  = "lastjoin"  // number: the created of the newest entry (Unix nanoseconds)
	attrSvc       = "svc"       // number: moving average of the interval between grants to entries (nanoseconds)
	attrServed    = "served"    // number: grants to entries
	attrLastServe = "lastserve" // number: the last of them (Unix nanoseconds)
)

// queueHead is a decoded queue item; found is false when it does not
// exist (a missing item is read as one with nothing set, version 0).
type queueHead struct {
	item     store.Item
	found    bool
	until    int64
	gen      string
	rejoin   string
	lastJoin int64
	svc      time.Duration
	served   int64
	last     int64
}

func toQueueHead(it store.Item) queueHead {
	return queueHead{item: it, found: true, until: it.N(attrUntil), gen: it.S(attrGen), rejoin: it.S(attrRejoin),
		lastJoin: it.N(attrLastJoin), svc: time.Duration(it.N(attrSvc)), served: it.N(attrServed), last: it.N(attrLastServe)}
}

// queueItemSort is the index sort value of the queue item of state.
func queueItemSort(state string) string { return state + sep + kindHead + sep }

// live reports whether the entry counts for the ranks of others at now.
func (q queueEntry) live(now time.Time) bool { return !now.After(q.expires) }

// collectable reports whether the entry expired more than queueGrace before
// now: GCRequestQueue deletes it, and until then it counts as absent, even
// for its own id (see rankOf).
func (q queueEntry) collectable(now time.Time) bool { return pastGrace(q.expires, now) }

// pastGrace reports whether a queue entry that expires at expires is more
// than queueGrace past it at now.
func pastGrace(expires, now time.Time) bool { return now.Sub(expires) > queueGrace }

// kindOf returns the kind part of an index sort value ("" when malformed).
func kindOf(sortValue string) string {
	parts := strings.SplitN(sortValue, sep, 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[1]
}

// encodeDRLC and decodeDRLC convert the spec stored under drlc/<type>.
func encodeDRLC(d boskos.DRLC) (string, error) {
	b, err := json.Marshal(d)
	return string(b), err
}

func decodeDRLC(it store.Item) (boskos.DRLC, error) {
	var d boskos.DRLC
	if err := json.Unmarshal([]byte(it.S(attrSpec)), &d); err != nil {
		return d, fmt.Errorf("ranch: item %s: spec: %w", it.Key, err)
	}
	return d, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
