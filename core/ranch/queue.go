package ranch

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// This file holds the request queue's storage: its strongly consistent
// read, the entries' writes, and the check of the queue item that every
// lease makes (see the package doc, "The queue item" and "Queue order at
// the write").

// readQueue reads the queue item and the entries of (rtype, state) with
// one strongly consistent listing (store.List: every entry's key starts
// with the queue item's key and sep), the entries in FIFO order. A
// missing queue item is returned with found false.
func (r *Ranch) readQueue(ctx context.Context, rtype, state string) (queueHead, []queueEntry, error) {
	key := queueItemKey(rtype, state)
	var head queueHead
	var queue []queueEntry
	cursor := ""
	done := false
	for !done {
		page, err := r.store.List(ctx, key, cursor, nextPageLimit)
		if err != nil {
			return queueHead{}, nil, err
		}
		for _, it := range page.Items {
			switch {
			case it.Key == key:
				head = toQueueHead(it)
			case strings.HasPrefix(it.Key, key+sep):
				e, err := toQueueEntry(it)
				if err != nil {
					r.log.Warn("ranch: skipping malformed queue entry", "key", it.Key, "err", err)
					continue
				}
				queue = append(queue, e)
			default:
				// Another state whose name starts with this one's: its
				// keys sort after all of this state's (sep sorts before
				// every character a state may hold).
				done = true
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	// The index's order: created, then id.
	sort.Slice(queue, func(i, j int) bool {
		a, b := queue[i], queue[j]
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		return a.id < b.id
	})
	return head, queue, nil
}

// queueGuard is the operation on the queue item of v's pair, in a lease's
// transaction, that proves the rank the caller took from v still holds at
// the write (see the package doc, "Queue order at the write"); own is the
// caller's entry, which the lease deletes. Read from the index (nobody
// waits, as far as the index knows) it is the check "no unblocked entry is
// live": until < now, a missing item passing. Read consistently it is the
// check that no entry started counting for others since the read (gen
// unchanged), or for a waiting caller none at a place ahead of it (rejoin
// unchanged); a missing item must still be missing. It is made an update when the
// lease serves a waiting request_id (the service statistics) or leaves no
// unblocked entry live (until lowered, conditioned on the version read, so
// that the next lease finds nobody waiting without a consistent read).
func queueGuard(v poolView, own *queueEntry, now time.Time) store.Op {
	key := queueItemKey(v.rtype, v.state)
	if !v.consistent {
		return store.Op{Check: &store.Check{Key: key, AllowMissing: true,
			Cond: []store.Cond{store.NumLt(attrUntil, now.UnixNano())}}}
	}
	h := v.head
	if !h.found {
		return store.Op{Check: &store.Check{Key: key, AllowMissing: true, Cond: []store.Cond{store.VersionIs(0)}}}
	}
	// A new entry joins behind every entry the queue item records (its
	// created is past lastjoin): only one that rejoins at its old place
	// can get ahead of a waiting caller so recorded, while any can get
	// ahead of a caller without an entry (or one joined blocked, which the
	// queue item did not record).
	cond := []store.Cond{store.Eq(attrGen, h.gen)}
	if own != nil && own.created.UnixNano() <= h.lastJoin {
		cond = []store.Cond{store.Eq(attrRejoin, h.rejoin)}
	}
	set := map[string]int64{}
	var remove []string
	if own != nil {
		set = serveStats(h, *own, now)
	}
	if until, ok := lowerUntil(v.queue, own, h, now); ok {
		cond = []store.Cond{store.VersionIs(h.item.Version)}
		if until == 0 {
			remove = []string{attrUntil}
		} else {
			set[attrUntil] = until
		}
	}
	if len(set) == 0 && len(remove) == 0 {
		return store.Op{Check: &store.Check{Key: key, Cond: cond}}
	}
	return store.Op{Update: &store.Update{Key: key, Cond: cond, SetNum: set, Remove: remove}}
}

// lowerUntil returns the until that the queue item h may take once the
// lease deleting own is done, when that is lower than h's and before now:
// no other unblocked entry of queue is live at now. It is the latest
// expiry among those entries (0 when there are none).
func lowerUntil(queue []queueEntry, own *queueEntry, h queueHead, now time.Time) (int64, bool) {
	if h.until < now.UnixNano() {
		return 0, false // nothing to lower: leases find nobody waiting already
	}
	var until int64
	for _, e := range queue {
		if e.blocked || (own != nil && e.id == own.id) {
			continue
		}
		if e.live(now) {
			return 0, false
		}
		until = max(until, e.expires.UnixNano())
	}
	return until, true
}

// serveStats are the queue item's service statistics after a lease at now
// serves the waiting entry own: the interval since the last grant to an
// entry (or since own joined, if later) is averaged into svc (an
// exponentially weighted moving average, weight 1/4).
func serveStats(h queueHead, own queueEntry, now time.Time) map[string]int64 {
	sample := now.UnixNano() - max(h.last, own.created.UnixNano())
	if sample < 0 {
		sample = 0
	}
	svc := sample
	if h.served > 0 {
		svc = int64(h.svc) + (sample-int64(h.svc))/4
	}
	return map[string]int64{attrSvc: svc, attrServed: h.served + 1, attrLastServe: now.UnixNano()}
}

// minServedForEstimate is how many grants to waiting request_ids a queue
// item must have seen before its average interval estimates a wait.
const minServedForEstimate = 2

// place is where requestID waits in v's queue once refused: its rank, how
// many unblocked live entries wait (the caller included), and the
// estimated wait for that rank: from hold, the recent hold times of the
// type, when its history allows (hold.ok); else from the queue item's
// service statistics (the rank times the moving average of the interval
// between grants to waiting request_ids), once the queue has served
// minServedForEstimate; else none.
func (v poolView) place(requestID string, now time.Time, hold holdFigure) boskos.QueuePlace {
	p := boskos.QueuePlace{Position: v.rank, Length: 1}
	for _, e := range v.queue {
		if e.id != requestID && e.live(now) && !e.blocked {
			p.Length++
		}
	}
	switch {
	case hold.ok():
		p.EstimatedWait = hold.wait(p.Position)
	case v.head.served >= minServedForEstimate && v.head.svc > 0:
		p.EstimatedWait = time.Duration(p.Position) * v.head.svc
	}
	return p
}

// refuse is the refusal notFound of an acquire that found nothing for the
// caller in v. With a request_id it queues the id (or refreshes its entry)
// and says where it now waits (boskos.Error.Queue), with the type's
// hold-time figure from the cache (cachedHoldFigure: a store read at most once
// per type per HoldCacheTTL, never on a grant's path).
func (r *Ranch) refuse(ctx context.Context, v poolView, requestID string, notFound *boskos.Error, now time.Time) error {
	if requestID == "" {
		return notFound
	}
	if err := r.enqueue(ctx, v.rtype, v.state, requestID, v.own, false, now); err != nil {
		return err
	}
	return notFound.WithQueue(v.place(requestID, now, r.cachedHoldFigure(ctx, v.rtype)))
}

// enqueue creates or refreshes the caller's queue entry (expires = now +
// RequestTTL; created kept), blocked when the caller was refused for its
// quota (see rankOf). own is the entry as the caller's view saw it; nil
// for a new id (or one whose entry rankOf counted as absent because it
// expired more than queueGrace ago), which gets a fresh entry, created =
// now, at the tail of the queue, over any stale item of the same id.
//
// The entry's write is conditioned on the entry being as own says (absent
// or past the grace for nil): a view read from a lagging index may have
// missed it, and then the stored entry is used instead, so that an id never
// loses its place to the lag. An unblocked entry is written in one
// transaction with the queue item, whose until must cover the entry's
// expiry and whose gen changes when the entry starts counting for others
// (new, renewed after it expired, or unblocked): that is what the check of
// the queue item in a lease's transaction sees (queueGuard). A blocked
// entry counts for nobody: it is written alone.
func (r *Ranch) enqueue(ctx context.Context, rtype, state, id string, own *queueEntry, blocked bool, now time.Time) error {
	expires := now.Add(r.opts.RequestTTL)
	later := false // the queue item's until was found past expires
	created := now // of a new entry: past the queue item's lastjoin
	return r.retry(ctx, "queue request", id, func(int) (bool, error) {
		join := noJoin
		switch {
		case own == nil:
			join = newJoin
		case !own.live(now) || own.blocked:
			join = rejoin
		}
		entry := entryUpdate(rtype, state, id, own, blocked, now, created, expires)
		var err error
		if blocked {
			_, err = r.store.Update(ctx, entry)
		} else {
			head := queueItemUpdate(rtype, state, join, created, expires, later)
			err = r.store.Transact(ctx, []store.Op{{Update: &entry}, {Update: &head}})
		}
		if err == nil {
			return true, nil
		}
		if !isRetryable(err) {
			return true, internal("acquire %s: queue %s: %w", rtype, id, err)
		}
		var txe *store.TxError
		onItem := errors.As(err, &txe) && txe.Index == 1
		var ce *store.ConditionError
		current := errors.As(err, &ce) && ce.HasCurrent
		switch {
		case onItem && current:
			later = ce.Current.N(attrUntil) >= untilFor(expires)
			if last := ce.Current.N(attrLastJoin); !created.After(time.Unix(0, last)) {
				created = time.Unix(0, last+1).UTC()
			}
		case onItem:
			later = false
		case current:
			// The entry is not as own said: go on from the stored one.
			e, derr := toQueueEntry(ce.Current)
			switch {
			case derr != nil:
				own = &queueEntry{item: ce.Current, id: id, created: now} // malformed: overwritten
			case e.collectable(now):
				own = nil
			default:
				own = &e
			}
		case errors.Is(err, store.ErrNotFound):
			own = nil
		}
		return false, nil
	})
}

// entryUpdate is the write of id's entry by enqueue: with own nil a new
// one, created at created.
func entryUpdate(rtype, state, id string, own *queueEntry, blocked bool, now, created, expires time.Time) store.Update {
	if own != nil {
		created = own.created
	}
	blockedValue := ""
	if blocked {
		blockedValue = "1"
	}
	u := store.Update{
		Key: queueKey(rtype, state, id),
		Set: map[string]string{
			attrType: rtype, attrState: state, attrID: id, attrCreated: fmtTime(created),
			attrBlocked:          blockedValue,
			store.IndexPartition: rtype,
			store.IndexSort:      sortValue(state, kindQueue, created, id),
		},
		SetNum: map[string]int64{
			attrExpires:   expires.UnixNano(),
			store.TTLAttr: expires.Unix() + ttlGraceSec,
		},
	}
	if own == nil {
		u.Upsert = true
		u.Cond = []store.Cond{store.NumLt(attrExpires, now.Add(-queueGrace).UnixNano())}
	} else {
		u.Cond = []store.Cond{store.VersionIs(own.item.Version)}
	}
	return u
}

// joinKind is what an enqueue of an unblocked entry is to the others.
type joinKind int

const (
	noJoin  joinKind = iota // a live unblocked entry renewed: it counted already
	newJoin                 // a new entry, at the tail
	rejoin                  // an entry that counts again at its old place (renewed after its expiry, or unblocked)
)

// queueItemUpdate is the write of the queue item of (rtype, state) with
// an unblocked entry that expires at expires: until covers it (until is
// set to untilFor(expires), on condition that it is not later already;
// with later, it is kept, on condition that it is). A join changes
// gen; a new entry (created at created, which must be past lastjoin, so
// that it is behind every entry there is) sets lastjoin; a rejoin changes
// rejoin.
func queueItemUpdate(rtype, state string, join joinKind, created, expires time.Time, later bool) store.Update {
	e := untilFor(expires)
	u := store.Update{
		Key: queueItemKey(rtype, state), Upsert: true,
		Set: map[string]string{
			attrType: rtype, attrState: state,
			store.IndexPartition: rtype, store.IndexSort: queueItemSort(state),
		},
		SetNum: map[string]int64{},
	}
	if later {
		u.Cond = []store.Cond{store.NumGE(attrUntil, e)}
	} else {
		u.Cond = []store.Cond{store.NumLt(attrUntil, e+1)}
		u.SetNum[attrUntil] = e
	}
	switch join {
	case newJoin:
		u.Set[attrGen] = newGen()
		u.Cond = append(u.Cond, store.NumLt(attrLastJoin, created.UnixNano()))
		u.SetNum[attrLastJoin] = created.UnixNano()
	case rejoin:
		u.Set[attrGen] = newGen()
		u.Set[attrRejoin] = newGen()
	}
	return u
}

// untilGrain rounds the until a queue item is given up: the polls of one
// grain all write the same value, so that concurrent ones do not fail each
// other's condition (a later expiry committed first); until overstates the
// last expiry by less than a grain, for which leases read the queue.
const untilGrain = time.Second

// untilFor is the until that covers an entry expiring at expires.
func untilFor(expires time.Time) int64 {
	e := expires.UnixNano()
	if r := e % int64(untilGrain); r != 0 {
		e += int64(untilGrain) - r
	}
	return e
}

// newGen is a fresh value for a queue item's gen: random, so that a queue
// item deleted and created again never repeats one a lease may have read.
func newGen() string { return strconv.FormatUint(rand.Uint64(), 36) }
