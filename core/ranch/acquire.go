package ranch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// Acquire query paging: the first page is usually the only one.
const (
	firstPageLimit = 32
	nextPageLimit  = 100
	// extraCandidates is how many free resources past the caller's rank
	// acquire reads, to move on after a conflict without re-querying.
	extraCandidates = 4
	// spreadCandidates is the same when Options.SpreadWindow is set.
	spreadCandidates = 16
	// lostRoundsLimit is how many times acquire looks again after other
	// clients took every candidate it saw. Each round is a fresh race with
	// every other poller, so more rounds mostly add failed conditional
	// writes; after these, the caller hears the retryable 404. A round
	// lost to request_ids ranked ahead, whom the next look shows served
	// (a lower rank), does not count: a waiting request_id is not turned
	// away while the queue ahead of it moves and resources are free.
	lostRoundsLimit = 2
)

// poolView is what one acquire saw of a (type, state) pair.
type poolView struct {
	rtype, state string
	head         queueHead    // the pair's queue item
	queue        []queueEntry // FIFO
	own          *queueEntry  // the caller's entry, if any
	rank         int          // 1-based
	free         []store.Item // least recently updated first
	exhausted    bool         // free holds every free resource of the pair
	// consistent: head and queue come from readQueue (strongly
	// consistent), not from the index query, which may lag.
	consistent bool
	requestID  string // the caller's request_id ("" for none)
}

// Acquire moves the caller's rank-th least-recently-updated unowned resource
// of type rtype in state to dest, owned by owner. requestID, when set, holds
// the caller's place in the (type, state) queue between polls: the place
// counts for others until RequestTTL after the last poll, and is the
// caller's own for another minute (queueGrace, upstream's GC period); a poll
// after that is a new id at the tail of the queue. It returns
// boskos.TypeNotFound when rtype has no resources and
// boskos.ResourceNotFound(rtype) when none is available at the caller's
// rank; with a requestID, that error carries the id's place in the queue
// (boskos.QueueOf).
func (r *Ranch) Acquire(ctx context.Context, rtype, state, dest, owner, requestID string) (boskos.Resource, error) {
	if err := validateFields("type", rtype, "state", state, "dest", dest, "owner", owner); err != nil {
		return boskos.Resource{}, err
	}
	if requestID != "" {
		if err := boskos.ValidateField("request_id", requestID); err != nil {
			return boskos.Resource{}, err
		}
	}
	start := r.now()
	leave, err := r.acquireGates.enter(ctx, rtype+sep+state)
	if err != nil {
		return boskos.Resource{}, internal("acquire %s: %w", rtype, err)
	}
	defer leave()
	var lost *poolView // the last view whose every candidate others took first
	lostRounds := 0
	lostRank := 0 // the rank in lost, until the next view
	var res boskos.Resource
	forceQuotas := false
	consistent := false // a lease found the queue changed: read it consistently from now on
	err = r.retry(ctx, "acquire", rtype, func(attempt int) (bool, error) {
		quotas, err := r.quotaSet(ctx, forceQuotas)
		if err != nil {
			return true, internal("acquire %s: %w", rtype, err)
		}
		qs := quotas.matching(rtype, owner)
		now := r.now()
		v, err := r.view(ctx, rtype, state, requestID, consistent, now)
		if err != nil {
			return true, internal("acquire %s: query: %w", rtype, err)
		}
		if lostRank > 0 && v.rank < lostRank {
			// The race was lost to request_ids ranked ahead, who were
			// served: the queue moved, which is no lost round.
			lostRounds--
		}
		lostRank = 0
		if v.rank > len(v.free) {
			// view reads until the rank is covered, so v.exhausted holds.
			return true, r.miss(ctx, v, rtype, state, requestID, now)
		}
		got, outcome, err := r.tryCandidates(ctx, v, qs, state, dest, owner, now)
		if errors.Is(err, errQuotaStale) {
			forceQuotas = true
			return false, nil
		}
		if boskos.ErrorCode(err) == boskos.EOverQuota {
			// The caller keeps its place, but while it is over quota
			// its entry does not reserve a resource for it (see
			// rankOf): others are served meanwhile.
			if requestID != "" {
				if err := r.enqueue(ctx, rtype, state, requestID, v.own, true, r.now()); err != nil {
					return true, err
				}
			}
			return true, err
		}
		if err != nil {
			return true, err
		}
		switch outcome {
		case leased:
			if r.opts.OnAcquire != nil {
				waited := r.now().Sub(start)
				if v.own != nil {
					waited = r.now().Sub(v.own.created)
				}
				r.opts.OnAcquire(rtype, state, dest, requestID != "", waited)
			}
			res = got
			return true, nil
		case allTaken:
			// A race lost to other callers (of the same rank, unless the
			// next view shows the queue ahead served).
			lostRounds++
			lostRank = v.rank
		case queueMoved:
			// The queue is not what the view said: somebody joined (or
			// the index lagged). Read it consistently from now on.
			consistent = true
		case reservedTaken:
			// The queue ahead was served meanwhile.
		}
		// The last two do not use up lostRoundsLimit, only the retries:
		// the queue moved, the caller looks again.
		lost = &v
		if lostRounds >= lostRoundsLimit || attempt == r.opts.MaxRetries {
			// Other clients won every race for the resources this caller
			// saw: nothing is available to it right now. That is
			// upstream's retryable 404, not a failure; the request id
			// keeps its place.
			contended := boskos.ResourceNotFound(rtype)
			contended.Err = boskos.ErrContended
			return true, r.refuse(ctx, *lost, requestID, contended, r.now())
		}
		return false, nil
	})
	if err != nil {
		return boskos.Resource{}, err
	}
	return res, nil
}

// view reads what an acquire needs of (rtype, state): one index query for
// the queue item, the queue and enough free resources for the caller's
// rank; then, when consistent is set or the index read alone cannot be
// trusted about the queue (needsQueueRead), the queue again with readQueue
// (see the package doc, "Queue order at the write").
func (r *Ranch) view(ctx context.Context, rtype, state, requestID string, consistent bool, now time.Time) (poolView, error) {
	v, err := r.scan(ctx, rtype, state, requestID, now, 0)
	if err != nil || (!consistent && !v.needsQueueRead()) {
		return v, err
	}
	return v, r.confirmQueue(ctx, &v, requestID, now)
}

// needsQueueRead reports whether v, read from the index, must be checked
// against a strongly consistent read of the queue before the acquire acts
// on it: a lease while somebody waits (the caller's own entry, or live
// request_ids ranked ahead of it). A lease while nobody waits needs no
// read (its transaction checks that nobody waits), nor does a refusal: one
// that rests on a lagging read (a request_id just served still shown
// waiting ahead) only makes the caller poll again, and reading the queue
// again for every refused poll would double the cost of waiting.
func (v poolView) needsQueueRead() bool {
	return v.rank <= len(v.free) && (v.rank > 1 || v.own != nil)
}

// confirmQueue replaces v's queue item and queue by a strongly consistent
// read (readQueue), ranks the caller again, and reads more free resources
// when the queue turned out longer than the index showed.
func (r *Ranch) confirmQueue(ctx context.Context, v *poolView, requestID string, now time.Time) error {
	head, queue, err := r.readQueue(ctx, v.rtype, v.state)
	if err != nil {
		return err
	}
	v.head, v.queue, v.consistent = head, queue, true
	v.rank, v.own = rankOf(queue, requestID, now)
	if v.rank <= len(v.free) || v.exhausted {
		return nil
	}
	more, err := r.scan(ctx, v.rtype, v.state, requestID, now, v.rank)
	if err != nil {
		return err
	}
	v.free, v.exhausted = more.free, more.exhausted
	return nil
}

// scan reads the queue item and the queue of (rtype, state) and enough free
// resources for the caller's rank (or for rank need, if larger), in as few
// index queries as possible (one when the queue is short).
func (r *Ranch) scan(ctx context.Context, rtype, state, requestID string, now time.Time, need int) (poolView, error) {
	v := poolView{rtype: rtype, state: state, requestID: requestID}
	want := extraCandidates
	if r.opts.SpreadWindow > 0 {
		want = spreadCandidates
	}
	q := store.Query{
		Partition: rtype,
		From:      state + sep + kindHead,
		To:        state + sep + kindFree + sep + top,
		Limit:     firstPageLimit,
	}
	headKey := queueItemKey(rtype, state)
	queueDone := false
	// A resource (or entry) that moved in the index between two pages is
	// seen twice: the first sight counts (a lease of it is conditioned on
	// the version seen, so a stale one only fails).
	seen := map[string]bool{}
	for {
		page, err := r.store.Query(ctx, q)
		if err != nil {
			return v, err
		}
		for _, it := range page.Items {
			if it.S(attrState) != state || seen[it.Key] {
				continue
			}
			seen[it.Key] = true
			switch kindOf(it.S(store.IndexSort)) {
			case kindHead:
				if it.Key == headKey {
					v.head = toQueueHead(it)
				}
			case kindQueue:
				if !strings.HasPrefix(it.Key, queuePrefix) {
					continue
				}
				e, err := toQueueEntry(it)
				if err != nil {
					r.log.Warn("ranch: skipping malformed queue entry", "key", it.Key, "err", err)
					continue
				}
				v.queue = append(v.queue, e)
			case kindFree:
				if !isResourceKey(it.Key) || it.S(attrOwner) != "" {
					continue
				}
				if !queueDone {
					queueDone = true
					v.rank, v.own = rankOf(v.queue, requestID, now)
				}
				v.free = append(v.free, it)
			}
		}
		if page.Next == "" {
			v.exhausted = true
			break
		}
		if queueDone && len(v.free) >= max(v.rank, need)+want {
			break
		}
		q.Cursor = page.Next
		q.Limit = nextPageLimit
	}
	if !queueDone {
		v.rank, v.own = rankOf(v.queue, requestID, now)
	}
	return v, nil
}

// rankOf computes the caller's 1-based rank in a FIFO queue (upstream's
// GetRank): an empty id is behind every live entry; a known id is behind the
// live entries ahead of it, even if its own entry expired, as long as it
// expired no more than queueGrace ago (upstream keeps an expired entry's
// place until its GC, which runs every minute, removes it); an unknown id is
// behind every live entry (and new). An entry whose last poll was refused
// for its owner's quota (blocked) keeps its place but is not ahead of
// anyone: it reserves no resource while it could not take one. An own entry past the grace counts as
// absent, exactly as if GCRequestQueue had already deleted it: own is nil,
// the id is new and goes to the tail. Its stale item is left in the store
// (it is never live again): the next enqueue of the id overwrites it, or
// GCRequestQueue or the store's TTL removes it.
func rankOf(queue []queueEntry, id string, now time.Time) (int, *queueEntry) {
	ahead := 0
	for i := range queue {
		e := &queue[i]
		if id != "" && e.id == id && !e.collectable(now) {
			return ahead + 1, e
		}
		if e.live(now) && !e.blocked {
			ahead++
		}
	}
	return ahead + 1, nil
}

// leaseOutcome is how tryCandidates ended, when it did not fail.
type leaseOutcome int

const (
	leased        leaseOutcome = iota
	allTaken                   // others took every candidate first
	reservedTaken              // a resource reserved for a request_id ranked ahead was taken
	queueMoved                 // the queue item was not as the view said
)

// tryCandidates tries to take one of the free resources from the caller's
// rank on, moving to the next one on a conflict. It ends with allTaken
// when all of them were taken meanwhile, and with reservedTaken or
// queueMoved when a resource reserved for the request_ids ranked ahead was
// taken or the queue item changed (see take): the view is stale then, and
// the caller must look again.
func (r *Ranch) tryCandidates(ctx context.Context, v poolView, qs []quotaRule, state, dest, owner string, now time.Time) (boskos.Resource, leaseOutcome, error) {
	ahead := v.free[:v.rank-1]
	if limit := maxReservedChecks - len(qs); len(ahead) > limit {
		ahead = ahead[len(ahead)-limit:]
	}
	cands := append([]store.Item(nil), v.free[v.rank-1:]...)
	for len(cands) > 0 {
		i := r.pick(cands)
		c := cands[i]
		cands = append(cands[:i], cands[i+1:]...)
		it, err := r.take(ctx, c, ahead, v, qs, state, dest, owner, now)
		if err == nil {
			res, err := toResource(it)
			if err != nil {
				return boskos.Resource{}, 0, internal("acquire %s: %w", c.Key, err)
			}
			return res, leased, nil
		}
		switch {
		case errors.Is(err, errReservedTaken):
			r.log.Debug("ranch: acquire: a resource reserved for the queue was taken, looking again", "key", c.Key)
			return boskos.Resource{}, reservedTaken, nil
		case errors.Is(err, errQueueMoved):
			r.log.Debug("ranch: acquire: the queue changed, looking again", "type", v.rtype, "state", v.state)
			return boskos.Resource{}, queueMoved, nil
		case errors.Is(err, errQuotaStale) || boskos.ErrorCode(err) == boskos.EOverQuota:
			return boskos.Resource{}, 0, err
		case !isRetryable(err):
			return boskos.Resource{}, 0, internal("acquire %s: %w", c.Key, err)
		}
		r.log.Debug("ranch: acquire candidate taken, moving on", "key", c.Key)
	}
	return boskos.Resource{}, allTaken, nil
}

// pick returns the index of the candidate to try: the first one, or with a
// SpreadWindow a random one among those updated within the window of the
// first.
func (r *Ranch) pick(cands []store.Item) int {
	if r.opts.SpreadWindow <= 0 || len(cands) == 1 {
		return 0
	}
	first, err := parseTime(cands[0].S(attrLastUpdate))
	if err != nil {
		return 0
	}
	limit := fmtTime(first.Add(r.opts.SpreadWindow))
	n := 1
	for n < len(cands) && cands[n].S(attrLastUpdate) <= limit {
		n++
	}
	return rand.IntN(n)
}

// leaseUpdate is the write that hands the free resource c to owner.
func leaseUpdate(c store.Item, state, dest, owner string, now time.Time) store.Update {
	name := c.S(attrName)
	return store.Update{
		Key:  c.Key,
		Cond: []store.Cond{store.Eq(attrState, state), store.Eq(attrOwner, "")},
		Set: map[string]string{
			attrOwner:       owner,
			attrState:       dest,
			attrLastUpdate:  fmtTime(now),
			attrAcquired:    fmtTime(now),
			attrHeldFor:     "",
			attrLeasedAt:    fmtTime(now),
			attrRequestID:   "",
			attrQueuedAt:    "",
			attrCause:       "",
			store.IndexSort: resourceSort(dest, true, now, name),
		},
		AddNum: map[string]int64{attrEpoch: 1},
	}
}

// stampRequest records in the lease u the request_id it answers and when
// that id was first queued (own's creation), for its history record.
func stampRequest(u store.Update, requestID string, own *queueEntry) {
	u.Set[attrRequestID] = requestID
	if own != nil {
		u.Set[attrQueuedAt] = fmtTime(own.created)
	}
}

// maxReservedChecks bounds the resources reserved for the queue that one
// lease checks (take): a transaction holds at most store.MaxTransactItems
// operations, three of which are the lease, the caller's queue entry and
// the queue item, and the quota counters take their share of the rest.
const maxReservedChecks = store.MaxTransactItems - 3

// errReservedTaken is take's error when a resource reserved for a
// request_id ranked ahead of the caller was no longer as the caller's view
// saw it.
var errReservedTaken = errors.New("a resource reserved for the queue was taken")

// errQueueMoved is take's error when the queue item was no longer as the
// caller's view needs it: somebody waits that the view did not count.
var errQueueMoved = errors.New("the request queue changed")

// take leases candidate c in one transaction: the conditional update
// (conditioned on the version c shows, since the transaction returns no
// item and the lease is computed from c), the check of the queue item that
// proves the caller's rank still holds (queueGuard: nobody waits, or
// nobody started counting for others since the view's consistent read,
// else errQueueMoved), the deletion of the caller's entry (v.own), the
// conditional increment of the counter of each quota in qs (which fails
// when one has no room: boskos.OverQuota, or errQuotaStale when the quota
// changed since qs was read), and a version check of every free resource
// in ahead, the ones the caller's view reserved for the request_ids ranked
// ahead of it. The last enforces the queue at the write: if any of them
// was taken (or changed) since the caller's read, by an acquire ranked
// ahead, an /acquirebystate, or an acquire of another process whose view
// was older, the caller's rank no longer holds and nothing is written
// (errReservedTaken). v.own is nil for an entry that rankOf counted as
// absent (expired more than queueGrace ago): take leaves that stale item
// alone (see rankOf).
func (r *Ranch) take(ctx context.Context, c store.Item, ahead []store.Item, v poolView, qs []quotaRule, state, dest, owner string, now time.Time) (store.Item, error) {
	u := leaseUpdate(c, state, dest, owner, now)
	stampRequest(u, v.requestID, v.own)
	if len(qs) > 0 {
		u.Set[attrQuotas] = quotaKeys(qs)
	}
	u.Cond = append(u.Cond, store.VersionIs(c.Version))
	own := v.own
	for {
		ops := []store.Op{{Update: &u}}
		ownAt := -1
		if own != nil {
			ownAt = len(ops)
			ops = append(ops, store.Op{Delete: &store.Delete{Key: own.item.Key}})
		}
		guardAt := len(ops)
		ops = append(ops, queueGuard(v, own, now))
		countersFrom := len(ops)
		for _, q := range qs {
			inc := counterInc(q, 1)
			ops = append(ops, store.Op{Update: &inc})
		}
		checksFrom := len(ops)
		for _, a := range ahead {
			ops = append(ops, store.Op{Check: &store.Check{Key: a.Key, Cond: []store.Cond{store.VersionIs(a.Version)}}})
		}
		err := r.store.Transact(ctx, ops)
		if err == nil {
			return u.Apply(c), nil
		}
		var txe *store.TxError
		if !errors.As(err, &txe) {
			return store.Item{}, err
		}
		switch {
		case txe.Index >= checksFrom:
			return store.Item{}, fmt.Errorf("%w: %w", errReservedTaken, err)
		case txe.Index >= countersFrom:
			return store.Item{}, quotaFailure(qs[txe.Index-countersFrom], 1, owner, c.S(attrType), err)
		case txe.Index == guardAt && isRetryable(err):
			return store.Item{}, fmt.Errorf("%w: %w", errQueueMoved, err)
		case txe.Index == ownAt && errors.Is(err, store.ErrNotFound):
			// The entry is gone (collected): lease without it.
			own = nil
			continue
		}
		return store.Item{}, err
	}
}

// miss answers an acquire that found no resource at the caller's rank: it
// queues the request id, maybe creates one dynamic resource, and returns
// the 404 that the counts before the creation call for.
func (r *Ranch) miss(ctx context.Context, v poolView, rtype, state, requestID string, now time.Time) error {
	exists := len(v.free) > 0
	if !exists {
		n, err := r.typeCount(ctx, rtype)
		if err != nil {
			return internal("acquire %s: count: %w", rtype, err)
		}
		exists = n > 0
	}
	notFound := boskos.ResourceNotFound(rtype)
	if !exists {
		notFound = boskos.TypeNotFound(rtype)
	}
	if requestID == "" {
		return notFound
	}
	// Queue the id, unless the type has no resources and no life cycle
	// that could create one: a client naming made-up types must not fill
	// the store with queue entries (upstream queues them in memory).
	queue := exists || v.own != nil
	if !queue {
		drlcs, err := r.drlcMap(ctx, false)
		if err != nil {
			return internal("acquire %s: %w", rtype, err)
		}
		_, queue = drlcs[rtype]
	}
	err := error(notFound)
	if queue {
		err = r.refuse(ctx, v, requestID, notFound, now)
	}
	if v.own == nil {
		r.createOnDemand(ctx, rtype)
	}
	return err
}

// createOnDemand creates one resource of a DRLC type when the type is below
// its max-count (the counter's condition keeps the bound across processes).
// Failures are only logged: the caller gets its 404 either way.
func (r *Ranch) createOnDemand(ctx context.Context, rtype string) {
	drlcs, err := r.drlcMap(ctx, false)
	if err != nil {
		r.log.Error("ranch: on-demand creation: reading life cycles failed", "type", rtype, "err", err)
		return
	}
	d, ok := drlcs[rtype]
	if !ok || d.MaxCount <= 0 {
		return
	}
	st := d.InitialState
	if st == "" {
		st = boskos.Free
	}
	name := uuid.NewString()
	created, err := r.createResource(ctx, newResourceItem(rtype, name, st, r.now()), int64(d.MaxCount))
	switch {
	case err != nil:
		r.log.Error("ranch: on-demand creation failed", "type", rtype, "err", err)
	case created:
		r.log.Info("ranch: created dynamic resource on demand", "type", rtype, "name", name)
	default:
		r.log.Debug("ranch: on-demand creation skipped: type at max-count", "type", rtype, "max-count", d.MaxCount)
	}
}

// createResource creates it and counts it, in one transaction. With
// maxCount > 0 the creation only happens while the type has fewer resources;
// created is false when that bound (or an existing item of the same name)
// stopped it.
func (r *Ranch) createResource(ctx context.Context, it store.Item, maxCount int64) (created bool, err error) {
	rtype := it.S(attrType)
	counter := store.Update{Key: typeCountKey(rtype), Upsert: true, AddNum: map[string]int64{attrCount: 1}}
	if maxCount > 0 {
		counter.Cond = []store.Cond{store.NumLt(attrCount, maxCount)}
	}
	err = r.retry(ctx, "create", it.Key, func(int) (bool, error) {
		err := r.store.Transact(ctx, []store.Op{{Create: &it}, {Update: &counter}})
		if err == nil {
			created = true
			return true, nil
		}
		if errors.Is(err, store.ErrExists) {
			return true, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return true, fmt.Errorf("create %s: %w", it.Key, err)
		}
		if maxCount > 0 {
			n, err := r.typeCount(ctx, rtype)
			if err != nil {
				return true, fmt.Errorf("create %s: count: %w", it.Key, err)
			}
			if n >= maxCount {
				return true, nil
			}
		}
		return false, nil
	})
	return created, err
}

// deleteResource deletes the unowned resource it and uncounts it, in one
// transaction. keep, if set, is asked again after a conflict with the fresh
// item; deleted is false when the item is gone, owned, or keep said no.
func (r *Ranch) deleteResource(ctx context.Context, it store.Item, keep func(store.Item) bool) (deleted bool, err error) {
	err = r.retry(ctx, "delete", it.Key, func(int) (bool, error) {
		if it.S(attrOwner) != "" || (keep != nil && keep(it)) {
			return true, nil
		}
		counter := store.Update{Key: typeCountKey(it.S(attrType)), Upsert: true, AddNum: map[string]int64{attrCount: -1}}
		del := store.Delete{Key: it.Key, Cond: []store.Cond{store.VersionIs(it.Version), store.Eq(attrOwner, "")}}
		werr := r.store.Transact(ctx, []store.Op{{Delete: &del}, {Update: &counter}})
		if werr == nil {
			deleted = true
			return true, nil
		}
		if !isRetryable(werr) {
			return true, fmt.Errorf("delete %s: %w", it.Key, werr)
		}
		cur, err := r.store.Get(ctx, it.Key)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return true, fmt.Errorf("delete %s: %w", it.Key, err)
		}
		it = cur
		return false, nil
	})
	return deleted, err
}

// AcquireByState moves every named resource in state to dest, owned by
// owner, all or nothing (upstream keeps the partial acquisitions; this does
// not). Duplicate names count once; an empty name never matches. The
// resources come back least recently updated first (by their previous
// lastupdate), ties by name. It returns boskos.ResourceNotFound(state) when
// any name is missing, in another state or owned, boskos.OverQuota when
// they would take owner over a quota, and boskos.Invalid for more than
// store.MaxTransactItems distinct names (fewer by the number of quota
// counters they are counted in).
func (r *Ranch) AcquireByState(ctx context.Context, state, dest, owner string, names []string) ([]boskos.Resource, error) {
	if err := validateFields("state", state, "dest", dest, "owner", owner); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, boskos.Invalid("invalid names: must be set")
	}
	seen := map[string]bool{}
	var uniq []string
	for _, n := range names {
		if n == "" {
			return nil, boskos.ResourceNotFound(state)
		}
		if err := boskos.ValidateField("name", n); err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	if len(uniq) > store.MaxTransactItems {
		return nil, boskos.Invalid("invalid names: at most %d distinct resources can be acquired at once, got %d", store.MaxTransactItems, len(uniq))
	}
	keys := make([]string, len(uniq))
	for i, n := range uniq {
		keys[i] = resourceKey(n)
	}
	var out []boskos.Resource
	forceQuotas := false
	err := r.retry(ctx, "acquirebystate", state, func(int) (bool, error) {
		quotas, err := r.quotaSet(ctx, forceQuotas)
		if err != nil {
			return true, internal("acquirebystate: %w", err)
		}
		items, err := r.store.BatchGet(ctx, keys)
		if err != nil {
			return true, internal("acquirebystate: read: %w", err)
		}
		if len(items) != len(keys) {
			return true, boskos.ResourceNotFound(state)
		}
		for _, it := range items {
			if it.S(attrState) != state || it.S(attrOwner) != "" {
				return true, boskos.ResourceNotFound(state)
			}
		}
		sort.Slice(items, func(i, j int) bool {
			a, b := items[i].S(attrLastUpdate), items[j].S(attrLastUpdate)
			if a != b {
				return a < b
			}
			return items[i].S(attrName) < items[j].S(attrName)
		})
		now := r.now()
		ops := make([]store.Op, len(items))
		ups := make([]store.Update, len(items))
		var tallies []quotaTally // the counters to increment, and by how much
		for i, it := range items {
			ups[i] = leaseUpdate(it, state, dest, owner, now)
			ups[i].Cond = append(ups[i].Cond, store.VersionIs(it.Version))
			ops[i] = store.Op{Update: &ups[i]}
			if qs := quotas.matching(it.S(attrType), owner); len(qs) > 0 {
				ups[i].Set[attrQuotas] = quotaKeys(qs)
				tallies = tally(tallies, qs)
			}
		}
		if n := len(items) + len(tallies); n > store.MaxTransactItems {
			return true, boskos.Invalid("invalid names: %d resources and the %d quota counters they are counted in exceed the %d items of one acquisition", len(items), len(tallies), store.MaxTransactItems)
		}
		for _, t := range tallies {
			inc := counterInc(t.q, t.n)
			ops = append(ops, store.Op{Update: &inc})
		}
		err = r.store.Transact(ctx, ops)
		var txe *store.TxError
		if errors.As(err, &txe) && txe.Index >= len(items) {
			t := tallies[txe.Index-len(items)]
			err = quotaFailure(t.q, t.n, owner, t.q.Type, err)
			if errors.Is(err, errQuotaStale) {
				forceQuotas = true
				return false, nil
			}
			if boskos.ErrorCode(err) == boskos.EOverQuota {
				return true, err
			}
		}
		if err == nil {
			out = make([]boskos.Resource, len(items))
			for i, it := range items {
				res, err := toResource(ups[i].Apply(it))
				if err != nil {
					return true, internal("acquirebystate: %w", err)
				}
				out[i] = res
			}
			return true, nil
		}
		if !isRetryable(err) {
			return true, internal("acquirebystate: write: %w", err)
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
