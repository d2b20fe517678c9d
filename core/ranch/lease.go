package ranch

import (
	"context"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// releaseUpdate is the write that hands name back in state dest.
func releaseUpdate(name, dest string, now time.Time) store.Update {
	return store.Update{
		Key: resourceKey(name),
		Set: map[string]string{
			attrOwner:       "",
			attrState:       dest,
			attrLastUpdate:  fmtTime(now),
			attrAcquired:    "",
			attrHeldFor:     "",
			attrLeasedAt:    "",
			attrRequestID:   "",
			attrQueuedAt:    "",
			attrCause:       "",
			store.IndexSort: resourceSort(dest, false, now, name),
		},
	}
}

// ownerConds are the conditions that owner (and epoch, when set) hold name.
func ownerConds(owner string, epoch *int64) []store.Cond {
	c := []store.Cond{store.Eq(attrOwner, owner)}
	if epoch != nil {
		c = append(c, store.NumEq(attrEpoch, *epoch))
	}
	return c
}

// checkHolder explains why owner (with epoch) does not hold the resource
// whose stored item is it; nil when it does.
func checkHolder(name string, it store.Item, found bool, owner string, epoch *int64) error {
	if !found {
		return boskos.ResourceNotFound(name)
	}
	if cur := it.S(attrOwner); cur != owner {
		return boskos.OwnerMismatch(owner, cur)
	}
	if epoch != nil && it.N(attrEpoch) != *epoch {
		return boskos.StaleEpoch(name, *epoch, it.N(attrEpoch))
	}
	return nil
}

// Release hands a resource back, moving it to dest. epoch, when not nil,
// must equal the resource's epoch. The state is not checked. Expiration:
// cleared when the type has no DRLC, now + lifespan when its DRLC has a
// lifespan, unchanged otherwise. The resource leaves the quota counters it
// was counted in when it was acquired, in the same transaction. Errors:
// boskos.ResourceNotFound(name) (404), boskos.OwnerMismatch (401, also for
// an unowned resource), boskos.StaleEpoch (409).
func (r *Ranch) Release(ctx context.Context, name, dest, owner string, epoch *int64) error {
	if err := validateFields("name", name, "dest", dest, "owner", owner); err != nil {
		return err
	}
	force := false
	return r.retry(ctx, "release", name, func(int) (bool, error) {
		drlcs, err := r.drlcMap(ctx, force)
		if err != nil {
			return true, internal("release %s: %w", name, err)
		}
		quotas, err := r.quotaSet(ctx, false)
		if err != nil {
			return true, internal("release %s: %w", name, err)
		}
		now := r.now()
		var cur store.Item
		var found bool
		readFirst := quotas.anyMatches(owner)
		if readFirst {
			// Probably counted in a quota: read first, rather than send a
			// write that fails.
			cur, err = r.store.Get(ctx, resourceKey(name))
			found = err == nil
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return true, internal("release %s: %w", name, err)
			}
		} else {
			// Common case: one write, valid when the type has no DRLC and
			// the resource is counted in no quota.
			u := releaseUpdate(name, dest, now)
			u.Cond = append(ownerConds(owner, epoch), store.Eq(attrQuotas, ""))
			if types := drlcTypes(drlcs); len(types) > 0 {
				u.Cond = append(u.Cond, store.NotIn(attrType, types...))
			}
			u.Remove = []string{attrExpiration}
			_, werr := r.store.Update(ctx, u)
			if werr == nil {
				return true, nil
			}
			if cur, found, err = r.current(ctx, u.Key, werr); err != nil {
				return true, internal("release %s: %w", name, err)
			}
		}
		if err := checkHolder(name, cur, found, owner, epoch); err != nil {
			return true, err
		}
		// The write for the resource as it is: its type's life cycle, its
		// counters.
		rtype := cur.S(attrType)
		d, isDRLC := drlcs[rtype]
		if isDRLC && !force {
			// Make sure the type is still dynamic before keeping the expiration.
			force = true
			if drlcs, err = r.drlcMap(ctx, true); err != nil {
				return true, internal("release %s: %w", name, err)
			}
			d, isDRLC = drlcs[rtype]
		}
		if !readFirst && !isDRLC && len(countedIn(cur)) == 0 {
			return false, nil // a conflict that has passed, or a stale cache: try again
		}
		u := releaseUpdate(name, dest, now)
		u.Cond = append(ownerConds(owner, epoch), store.VersionIs(cur.Version))
		switch {
		case !isDRLC:
			u.Remove = []string{attrExpiration}
		case d.LifeSpan != nil:
			u.Set[attrExpiration] = fmtTime(now.Add(*d.LifeSpan))
		}
		werr := r.writeFree(ctx, u, cur)
		if werr == nil {
			return true, nil
		}
		if !isRetryable(werr) {
			return true, internal("release %s: %w", name, werr)
		}
		return false, nil // changed meanwhile: look again
	})
}

// mapOpsLimit is the most user data keys one Update changes key by key;
// a larger delta is applied by reading the resource and writing its whole
// merged user data (DynamoDB bounds an update expression to 4 KB).
const mapOpsLimit = 64

// Update is the heartbeat: it stamps lastupdate and merges ud into the
// resource's userdata ("" deletes a key). Owner and state must match (and
// epoch, when not nil). Errors, checked in this order:
// boskos.ResourceNotFound(name), boskos.OwnerMismatch,
// boskos.StateMismatch(actual, requested), boskos.StaleEpoch. A delta with
// an empty key or a key longer than boskos.MaxUserDataKeyBytes is
// boskos.Invalid; a delta larger than boskos.MaxUserDataBytes, or one that
// would make the resource larger than one store item (store.MaxItemBytes,
// which bounds a resource's whole user data on every backend), is
// boskos.TooLarge (413) and changes nothing.
func (r *Ranch) Update(ctx context.Context, name, owner, state string, ud boskos.UserData, epoch *int64) error {
	if err := validateFields("name", name, "owner", owner, "state", state); err != nil {
		return err
	}
	set := map[string]string{}
	var remove []string
	for k, v := range ud {
		if k == "" {
			return boskos.Invalid("invalid userdata: keys must not be empty")
		}
		if len(k) > boskos.MaxUserDataKeyBytes {
			return boskos.Invalid("invalid userdata: keys must be no more than %d bytes (got %d)", boskos.MaxUserDataKeyBytes, len(k))
		}
		if v == "" {
			remove = append(remove, k)
		} else {
			set[k] = v
		}
	}
	if n := ud.Size(); n > boskos.MaxUserDataBytes {
		return boskos.TooLarge("userdata too large: the update has %d bytes, the limit is %d", n, boskos.MaxUserDataBytes)
	}
	if len(ud) > mapOpsLimit {
		return r.updateWhole(ctx, name, owner, state, ud, epoch)
	}
	sort.Strings(remove)
	return r.retry(ctx, "update", name, func(int) (bool, error) {
		now := r.now()
		u := store.Update{
			Key:  resourceKey(name),
			Cond: append(ownerConds(owner, epoch), store.Eq(attrState, state)),
			Set: map[string]string{
				attrLastUpdate:  fmtTime(now),
				store.IndexSort: resourceSort(state, true, now, name),
			},
		}
		if len(set) > 0 {
			u.MapSet = map[string]map[string]string{attrUserData: set}
		}
		if len(remove) > 0 {
			u.MapRemove = map[string][]string{attrUserData: slices.Clone(remove)}
		}
		_, werr := r.store.Update(ctx, u)
		if werr == nil {
			return true, nil
		}
		if !isRetryable(werr) {
			// The store refused the write itself (for DynamoDB, for
			// example an item over its size limit): explain it if the
			// request is at fault.
			return true, r.explainRefusedUpdate(ctx, name, owner, state, ud, epoch, werr)
		}
		cur, found, err := r.current(ctx, u.Key, werr)
		if err != nil {
			return true, internal("update %s: %w", name, err)
		}
		if err := checkUpdate(name, cur, found, owner, state, epoch); err != nil {
			return true, err
		}
		return false, nil
	})
}

// checkUpdate explains why owner (in state, with epoch) may not update the
// resource whose stored item is it, in upstream's order; nil when it may.
func checkUpdate(name string, it store.Item, found bool, owner, state string, epoch *int64) error {
	if !found {
		return boskos.ResourceNotFound(name)
	}
	if c := it.S(attrOwner); c != owner {
		return boskos.OwnerMismatch(owner, c)
	}
	if s := it.S(attrState); s != state {
		return boskos.StateMismatch(s, state)
	}
	if epoch != nil && it.N(attrEpoch) != *epoch {
		return boskos.StaleEpoch(name, *epoch, it.N(attrEpoch))
	}
	return nil
}

// mergedTooLarge returns boskos.TooLarge when merging ud into the user data
// of the stored resource it would make it larger than one store item.
func mergedTooLarge(it store.Item, ud boskos.UserData) error {
	next := it.Clone()
	if next.Map == nil {
		next.Map = map[string]map[string]string{}
	}
	next.Map[attrUserData] = boskos.UserData(it.Map[attrUserData]).Merge(ud)
	if n := next.Size(); n > store.MaxItemBytes {
		return tooLargeItem(n)
	}
	return nil
}

// tooLargeItem is the 413 of an update that would make a resource of n
// bytes (0: unknown, the store refused it) larger than one store item.
func tooLargeItem(n int) error {
	if n <= 0 {
		return boskos.TooLarge("userdata too large: the resource would exceed the store's item size limit (%d bytes)", store.MaxItemBytes)
	}
	return boskos.TooLarge("userdata too large: the resource would have %d bytes with this update, the limit is %d", n, store.MaxItemBytes)
}

// explainRefusedUpdate turns a non-retryable write failure of Update into
// the caller's error when the request is at fault (not found, not the
// holder, user data too large), else into a 500.
func (r *Ranch) explainRefusedUpdate(ctx context.Context, name, owner, state string, ud boskos.UserData, epoch *int64, werr error) error {
	it, err := r.store.Get(ctx, resourceKey(name))
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return internal("update %s: %w", name, werr)
	}
	if err := checkUpdate(name, it, found, owner, state, epoch); err != nil {
		return err
	}
	if err := mergedTooLarge(it, ud); err != nil {
		return err
	}
	if errors.Is(werr, store.ErrTooLarge) {
		// The store counts more than Item.Size (DynamoDB's own attributes).
		return tooLargeItem(0)
	}
	return internal("update %s: %w", name, werr)
}

// updateWhole is Update for a delta of many keys: it reads the resource and
// writes its whole merged user data, conditioned on the version read.
func (r *Ranch) updateWhole(ctx context.Context, name, owner, state string, ud boskos.UserData, epoch *int64) error {
	key := resourceKey(name)
	return r.retry(ctx, "update", name, func(int) (bool, error) {
		it, err := r.store.Get(ctx, key)
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return true, internal("update %s: %w", name, err)
		}
		if err := checkUpdate(name, it, found, owner, state, epoch); err != nil {
			return true, err
		}
		if err := mergedTooLarge(it, ud); err != nil {
			return true, err
		}
		now := r.now()
		u := store.Update{
			Key:  key,
			Cond: append(ownerConds(owner, epoch), store.Eq(attrState, state), store.VersionIs(it.Version)),
			Set: map[string]string{
				attrLastUpdate:  fmtTime(now),
				store.IndexSort: resourceSort(state, true, now, name),
			},
			SetMap: map[string]map[string]string{attrUserData: boskos.UserData(it.Map[attrUserData]).Merge(ud)},
		}
		_, werr := r.store.Update(ctx, u)
		if werr == nil {
			return true, nil
		}
		if errors.Is(werr, store.ErrTooLarge) {
			return true, tooLargeItem(0)
		}
		if !isRetryable(werr) {
			return true, internal("update %s: %w", name, werr)
		}
		return false, nil
	})
}

// Reset frees the owned resources of rtype in state whose lastupdate is at
// least expire ago (every owned one for a negative expire), moving them to
// dest; each leaves the quota counters it was counted in, in the same
// transaction. It returns resource name -> previous owner.
func (r *Ranch) Reset(ctx context.Context, rtype, state string, expire time.Duration, dest string) (map[string]string, error) {
	if err := validateFields("type", rtype, "state", state, "dest", dest); err != nil {
		return nil, err
	}
	now := r.now()
	cutoff := ""
	to := state + sep + kindOwned + sep + top
	if expire >= 0 {
		cutoff = fmtTime(now.Add(-expire))
		to = state + sep + kindOwned + sep + cutoff + sep + top
	}
	idle := func(it store.Item) bool {
		return isResourceKey(it.Key) && it.S(attrType) == rtype && it.S(attrState) == state &&
			it.S(attrOwner) != "" && (cutoff == "" || it.S(attrLastUpdate) <= cutoff)
	}
	var found []store.Item
	err := r.query(ctx, store.Query{Partition: rtype, From: state + sep + kindOwned + sep, To: to}, func(it store.Item) error {
		if idle(it) {
			found = append(found, it)
		}
		return nil
	})
	if err != nil {
		return nil, internal("reset %s: query: %w", rtype, err)
	}
	out := map[string]string{}
	for _, it := range found {
		prev, ok, err := r.resetOne(ctx, it, dest, idle)
		if err != nil {
			return nil, err
		}
		if ok {
			out[it.S(attrName)] = prev
		}
	}
	return out, nil
}

// resetOne frees it if it is still idle, re-reading it after a conflict.
func (r *Ranch) resetOne(ctx context.Context, it store.Item, dest string, idle func(store.Item) bool) (prevOwner string, ok bool, err error) {
	name := it.S(attrName)
	err = r.retry(ctx, "reset", name, func(int) (bool, error) {
		u := releaseUpdate(name, dest, r.now())
		u.Cond = []store.Cond{store.VersionIs(it.Version)}
		u.Set[attrCause] = causeReset
		werr := r.writeFree(ctx, u, it)
		if werr == nil {
			prevOwner, ok = it.S(attrOwner), true
			return true, nil
		}
		if !isRetryable(werr) {
			return true, internal("reset %s: %w", name, werr)
		}
		cur, err := r.store.Get(ctx, it.Key)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return true, internal("reset %s: %w", name, err)
		}
		if !idle(cur) {
			return true, nil
		}
		it = cur
		return false, nil
	})
	if err != nil {
		return "", false, err
	}
	return prevOwner, ok, nil
}
