package ranch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// SyncConfig makes the store match cfg (upstream's SyncConfig): cfg is
// validated first (all problems reported, nothing changed on error); static
// resources missing from the store are created (state from the config, or
// free); unowned resources that left the config are deleted whatever their
// state, owned ones are left for a later sync; existing resources are never
// modified, and a type change is a delete and a create (skipped while the
// old resource is owned). DRLCs are stored; those that left the config get
// min-count = max-count = 0. Quota counters follow cfg's quotas (see the
// package doc, Quotas). Then Reconcile runs, and cfg is recorded as the
// config in force (see Sync, which also reports deferred work).
func (r *Ranch) SyncConfig(ctx context.Context, cfg *boskos.Config) error {
	_, err := r.Sync(ctx, cfg, Origin{})
	return err
}

// syncConfig is SyncConfig under syncMu, without recording cfg; it returns
// the names of the leased resources whose change it deferred.
func (r *Ranch) syncConfig(ctx context.Context, cfg *boskos.Config) (deferred []string, err error) {
	statics := cfg.StaticResources()
	newDRLCs := cfg.DRLCs()
	oldDRLCs, err := r.loadDRLCs(ctx)
	if err != nil {
		return nil, internal("sync: %w", err)
	}
	dynamicType := func(t string) bool {
		_, a := oldDRLCs[t]
		_, b := newDRLCs[t]
		return a || b
	}
	var existing []store.Item
	if err := r.list(ctx, resourcePrefix, func(it store.Item) error {
		existing = append(existing, it)
		return nil
	}); err != nil {
		return nil, internal("sync: list resources: %w", err)
	}

	var errs []string
	// Static resources that left the config or changed type.
	present := map[string]string{} // name -> type, after deletions
	for _, it := range existing {
		name, rtype := it.S(attrName), it.S(attrType)
		sr, inCfg := statics[name]
		static := inCfg || !dynamicType(rtype)
		if !static || (inCfg && sr.Type == rtype) {
			present[name] = rtype
			continue
		}
		if it.S(attrOwner) != "" {
			r.log.Info("ranch: sync: resource left the config but is owned; deleting it later", "name", name, "type", rtype)
			deferred = append(deferred, name)
			present[name] = rtype
			continue
		}
		deleted, err := r.deleteResource(ctx, it, nil)
		if err != nil {
			errs = append(errs, err.Error())
		}
		if !deleted {
			present[name] = rtype
			continue
		}
		r.log.Info("ranch: sync: deleted resource", "name", name, "type", rtype)
	}
	// Static resources to create, grouped by type for batched creation.
	now := r.now()
	toCreate := map[string][]store.Item{}
	var createTypes []string
	for _, n := range sortedNames(statics) {
		sr := statics[n]
		if t, ok := present[n]; ok {
			if t != sr.Type {
				r.log.Info("ranch: sync: resource changes type but is owned; recreating it later", "name", n, "from", t, "to", sr.Type)
			}
			continue
		}
		if toCreate[sr.Type] == nil {
			createTypes = append(createTypes, sr.Type)
		}
		toCreate[sr.Type] = append(toCreate[sr.Type], newResourceItem(sr.Type, n, sr.State, now))
	}
	for _, t := range createTypes {
		n, err := r.createStatics(ctx, toCreate[t])
		if err != nil {
			errs = append(errs, err.Error())
		}
		if n > 0 {
			r.log.Info("ranch: sync: created resources", "type", t, "count", n)
		}
	}
	// Dynamic resource life cycles.
	for _, t := range drlcTypes(newDRLCs) {
		if old, ok := oldDRLCs[t]; ok && reflect.DeepEqual(old, newDRLCs[t]) {
			continue
		}
		if err := r.putDRLC(ctx, newDRLCs[t], nil); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, t := range drlcTypes(oldDRLCs) {
		if _, ok := newDRLCs[t]; ok {
			continue
		}
		// Left the config: 0/0 marks it for deletion. Remember the names
		// the config now lists under its type, so that Reconcile leaves
		// them alone until the DRLC is gone.
		old := oldDRLCs[t]
		old.MinCount, old.MaxCount = 0, 0
		var names []string
		for _, n := range sortedNames(statics) {
			if statics[n].Type == t {
				names = append(names, n)
			}
		}
		if err := r.putDRLC(ctx, old, names); err != nil {
			errs = append(errs, err.Error())
		}
	}
	// Quotas, once the resources they count are in place.
	errs = append(errs, r.syncQuotas(ctx, cfg)...)
	if len(errs) > 0 {
		return nil, internal("sync: %s", strings.Join(errs, "; "))
	}
	if err := r.reconcile(ctx, statics); err != nil {
		return nil, err
	}
	sort.Strings(deferred)
	return deferred, nil
}

// createStatics creates items (all of one type, no max-count) in
// transactions of up to store.MaxTransactItems-1 resources plus one counter
// update, so a large pool is seeded in few writes. A chunk that fails (for
// example because another process created one of its names meanwhile) is
// created one item at a time instead. It returns how many it created.
func (r *Ranch) createStatics(ctx context.Context, items []store.Item) (int, error) {
	created := 0
	var errs []string
	for len(items) > 0 {
		n := min(len(items), store.MaxTransactItems-1)
		chunk := items[:n]
		items = items[n:]
		ops := make([]store.Op, 0, n+1)
		for i := range chunk {
			ops = append(ops, store.Op{Create: &chunk[i]})
		}
		counter := store.Update{Key: typeCountKey(chunk[0].S(attrType)), Upsert: true, AddNum: map[string]int64{attrCount: int64(n)}}
		ops = append(ops, store.Op{Update: &counter})
		if err := r.store.Transact(ctx, ops); err == nil {
			created += n
			continue
		}
		for _, it := range chunk {
			ok, err := r.createResource(ctx, it, 0)
			if err != nil {
				errs = append(errs, err.Error())
			}
			if ok {
				created++
			}
		}
	}
	if len(errs) > 0 {
		return created, errors.New(strings.Join(errs, "; "))
	}
	return created, nil
}

// putDRLC stores d under drlc/<type>, with the static names of its type.
func (r *Ranch) putDRLC(ctx context.Context, d boskos.DRLC, statics []string) error {
	spec, err := encodeDRLC(d)
	if err != nil {
		return fmt.Errorf("encode drlc %s: %w", d.Type, err)
	}
	u := store.Update{Key: drlcKey(d.Type), Upsert: true, Set: map[string]string{attrType: d.Type, attrSpec: spec, attrStatics: ""}}
	if len(statics) > 0 {
		b, err := json.Marshal(statics)
		if err != nil {
			return fmt.Errorf("encode drlc %s: %w", d.Type, err)
		}
		u.Set[attrStatics] = string(b)
	}
	return r.retry(ctx, "put drlc", d.Type, func(int) (bool, error) {
		_, err := r.store.Update(ctx, u)
		if err == nil {
			return true, nil
		}
		if !isRetryable(err) {
			return true, fmt.Errorf("put drlc %s: %w", d.Type, err)
		}
		return false, nil
	})
}

// Reconcile brings every dynamic resource life cycle to its bounds
// (upstream's UpdateAllDynamicResources): unowned tombstoned resources are
// deleted; unowned resources past their expiration are marked toBeDeleted;
// resources are created while fewer than min-count are active; beyond
// max-count, unowned idle resources are marked toBeDeleted, names in
// descending order. Owned resources are never touched. A DRLC with
// min-count = max-count = 0 is deleted once it has no resources left.
// Quotas: a new quota's holdings are adopted a second time once every
// process's cache has it, and retired counters that count nothing any more
// are deleted.
//
// Resources that the last synced config lists by name are left out.
func (r *Ranch) Reconcile(ctx context.Context) error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	defer r.invalidateCaches()
	return r.reconcile(ctx, nil)
}

func (r *Ranch) reconcile(ctx context.Context, statics map[string]boskos.StaticResource) error {
	recs, err := r.loadDRLCRecords(ctx)
	if err != nil {
		return internal("reconcile: %w", err)
	}
	types := make([]string, 0, len(recs))
	for t := range recs {
		types = append(types, t)
	}
	sort.Strings(types)
	var errs []string
	for _, t := range types {
		rec := recs[t]
		skip := func(name string) bool {
			_, static := statics[name]
			return static || rec.statics[name]
		}
		if err := r.reconcileType(ctx, rec.DRLC, skip); err != nil {
			errs = append(errs, err.Error())
		}
	}
	errs = append(errs, r.settleQuotas(ctx)...)
	if len(errs) > 0 {
		return internal("reconcile: %s", strings.Join(errs, "; "))
	}
	return nil
}

// reconcileType reconciles one DRLC.
func (r *Ranch) reconcileType(ctx context.Context, d boskos.DRLC, static func(name string) bool) error {
	var items []store.Item
	err := r.query(ctx, store.Query{Partition: d.Type}, func(it store.Item) error {
		if isResourceKey(it.Key) && it.S(attrType) == d.Type && !static(it.S(attrName)) {
			items = append(items, it)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: query: %w", d.Type, err)
	}
	now := r.now()
	var tombstoned, marked, idle []store.Item
	toBeDeleted := 0
	for _, it := range items {
		if it.S(attrOwner) != "" {
			continue
		}
		switch it.S(attrState) {
		case boskos.Tombstone:
			tombstoned = append(tombstoned, it)
		case boskos.ToBeDeleted:
			toBeDeleted++
		default:
			if exp := it.S(attrExpiration); exp != "" && fmtTime(now) > exp {
				marked = append(marked, it)
				toBeDeleted++
			} else {
				idle = append(idle, it)
			}
		}
	}
	active := len(items) - len(tombstoned)
	toCreate := d.MinCount - active
	if excess := active - toBeDeleted - d.MaxCount; excess > 0 {
		sort.Slice(idle, func(i, j int) bool { return idle[i].S(attrName) > idle[j].S(attrName) })
		marked = append(marked, idle[:min(excess, len(idle))]...)
	}

	var errs []string
	remaining := len(items)
	for _, it := range tombstoned {
		notTombstoned := func(cur store.Item) bool { return cur.S(attrState) != boskos.Tombstone }
		deleted, err := r.deleteResource(ctx, it, notTombstoned)
		if err != nil {
			errs = append(errs, err.Error())
		}
		if deleted {
			remaining--
			r.log.Info("ranch: reconcile: deleted tombstoned resource", "type", d.Type, "name", it.S(attrName))
		}
	}
	for _, it := range marked {
		if err := r.markToBeDeleted(ctx, it, now); err != nil {
			errs = append(errs, err.Error())
		}
	}
	st := d.InitialState
	if st == "" {
		st = boskos.Free
	}
	for i := 0; i < toCreate; i++ {
		// Bounded by max-count in the store: two reconciles running at once
		// (two processes, a duplicated scheduled event) both see the same
		// shortfall, and only one of them may fill it.
		name := uuid.NewString()
		created, err := r.createResource(ctx, newResourceItem(d.Type, name, st, now), int64(d.MaxCount))
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if !created {
			r.log.Debug("ranch: reconcile: type at max-count, not creating", "type", d.Type, "max-count", d.MaxCount)
			break
		}
		remaining++
		r.log.Info("ranch: reconcile: created dynamic resource", "type", d.Type, "name", name)
	}
	if d.MinCount == 0 && d.MaxCount == 0 && remaining == 0 && len(errs) == 0 {
		if err := r.store.Delete(ctx, drlcKey(d.Type)); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Sprintf("delete drlc %s: %v", d.Type, err))
		} else {
			r.log.Info("ranch: reconcile: deleted dynamic resource life cycle", "type", d.Type)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %s", d.Type, strings.Join(errs, "; "))
	}
	return nil
}

// markToBeDeleted moves the unowned resource it to toBeDeleted, unless it
// changed meanwhile (the next reconcile looks again).
func (r *Ranch) markToBeDeleted(ctx context.Context, it store.Item, now time.Time) error {
	name := it.S(attrName)
	u := releaseUpdate(name, boskos.ToBeDeleted, now)
	u.Cond = []store.Cond{store.VersionIs(it.Version), store.Eq(attrOwner, "")}
	return r.retry(ctx, "mark", name, func(int) (bool, error) {
		_, err := r.store.Update(ctx, u)
		if err == nil {
			r.log.Info("ranch: reconcile: marked resource toBeDeleted", "type", it.S(attrType), "name", name)
			return true, nil
		}
		if !isRetryable(err) {
			return true, fmt.Errorf("mark %s: %w", name, err)
		}
		cur, err := r.store.Get(ctx, it.Key)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return true, fmt.Errorf("mark %s: %w", name, err)
		}
		if cur.Version != it.Version {
			return true, nil // changed meanwhile: the next reconcile decides again
		}
		return false, nil
	})
}

// GCRequestQueue deletes request queue entries that expired more than a
// minute (queueGrace) ago; it returns how many. Acquire already treats such
// an entry as absent, so GC only reclaims space. It also deletes the queue
// item of a (type, state) that has no entries left and whose until is more
// than queueGrace past (not counted in the result).
func (r *Ranch) GCRequestQueue(ctx context.Context) (int, error) {
	now := r.now()
	var stale, items []store.Item
	kept := map[string]bool{} // queue item keys with entries left
	err := r.list(ctx, queuePrefix, func(it store.Item) error {
		switch {
		case isQueueItemKey(it.Key):
			items = append(items, it)
		case pastGrace(time.Unix(0, it.N(attrExpires)), now):
			stale = append(stale, it)
		default:
			kept[queueItemKey(it.S(attrType), it.S(attrState))] = true
		}
		return nil
	})
	if err != nil {
		return 0, internal("gc request queue: %w", err)
	}
	n := 0
	for _, it := range stale {
		deleted, err := r.deleteStaleEntry(ctx, it, now)
		if err != nil {
			return n, internal("gc request queue: %w", err)
		}
		if deleted {
			n++
		} else {
			kept[queueItemKey(it.S(attrType), it.S(attrState))] = true
		}
	}
	for _, it := range items {
		if kept[it.Key] || !pastGrace(time.Unix(0, it.N(attrUntil)), now) {
			continue
		}
		// Conditioned on the version listed: an entry written since
		// (always with its queue item) keeps the item.
		err := r.store.Delete(ctx, it.Key, store.VersionIs(it.Version))
		if err != nil && !isRetryable(err) {
			return n, internal("gc request queue: delete %s: %w", it.Key, err)
		}
	}
	return n, nil
}

// deleteStaleEntry deletes the queue entry it if it is still stale after
// any conflict.
func (r *Ranch) deleteStaleEntry(ctx context.Context, it store.Item, now time.Time) (bool, error) {
	deleted := false
	err := r.retry(ctx, "delete", it.Key, func(int) (bool, error) {
		err := r.store.Delete(ctx, it.Key, store.VersionIs(it.Version))
		if err == nil {
			deleted = true
			return true, nil
		}
		if !isRetryable(err) {
			return true, err
		}
		cur, err := r.store.Get(ctx, it.Key)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return true, err
		}
		if !pastGrace(time.Unix(0, cur.N(attrExpires)), now) {
			return true, nil // refreshed meanwhile
		}
		it = cur
		return false, nil
	})
	return deleted, err
}

// sortedNames returns the keys of statics, sorted.
func sortedNames(statics map[string]boskos.StaticResource) []string {
	out := make([]string, 0, len(statics))
	for n := range statics {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
