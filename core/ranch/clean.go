package ranch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// CleanReport says what one CleanToBeDeleted pass did.
type CleanReport struct {
	// Tombstoned are the dynamic resources moved to tombstone.
	Tombstoned []string
	// Released are the physical resources released as dirty.
	Released []string
	// LeftAlone are the listed physical resources that were not in the
	// state of their virtual resource (or were owned, or gone).
	LeftAlone []string
}

// CleanToBeDeleted is upstream's cleaner (v2 semantics): for every unowned
// toBeDeleted resource of a dynamic type, it releases the resources its
// leasedResources user data lists (a YAML or JSON list) that are unowned in
// state = the virtual resource's name, as dirty, then drops the key and
// moves the resource to tombstone (which the next Reconcile deletes). A
// listed name in another state is left alone and does not stop the others.
// Every write is conditional, so two passes may run at once and a pass that
// died half-way is finished by the next one. It reads one index range per
// dynamic type: the toBeDeleted resources only.
func (r *Ranch) CleanToBeDeleted(ctx context.Context) (CleanReport, error) {
	recs, err := r.loadDRLCRecords(ctx)
	if err != nil {
		return CleanReport{}, internal("clean: %w", err)
	}
	types := make([]string, 0, len(recs))
	for t := range recs {
		types = append(types, t)
	}
	sort.Strings(types)
	var rep CleanReport
	var errs []string
	for _, t := range types {
		from := boskos.ToBeDeleted + sep + kindFree + sep
		var items []store.Item
		err := r.query(ctx, store.Query{Partition: t, From: from, To: from + top}, func(it store.Item) error {
			if isResourceKey(it.Key) && it.S(attrType) == t && !recs[t].statics[it.S(attrName)] {
				items = append(items, it)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: query: %v", t, err))
			continue
		}
		for _, it := range items {
			if err := r.cleanOne(ctx, it, &rep); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		return rep, internal("clean: %s", strings.Join(errs, "; "))
	}
	return rep, nil
}

// toBeCleaned reports whether it is still an unowned toBeDeleted resource.
func toBeCleaned(it store.Item) bool {
	return it.S(attrOwner) == "" && it.S(attrState) == boskos.ToBeDeleted
}

// cleanOne recycles and tombstones the resource it (read from the index).
func (r *Ranch) cleanOne(ctx context.Context, it store.Item, rep *CleanReport) error {
	name := it.S(attrName)
	// The index may lag: start from the item itself.
	cur, err := r.store.Get(ctx, it.Key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	// What an earlier attempt released is not "left alone" (a retried
	// attempt finds those resources dirty already).
	releasedBefore := map[string]bool{}
	return r.retry(ctx, "clean", name, func(int) (bool, error) {
		if !toBeCleaned(cur) {
			return true, nil // leased, cleaned or changed meanwhile
		}
		leased, err := boskos.ParseLeasedResources(cur.Map[attrUserData][boskos.LeasedResources])
		if err != nil {
			return true, fmt.Errorf("%s: %w", name, err)
		}
		var left []string
		for _, p := range leased {
			ok, err := r.releasePhysical(ctx, p, name, boskos.Dirty)
			if err != nil {
				return true, fmt.Errorf("%s: release %s: %w", name, p, err)
			}
			if ok {
				releasedBefore[p] = true
				rep.Released = append(rep.Released, p)
			} else if !releasedBefore[p] {
				left = append(left, p)
			}
		}
		u := releaseUpdate(name, boskos.Tombstone, r.now())
		u.Cond = []store.Cond{store.VersionIs(cur.Version), store.Eq(attrOwner, ""), store.Eq(attrState, boskos.ToBeDeleted)}
		if len(leased) > 0 {
			u.MapRemove = map[string][]string{attrUserData: {boskos.LeasedResources}}
		}
		_, werr := r.store.Update(ctx, u)
		if werr == nil {
			rep.Tombstoned = append(rep.Tombstoned, name)
			rep.LeftAlone = append(rep.LeftAlone, left...)
			r.log.Info("ranch: clean: tombstoned", "type", cur.S(attrType), "name", name, "released", len(leased))
			return true, nil
		}
		next, found, err := r.current(ctx, u.Key, werr)
		if err != nil {
			return true, fmt.Errorf("%s: %w", name, err)
		}
		if !found {
			return true, nil
		}
		cur = next
		return false, nil
	})
}

// releasePhysical moves the unowned resource name from state from to dest.
// released is false when it is not (or no longer) unowned in state from.
func (r *Ranch) releasePhysical(ctx context.Context, name, from, dest string) (released bool, err error) {
	err = r.retry(ctx, "release", name, func(int) (bool, error) {
		u := releaseUpdate(name, dest, r.now())
		u.Cond = []store.Cond{store.Eq(attrState, from), store.Eq(attrOwner, "")}
		_, werr := r.store.Update(ctx, u)
		if werr == nil {
			released = true
			return true, nil
		}
		cur, found, err := r.current(ctx, u.Key, werr)
		if err != nil {
			return true, err
		}
		// A spurious conflict (a concurrent write that changed something
		// else) is retried; a resource in another state is left alone.
		return !found || cur.S(attrState) != from || cur.S(attrOwner) != "", nil
	})
	return released, err
}
