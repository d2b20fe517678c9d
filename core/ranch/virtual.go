package ranch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// Virtual resources (Mason, boskos-api.md §6). A virtual resource is a
// dynamic resource whose construction leases physical resources: its
// userdata key boskos.LeasedResources lists their names (a YAML list).
// Mason claims a dirty virtual resource (Acquire dirty → cleaning), then
// these use cases move it on, each one conditional write or one
// transaction, so a step that is repeated (a retried Lambda, a resumed
// workflow) finds its work done or does it once:
//
//	RecycleVirtual  the previous construction's physical resources → dirty
//	LeaseNeeds      every need at once or none, recorded in the same write
//	FreeVirtual     the virtual resource free, each physical one unowned in
//	                state = the virtual resource's name
//	AbortVirtual    everything → dirty, the reason kept in the userdata
//
// While Mason builds it, a physical resource is owned by Mason in state
// boskos.Leased and carries the name of the virtual resource it was leased
// for (attrHeldFor, not userdata): Mason's executions share one owner name,
// and that is what tells one virtual resource's leftovers from another's
// leases. Every other lease and release clears it.

// attrHeldFor names the virtual resource a physical one was leased for.
const attrHeldFor = "heldfor"

// MasonErrorKey is the userdata key in which a virtual resource whose
// construction failed keeps the reason (cleared by the next success).
const MasonErrorKey = "masonError"

// maxReasonBytes bounds the failure reason kept in the userdata.
const maxReasonBytes = 2048

// Claim names a virtual resource as held by its builder: Owner at Epoch
// (the epoch the claiming acquire returned).
type Claim struct {
	Name  string
	Owner string
	Epoch int64
}

// ErrClaimLost is wrapped by the errors of the virtual-resource use cases
// when the claim no longer holds: the virtual resource is not owned by
// Claim.Owner at Claim.Epoch in state cleaning (it was reaped, released or
// claimed again), or a physical resource it leased was taken from it.
var ErrClaimLost = errors.New("claim lost")

func claimLost(c Claim, format string, args ...any) error {
	return fmt.Errorf("%s (owner %s, epoch %d): %w: %s", c.Name, c.Owner, c.Epoch, ErrClaimLost, fmt.Sprintf(format, args...))
}

// readClaim reads the virtual resource and checks that c holds it in state
// cleaning.
func (r *Ranch) readClaim(ctx context.Context, c Claim) (store.Item, error) {
	it, err := r.store.Get(ctx, resourceKey(c.Name))
	if errors.Is(err, store.ErrNotFound) {
		return store.Item{}, claimLost(c, "the resource does not exist")
	}
	if err != nil {
		return store.Item{}, internal("mason %s: read: %w", c.Name, err)
	}
	if err := holds(c, it); err != nil {
		return store.Item{}, err
	}
	return it, nil
}

// holds checks that c holds the virtual resource item it.
func holds(c Claim, it store.Item) error {
	switch {
	case it.S(attrOwner) != c.Owner:
		return claimLost(c, "owned by %q", it.S(attrOwner))
	case it.N(attrEpoch) != c.Epoch:
		return claimLost(c, "at epoch %d", it.N(attrEpoch))
	case it.S(attrState) != boskos.Cleaning:
		return claimLost(c, "in state %s", it.S(attrState))
	}
	return nil
}

// leasedNames reads the virtual resource's leasedResources. A value that is
// not a YAML list of names cannot name anything to release: it reads as
// none (and is dropped by the next write that rewrites the key).
func (r *Ranch) leasedNames(it store.Item) []string {
	names, err := boskos.ParseLeasedResources(it.Map[attrUserData][boskos.LeasedResources])
	if err != nil {
		r.log.Warn("ranch: mason: ignoring malformed leasedResources", "resource", it.S(attrName), "err", err)
		return nil
	}
	return names
}

// heldFor reports whether the physical resource item p is leased for the
// virtual resource c.Name by c.Owner.
func heldFor(c Claim, p store.Item) bool {
	return p.S(attrOwner) == c.Owner && p.S(attrState) == boskos.Leased && p.S(attrHeldFor) == c.Name
}

// parked reports whether p sits unowned in the state named after c.Name,
// where FreeVirtual leaves the physical resources of a built virtual one.
func parked(c Claim, p store.Item) bool {
	return p.S(attrOwner) == "" && p.S(attrState) == c.Name
}

// physicals reads the resources named by names (missing ones left out).
func (r *Ranch) physicals(ctx context.Context, names []string) ([]store.Item, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if len(names) > store.MaxTransactItems-1 {
		return nil, boskos.Invalid("invalid %s: at most %d resources, got %d", boskos.LeasedResources, store.MaxTransactItems-1, len(names))
	}
	keys := make([]string, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			keys = append(keys, resourceKey(n))
		}
	}
	items, err := r.store.BatchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Key < items[j].Key })
	return items, nil
}

// settle is RecycleVirtual and AbortVirtual: in one transaction, the
// virtual resource changed by vu (conditional on its version) and every
// physical resource it names that is still its own (leased for it, or
// parked in its state) released as dirty. It returns the released names.
func (r *Ranch) settle(ctx context.Context, op string, c Claim, vu func(v store.Item) store.Update) (released []string, err error) {
	err = r.retry(ctx, op, c.Name, func(int) (bool, error) {
		v, err := r.readClaim(ctx, c)
		if err != nil {
			return true, err
		}
		ps, err := r.physicals(ctx, r.leasedNames(v))
		if err != nil {
			return true, internal("%s %s: read: %w", op, c.Name, err)
		}
		now := r.now()
		u := vu(v)
		u.Cond = append(u.Cond, store.VersionIs(v.Version))
		ops := []store.Op{{Update: &u}}
		var names []string
		for _, p := range ps {
			if !heldFor(c, p) && !parked(c, p) {
				continue // somebody else's now: leave it alone
			}
			pu := releaseUpdate(p.S(attrName), boskos.Dirty, now)
			pu.Cond = []store.Cond{store.VersionIs(p.Version)}
			ops = append(ops, store.Op{Update: &pu})
			names = append(names, p.S(attrName))
		}
		werr := r.store.Transact(ctx, ops)
		if werr == nil {
			released = names
			return true, nil
		}
		if !isRetryable(werr) {
			return true, internal("%s %s: write: %w", op, c.Name, werr)
		}
		return false, nil
	})
	return released, err
}

// RecycleVirtual releases the physical resources of the virtual resource's
// previous construction (those still its own: leased for it or parked in
// its state) as dirty, so janitors clean them, and drops its
// leasedResources, in one transaction. Physical resources somebody else
// holds now are left alone. Errors wrap ErrClaimLost when c does not hold
// the virtual resource.
func (r *Ranch) RecycleVirtual(ctx context.Context, c Claim) (released []string, err error) {
	return r.settle(ctx, "recycle", c, func(v store.Item) store.Update {
		return store.Update{
			Key:       v.Key,
			Set:       map[string]string{attrLastUpdate: fmtTime(r.now())},
			MapRemove: map[string][]string{attrUserData: {boskos.LeasedResources}},
		}
	})
}

// AbortVirtual is the failure path: in one transaction the virtual resource
// goes back to dirty, unowned, with reason under MasonErrorKey in its
// userdata and without leasedResources, and every physical resource that
// is still its own goes to dirty. A claim that no longer holds (the
// failure was already handled, or the resource was reaped) is not an
// error: there is nothing of c's left to release, and whatever the
// resource still names is recycled by its next claim.
func (r *Ranch) AbortVirtual(ctx context.Context, c Claim, reason string) (released []string, err error) {
	if len(reason) > maxReasonBytes {
		reason = reason[:maxReasonBytes]
	}
	if reason == "" {
		reason = "construction failed"
	}
	released, err = r.settle(ctx, "abort", c, func(v store.Item) store.Update {
		u := releaseUpdate(c.Name, boskos.Dirty, r.now())
		u.Key = v.Key
		u.MapSet = map[string]map[string]string{attrUserData: {MasonErrorKey: reason}}
		u.MapRemove = map[string][]string{attrUserData: {boskos.LeasedResources}}
		return u
	})
	if errors.Is(err, ErrClaimLost) {
		return nil, nil
	}
	return released, err
}

// maxNeeds bounds the physical resources of one virtual resource: they are
// leased, freed and released in one transaction with it (and leased with
// the check of the queue item of each of their types).
const maxNeeds = store.MaxTransactItems - 1

// LeaseNeeds leases, for the virtual resource c holds, needs[t] free
// resources of each type t at once, or none: in one transaction with the
// update that records their names in its leasedResources (upstream's YAML
// list) and heartbeats it. The physical resources go to boskos.Leased,
// owned by c.Owner. Free resources reserved for the request queue of a
// type (clients waiting with a request_id) are left to them. ok is false
// when some need cannot be met now; nothing is held then, and the virtual
// resource is heart-beaten. A virtual resource that already records
// leased resources, all still leased for it, is done (ok). Errors wrap
// ErrClaimLost when c does not hold the virtual resource or lost one of
// its recorded physical resources; more than 99 needs in all, counting
// one more for each type, is boskos.Invalid. Like an acquire without a
// request_id, the lease checks the queue item of each type in its
// transaction (see the package doc, "Queue order at the write").
func (r *Ranch) LeaseNeeds(ctx context.Context, c Claim, needs map[string]int) (leased []boskos.Resource, ok bool, err error) {
	total := 0
	types := make([]string, 0, len(needs))
	for t, n := range needs {
		if n < 0 {
			return nil, false, boskos.Invalid("invalid needs: %s: %d is negative", t, n)
		}
		total += n
		types = append(types, t)
	}
	if total+len(types) > maxNeeds {
		return nil, false, boskos.Invalid("invalid needs: at most %d resources in all, one fewer for each type, got %d of %d types", maxNeeds, total, len(types))
	}
	sort.Strings(types)
	consistent := false // a write failed: read the queues consistently from now on
	err = r.retry(ctx, "lease needs", c.Name, func(attempt int) (bool, error) {
		v, err := r.readClaim(ctx, c)
		if err != nil {
			return true, err
		}
		if names := r.leasedNames(v); len(names) > 0 {
			leased, err = r.alreadyLeased(ctx, c, names)
			ok = err == nil
			return true, err
		}
		now := r.now()
		u := store.Update{Key: v.Key, Cond: []store.Cond{store.VersionIs(v.Version)}, Set: heartbeatSet(boskos.Cleaning, c.Name, now)}
		ops := []store.Op{{Update: &u}}
		var picked []store.Item
		var guards, checks []store.Op
		for _, t := range types {
			n := needs[t]
			if n == 0 {
				continue
			}
			pv, err := r.scanN(ctx, t, n, consistent, now)
			if err != nil {
				return true, internal("lease needs %s: query %s: %w", c.Name, t, err)
			}
			guards = append(guards, queueGuard(pv, nil, now))
			avail := pv.free[pv.rank-1:]
			if len(avail) < n {
				return true, r.heartbeatOnly(ctx, c, v)
			}
			for _, p := range spread(avail, n) {
				pu := leaseUpdate(p, boskos.Free, boskos.Leased, c.Owner, now)
				pu.Cond = append(pu.Cond, store.VersionIs(p.Version))
				pu.Set[attrHeldFor] = c.Name
				ops = append(ops, store.Op{Update: &pu})
				picked = append(picked, pu.Apply(p))
			}
			for _, a := range pv.free[:pv.rank-1] {
				checks = append(checks, store.Op{Check: &store.Check{Key: a.Key, Cond: []store.Cond{store.VersionIs(a.Version)}}})
			}
		}
		ops = append(ops, guards...)
		if room := store.MaxTransactItems - len(ops); len(checks) > room {
			checks = checks[len(checks)-room:]
		}
		ops = append(ops, checks...)
		names := make([]string, len(picked))
		for i, p := range picked {
			names[i] = p.S(attrName)
		}
		if len(names) > 0 {
			lr, err := boskos.FormatLeasedResources(names)
			if err != nil {
				return true, internal("lease needs %s: %w", c.Name, err)
			}
			u.MapSet = map[string]map[string]string{attrUserData: {boskos.LeasedResources: lr}}
		}
		werr := r.store.Transact(ctx, ops)
		if werr == nil {
			leased = make([]boskos.Resource, len(picked))
			for i, p := range picked {
				if leased[i], err = toResource(p); err != nil {
					return true, internal("lease needs %s: %w", c.Name, err)
				}
			}
			ok = true
			return true, nil
		}
		if !isRetryable(werr) {
			return true, internal("lease needs %s: write: %w", c.Name, werr)
		}
		consistent = true
		if attempt == r.opts.MaxRetries {
			// Others kept taking the candidates: nothing is available to
			// this virtual resource right now.
			cur, err := r.readClaim(ctx, c)
			if err != nil {
				return true, err
			}
			return true, r.heartbeatOnly(ctx, c, cur)
		}
		return false, nil
	})
	return leased, ok, err
}

// spread picks n of the candidates at random (all that the index read
// brought: a page), so that constructions leasing at once do not all race
// for the same least recently updated ones (Mason needs no strict order).
func spread(cands []store.Item, n int) []store.Item {
	picked := append([]store.Item(nil), cands...)
	rand.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	return picked[:n]
}

// scanN is scan for n free resources of rtype behind the queue. The queue
// is read consistently (confirmQueue) when consistent is set or somebody
// waits as far as the index knows, as for an acquire (poolView.needsQueueRead).
// Its rank is at most len(free)+1: with more request_ids waiting than free
// resources, all of them are reserved.
func (r *Ranch) scanN(ctx context.Context, rtype string, n int, consistent bool, now time.Time) (poolView, error) {
	v, err := r.scan(ctx, rtype, boskos.Free, "", now, 0)
	if err != nil {
		return v, err
	}
	if consistent || v.rank > 1 {
		if err := r.confirmQueue(ctx, &v, "", now); err != nil {
			return v, err
		}
	}
	if v.exhausted || len(v.free)-(v.rank-1) >= n {
		v.rank = min(v.rank, len(v.free)+1) // more waiting than free: all of them reserved
		return v, nil
	}
	// scan read enough for one acquire; read the rest of the type.
	var free []store.Item
	err = r.query(ctx, store.Query{
		Partition: rtype,
		From:      boskos.Free + sep + kindFree + sep,
		To:        boskos.Free + sep + kindFree + sep + top,
	}, func(it store.Item) error {
		if isResourceKey(it.Key) && it.S(attrOwner) == "" && it.S(attrState) == boskos.Free {
			free = append(free, it)
		}
		return nil
	})
	v.free, v.exhausted = free, true
	if v.rank-1 > len(free) {
		v.rank = len(free) + 1
	}
	return v, err
}

// alreadyLeased is LeaseNeeds finding its work done: every recorded
// physical resource must still be leased for c.
func (r *Ranch) alreadyLeased(ctx context.Context, c Claim, names []string) ([]boskos.Resource, error) {
	ps, err := r.physicals(ctx, names)
	if err != nil {
		return nil, internal("lease needs %s: read: %w", c.Name, err)
	}
	byName := map[string]store.Item{}
	for _, p := range ps {
		byName[p.S(attrName)] = p
	}
	out := make([]boskos.Resource, 0, len(names))
	for _, n := range names {
		p, found := byName[n]
		if !found || !heldFor(c, p) {
			return nil, claimLost(c, "its resource %s is no longer leased for it", n)
		}
		res, err := toResource(p)
		if err != nil {
			return nil, internal("lease needs %s: %w", c.Name, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// heartbeatSet is the heartbeat of the owned resource name in state: its
// lastupdate, and its index sort value with it.
func heartbeatSet(state, name string, now time.Time) map[string]string {
	return map[string]string{attrLastUpdate: fmtTime(now), store.IndexSort: resourceSort(state, true, now, name)}
}

// heartbeatOnly stamps the virtual resource's lastupdate (the claim's
// heartbeat while it waits for its needs).
func (r *Ranch) heartbeatOnly(ctx context.Context, c Claim, v store.Item) error {
	u := store.Update{
		Key:  v.Key,
		Cond: append(ownerConds(c.Owner, &c.Epoch), store.Eq(attrState, boskos.Cleaning)),
		Set:  heartbeatSet(boskos.Cleaning, c.Name, r.now()),
	}
	_, err := r.store.Update(ctx, u)
	if err == nil {
		return nil
	}
	if isRetryable(err) {
		if _, err := r.readClaim(ctx, c); err != nil {
			return err
		}
		return nil // a concurrent heartbeat of the same claim
	}
	return internal("heartbeat %s: %w", c.Name, err)
}

// HeartbeatVirtual stamps the lastupdate of the virtual resource c holds
// and of every physical resource leased for it, so that a reaper does not
// take them while a long step (a converter) runs. Errors wrap ErrClaimLost
// when c does not hold the virtual resource or one of them.
func (r *Ranch) HeartbeatVirtual(ctx context.Context, c Claim) error {
	return r.retry(ctx, "heartbeat", c.Name, func(int) (bool, error) {
		v, err := r.readClaim(ctx, c)
		if err != nil {
			return true, err
		}
		names := r.leasedNames(v)
		ps, err := r.physicals(ctx, names)
		if err != nil {
			return true, internal("heartbeat %s: read: %w", c.Name, err)
		}
		if len(ps) != len(names) {
			return true, claimLost(c, "one of its resources %v is gone", names)
		}
		now := r.now()
		ops := make([]store.Op, 0, 1+len(ps))
		for _, it := range append([]store.Item{v}, ps...) {
			if it.Key != v.Key && !heldFor(c, it) {
				return true, claimLost(c, "its resource %s is no longer leased for it", it.S(attrName))
			}
			u := store.Update{Key: it.Key, Cond: []store.Cond{store.VersionIs(it.Version)}, Set: heartbeatSet(it.S(attrState), it.S(attrName), now)}
			ops = append(ops, store.Op{Update: &u})
		}
		werr := r.store.Transact(ctx, ops)
		if werr == nil {
			return true, nil
		}
		if !isRetryable(werr) {
			return true, internal("heartbeat %s: write: %w", c.Name, werr)
		}
		return false, nil
	})
}

// FreeVirtual ends a construction: in one transaction the virtual resource
// c holds goes to free, unowned (with its type's lifespan as expiration,
// as a release sets it), and each physical resource leased for it goes
// unowned to the state named after it, where the Mason client takes them
// along (AcquireByState). A virtual resource already freed by c (unowned
// or acquired since, at a later epoch) is done. Errors wrap ErrClaimLost
// when c lost it, or one of its physical resources, before.
func (r *Ranch) FreeVirtual(ctx context.Context, c Claim) error {
	return r.retry(ctx, "free", c.Name, func(int) (bool, error) {
		v, err := r.store.Get(ctx, resourceKey(c.Name))
		if errors.Is(err, store.ErrNotFound) {
			return true, claimLost(c, "the resource does not exist")
		}
		if err != nil {
			return true, internal("free %s: read: %w", c.Name, err)
		}
		if err := holds(c, v); err != nil {
			if freedBy(c, v) {
				return true, nil
			}
			return true, err
		}
		names := r.leasedNames(v)
		ps, err := r.physicals(ctx, names)
		if err != nil {
			return true, internal("free %s: read: %w", c.Name, err)
		}
		byName := map[string]store.Item{}
		for _, p := range ps {
			byName[p.S(attrName)] = p
		}
		drlcs, err := r.drlcMap(ctx, false)
		if err != nil {
			return true, internal("free %s: %w", c.Name, err)
		}
		now := r.now()
		u := releaseUpdate(c.Name, boskos.Free, now)
		u.Cond = []store.Cond{store.VersionIs(v.Version)}
		if d, ok := drlcs[v.S(attrType)]; ok && d.LifeSpan != nil {
			u.Set[attrExpiration] = fmtTime(now.Add(*d.LifeSpan))
		}
		ops := []store.Op{{Update: &u}}
		for _, n := range names {
			p, found := byName[n]
			if !found || !heldFor(c, p) {
				return true, claimLost(c, "its resource %s is no longer leased for it", n)
			}
			pu := releaseUpdate(n, c.Name, now)
			pu.Cond = []store.Cond{store.VersionIs(p.Version)}
			ops = append(ops, store.Op{Update: &pu})
		}
		werr := r.store.Transact(ctx, ops)
		if werr == nil {
			return true, nil
		}
		if !isRetryable(werr) {
			return true, internal("free %s: write: %w", c.Name, werr)
		}
		return false, nil
	})
}

// freedBy reports whether the virtual resource item v was freed by c: it
// left c's claim for free, or a consumer acquired it since (a later epoch
// under another owner; a later claim by c.Owner is a lost claim).
func freedBy(c Claim, v store.Item) bool {
	if v.N(attrEpoch) > c.Epoch {
		return v.S(attrOwner) != c.Owner
	}
	return v.N(attrEpoch) == c.Epoch && v.S(attrOwner) == "" && v.S(attrState) == boskos.Free
}

// DynamicTypes returns the dynamic resource life cycles in force, by type
// (cached for Options.DRLCCacheTTL). The map must not be changed.
func (r *Ranch) DynamicTypes(ctx context.Context) (map[string]boskos.DRLC, error) {
	m, err := r.drlcMap(ctx, false)
	if err != nil {
		return nil, internal("dynamic types: %w", err)
	}
	return m, nil
}

// VirtualResources reads the virtual resource c holds and the physical
// resources leased for it, in the order its leasedResources lists them.
// Errors wrap ErrClaimLost when c does not hold the virtual resource or
// one of them.
func (r *Ranch) VirtualResources(ctx context.Context, c Claim) (boskos.Resource, []boskos.Resource, error) {
	v, err := r.readClaim(ctx, c)
	if err != nil {
		return boskos.Resource{}, nil, err
	}
	res, err := toResource(v)
	if err != nil {
		return boskos.Resource{}, nil, internal("mason %s: %w", c.Name, err)
	}
	leased, err := r.alreadyLeased(ctx, c, r.leasedNames(v))
	if err != nil {
		return boskos.Resource{}, nil, err
	}
	return res, leased, nil
}

// OwnedBy returns the resources of rtype in state owned by owner whose
// lastupdate is at least idle ago, least recently updated first (from the
// index, which may lag).
func (r *Ranch) OwnedBy(ctx context.Context, rtype, state, owner string, idle time.Duration) ([]boskos.Resource, error) {
	if err := validateFields("type", rtype, "state", state, "owner", owner); err != nil {
		return nil, err
	}
	cutoff := fmtTime(r.now().Add(-idle))
	var out []boskos.Resource
	err := r.query(ctx, store.Query{
		Partition: rtype,
		From:      state + sep + kindOwned + sep,
		To:        state + sep + kindOwned + sep + cutoff + sep + top,
	}, func(it store.Item) error {
		if !isResourceKey(it.Key) || it.S(attrType) != rtype || it.S(attrState) != state ||
			it.S(attrOwner) != owner || it.S(attrLastUpdate) > cutoff {
			return nil
		}
		res, err := toResource(it)
		if err != nil {
			return err
		}
		out = append(out, res)
		return nil
	})
	if err != nil {
		return nil, internal("owned %s: query: %w", rtype, err)
	}
	return out, nil
}
