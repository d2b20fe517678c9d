package ranch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// Storage of the quotas (see the package doc, Quotas).
const (
	quotaPrefix = "quota/"
	// Counter attributes: the quota's type and owner pattern (strings),
	// max and count (numbers), retired ("1" once the quota left the
	// config) and settle (Unix nanoseconds at which the second adoption
	// pass is due; absent when none is).
	attrMax     = "max"
	attrRetired = "retired"
	attrSettle  = "settle"
	// attrQuotas, on a resource: the keys of the counters it is counted
	// in, joined by quotaSep; absent when none (always while unowned).
	attrQuotas = "quotas"
	quotaSep   = "\x1e"
	// attrBlocked, on a request queue entry: "1" while its last poll was
	// refused for the owner's quota (see rankOf).
	attrBlocked = "blocked"
	// quotaSettleMargin is added to DRLCCacheTTL for the second adoption
	// pass after a quota appears: by then every process's quota cache has
	// seen it, and acquires that began before have ended.
	quotaSettleMargin = 5 * time.Second
)

func quotaKey(rtype, owner string) string { return quotaPrefix + rtype + sep + owner }

// quotaRule is a quota in force with its counter's key.
type quotaRule struct {
	boskos.Quota
	key string
}

// quotaSet is the quotas in force by type. Callers share it: it is never
// changed after loading.
type quotaSet map[string][]quotaRule

// matching returns the quotas that count a resource of rtype held by
// owner.
func (s quotaSet) matching(rtype, owner string) []quotaRule {
	var out []quotaRule
	for _, q := range s[rtype] {
		if q.Matches(rtype, owner) {
			out = append(out, q)
		}
	}
	return out
}

// anyMatches reports whether some quota counts resources held by owner.
func (s quotaSet) anyMatches(owner string) bool {
	for _, qs := range s {
		for _, q := range qs {
			if boskos.MatchGlob(q.Owner, owner) {
				return true
			}
		}
	}
	return false
}

// quotaSet returns the quotas in force, from the cache unless it is older
// than DRLCCacheTTL or force is set.
func (r *Ranch) quotaSet(ctx context.Context, force bool) (quotaSet, error) {
	return r.quotas.get(r.now(), r.opts.DRLCCacheTTL, force, func() (quotaSet, error) {
		set := quotaSet{}
		err := r.list(ctx, quotaPrefix, func(it store.Item) error {
			if it.S(attrRetired) == "" {
				q := toQuota(it)
				set[q.Type] = append(set[q.Type], quotaRule{Quota: q, key: it.Key})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read quotas: %w", err)
		}
		return set, nil
	})
}

func toQuota(it store.Item) boskos.Quota {
	return boskos.Quota{Owner: it.S(attrOwner), Type: it.S(attrType), Max: it.N(attrMax)}
}

// quotaKeys is the attrQuotas value of a resource counted in qs.
func quotaKeys(qs []quotaRule) string {
	keys := make([]string, len(qs))
	for i, q := range qs {
		keys[i] = q.key
	}
	return strings.Join(keys, quotaSep)
}

// countedIn returns the counter keys the resource it is counted in.
func countedIn(it store.Item) []string {
	if s := it.S(attrQuotas); s != "" {
		return strings.Split(s, quotaSep)
	}
	return nil
}

// counterInc is the increment by n of q's counter that takes n resources
// under the quota: the counter must be in force with the max the caller
// believes (so a stale cache cannot apply an old max) and have room for n.
func counterInc(q quotaRule, n int64) store.Update {
	return store.Update{
		Key:    q.key,
		Cond:   []store.Cond{store.Eq(attrRetired, ""), store.NumEq(attrMax, q.Max), store.NumLt(attrCount, q.Max-n+1)},
		AddNum: map[string]int64{attrCount: n},
	}
}

// quotaTally is a counter and the number of resources one acquisition
// counts in it.
type quotaTally struct {
	q quotaRule
	n int64
}

// tally adds one resource counted in qs to ts.
func tally(ts []quotaTally, qs []quotaRule) []quotaTally {
next:
	for _, q := range qs {
		for i := range ts {
			if ts[i].q.key == q.key {
				ts[i].n++
				continue next
			}
		}
		ts = append(ts, quotaTally{q: q, n: 1})
	}
	return ts
}

// errQuotaStale means an acquire applied quotas that are no longer the
// ones in force (a max changed, a quota left the config): it reads them
// again.
var errQuotaStale = errors.New("the quotas changed")

// quotaFailure explains the failed increment by n of q's counter (werr,
// from a transaction) from the counter the failed condition came with:
// boskos.OverQuota when it has no room, errQuotaStale when the quota
// changed (or the counter is gone), else werr (a concurrent transaction got
// in the way: worth retrying). It reads nothing: the conditional write
// enforced the quota, the stored item only explains the refusal.
func quotaFailure(q quotaRule, n int64, owner, rtype string, werr error) error {
	if errors.Is(werr, store.ErrNotFound) {
		return errQuotaStale
	}
	var ce *store.ConditionError
	if !errors.As(werr, &ce) || !ce.HasCurrent {
		return werr
	}
	switch cur := ce.Current; {
	case cur.S(attrRetired) != "", cur.N(attrMax) != q.Max:
		return errQuotaStale
	case cur.N(attrCount)+n > q.Max:
		return boskos.OverQuota(owner, rtype, q.Owner, q.Max)
	}
	return werr
}

// writeFree applies u, a conditional write that frees the owned resource
// whose stored item is it (u's conditions must hold only for that item),
// and takes the resource out of the counters it is counted in, in one
// transaction when there are any. A counter that no longer exists (which
// only a damaged store has) is logged and left out.
func (r *Ranch) writeFree(ctx context.Context, u store.Update, it store.Item) error {
	return r.writeFreeFrom(ctx, u, it.S(attrName), countedIn(it))
}

func (r *Ranch) writeFreeFrom(ctx context.Context, u store.Update, name string, keys []string) error {
	if len(keys) == 0 {
		_, err := r.store.Update(ctx, u)
		return err
	}
	set := make(map[string]string, len(u.Set)+1)
	for k, v := range u.Set {
		set[k] = v
	}
	set[attrQuotas] = ""
	u.Set = set
	ops := []store.Op{{Update: &u}}
	for _, k := range keys {
		ops = append(ops, store.Op{Update: &store.Update{Key: k, AddNum: map[string]int64{attrCount: -1}}})
	}
	err := r.store.Transact(ctx, ops)
	var txe *store.TxError
	if err == nil || !errors.As(err, &txe) || txe.Index < 1 || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	r.log.Error("ranch: a resource is counted in a quota counter that does not exist; freeing it without that counter",
		"name", name, "counter", keys[txe.Index-1])
	return r.writeFreeFrom(ctx, u, name, slices.Delete(slices.Clone(keys), txe.Index-1, txe.Index))
}

// syncQuotas makes the counters match the quotas of cfg (see the package
// doc, Quotas): a new quota, or one back in the config, gets its counter
// and the current holdings of its owners are adopted into it; a changed
// max is set; a quota that left the config is retired. It returns one
// message per failure.
func (r *Ranch) syncQuotas(ctx context.Context, cfg *boskos.Config) []string {
	existing := map[string]store.Item{}
	if err := r.list(ctx, quotaPrefix, func(it store.Item) error {
		existing[it.Key] = it
		return nil
	}); err != nil {
		return []string{fmt.Sprintf("quotas: list: %v", err)}
	}
	var errs []string
	inConfig := map[string]bool{}
	for _, q := range cfg.QuotaList() {
		rule := quotaRule{Quota: q, key: quotaKey(q.Type, q.Owner)}
		inConfig[rule.key] = true
		it, ok := existing[rule.key]
		fresh := !ok || it.S(attrRetired) != ""
		if !fresh && it.N(attrMax) == q.Max {
			continue
		}
		u := store.Update{
			Key: rule.key, Upsert: true,
			Set:    map[string]string{attrType: q.Type, attrOwner: q.Owner, attrRetired: ""},
			SetNum: map[string]int64{attrMax: q.Max},
			AddNum: map[string]int64{attrCount: 0},
		}
		if fresh {
			u.SetNum[attrSettle] = r.now().Add(max(r.opts.DRLCCacheTTL, 0) + quotaSettleMargin).UnixNano()
		}
		if err := r.putQuota(ctx, u); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		r.log.Info("ranch: sync: quota in force", "type", q.Type, "owner", q.Owner, "max", q.Max)
		if fresh {
			if err := r.adoptHolders(ctx, rule); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	keys := make([]string, 0, len(existing))
	for k := range existing {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		it := existing[k]
		if inConfig[k] || it.S(attrRetired) != "" {
			continue
		}
		if err := r.retireQuota(ctx, it); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return errs
}

// putQuota writes a counter's spec (never its count).
func (r *Ranch) putQuota(ctx context.Context, u store.Update) error {
	return r.writeQuota(ctx, "put quota", u.Key, store.Item{}, false, func(store.Item, bool) *store.Op {
		return &store.Op{Update: &u}
	})
}

// retireQuota takes the quota of counter it out of force: the counter is
// deleted when nothing is counted in it, else kept, marked retired, until
// the releases of the resources counted in it bring it to 0 (a later
// reconcile deletes it then).
func (r *Ranch) retireQuota(ctx context.Context, it store.Item) error {
	q := toQuota(it)
	return r.writeQuota(ctx, "retire quota", it.Key, it, true, func(cur store.Item, found bool) *store.Op {
		switch {
		case !found || cur.S(attrRetired) != "":
			return nil
		case cur.N(attrCount) == 0:
			r.log.Info("ranch: sync: quota removed", "type", q.Type, "owner", q.Owner)
			return &store.Op{Delete: &store.Delete{Key: it.Key, Cond: []store.Cond{store.NumEq(attrCount, 0)}}}
		}
		r.log.Info("ranch: sync: quota removed; its counter stays until its resources are released",
			"type", q.Type, "owner", q.Owner, "counted", cur.N(attrCount))
		return &store.Op{Update: &store.Update{Key: it.Key, Set: map[string]string{attrRetired: "1"}, Remove: []string{attrSettle}}}
	})
}

// writeQuota makes the write to counter key that next decides from the
// counter (cur; found is false when it does not exist), re-reading it and
// asking next again after a conflict; next returns nil when no write is
// needed (any more). The write is an Update or a Delete.
func (r *Ranch) writeQuota(ctx context.Context, op, key string, cur store.Item, found bool, next func(cur store.Item, found bool) *store.Op) error {
	return r.retry(ctx, op, key, func(int) (bool, error) {
		o := next(cur, found)
		if o == nil {
			return true, nil
		}
		var err error
		if o.Delete != nil {
			err = r.store.Delete(ctx, key, o.Delete.Cond...)
		} else {
			_, err = r.store.Update(ctx, *o.Update)
		}
		if err == nil || (o.Delete != nil && errors.Is(err, store.ErrNotFound)) {
			return true, nil
		}
		if !isRetryable(err) {
			return true, fmt.Errorf("%s %s: %w", op, key, err)
		}
		if cur, found, err = r.current(ctx, key, err); err != nil {
			return true, fmt.Errorf("%s %s: %w", op, key, err)
		}
		return false, nil
	})
}

// adoptHolders counts in q's counter every resource of q's type held by an
// owner q matches that is not counted in it yet (holdings from before the
// quota, or granted by a process whose quota cache did not have it yet),
// each in one transaction with its counter, whatever the max: a quota never
// revokes a lease.
func (r *Ranch) adoptHolders(ctx context.Context, q quotaRule) error {
	uncounted := func(it store.Item) bool {
		return isResourceKey(it.Key) && it.S(attrType) == q.Type && it.S(attrOwner) != "" &&
			boskos.MatchGlob(q.Owner, it.S(attrOwner)) && !slices.Contains(countedIn(it), q.key)
	}
	var found []store.Item
	if err := r.query(ctx, store.Query{Partition: q.Type}, func(it store.Item) error {
		if uncounted(it) {
			found = append(found, it)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("adopt holders of quota %s: query: %w", q.key, err)
	}
	for _, it := range found {
		if err := r.adoptOne(ctx, q, it, uncounted); err != nil {
			return err
		}
	}
	if len(found) > 0 {
		r.log.Info("ranch: quota: counted current holdings", "type", q.Type, "owner", q.Owner, "resources", len(found))
	}
	return nil
}

// adoptOne counts the resource it in q's counter if it is still uncounted.
func (r *Ranch) adoptOne(ctx context.Context, q quotaRule, it store.Item, uncounted func(store.Item) bool) error {
	name := it.S(attrName)
	return r.retry(ctx, "adopt", name, func(int) (bool, error) {
		u := store.Update{Key: it.Key, Cond: []store.Cond{store.VersionIs(it.Version)},
			Set: map[string]string{attrQuotas: strings.Join(append(countedIn(it), q.key), quotaSep)}}
		counter := store.Update{Key: q.key, Cond: []store.Cond{store.Eq(attrRetired, "")}, AddNum: map[string]int64{attrCount: 1}}
		err := r.store.Transact(ctx, []store.Op{{Update: &u}, {Update: &counter}})
		if err == nil {
			return true, nil
		}
		var txe *store.TxError
		if errors.As(err, &txe) && txe.Index == 1 && (errors.Is(err, store.ErrNotFound) || hasCurrent(err)) {
			return true, nil // the quota left the config meanwhile
		}
		if !isRetryable(err) {
			return true, fmt.Errorf("adopt %s into quota %s: %w", name, q.key, err)
		}
		cur, err := r.store.Get(ctx, it.Key)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return true, fmt.Errorf("adopt %s into quota %s: %w", name, q.key, err)
		}
		if !uncounted(cur) {
			return true, nil
		}
		it = cur
		return false, nil
	})
}

// hasCurrent reports whether err is a failed condition that came with the
// stored item (a real refusal, not a concurrent transaction).
func hasCurrent(err error) bool {
	var ce *store.ConditionError
	return errors.As(err, &ce) && ce.HasCurrent
}

// settleQuotas is the quota part of reconcile: the second adoption pass of
// a new quota once every process's cache has it (its settle time has
// passed), and the deletion of retired counters in which nothing is
// counted any more. It returns one message per failure.
func (r *Ranch) settleQuotas(ctx context.Context) []string {
	var items []store.Item
	if err := r.list(ctx, quotaPrefix, func(it store.Item) error {
		items = append(items, it)
		return nil
	}); err != nil {
		return []string{fmt.Sprintf("quotas: list: %v", err)}
	}
	now := r.now().UnixNano()
	var errs []string
	for _, it := range items {
		var err error
		switch settle := it.N(attrSettle); {
		case it.S(attrRetired) != "" && it.N(attrCount) == 0:
			err = r.writeQuota(ctx, "delete quota", it.Key, it, true, func(cur store.Item, found bool) *store.Op {
				if !found || cur.S(attrRetired) == "" || cur.N(attrCount) != 0 {
					return nil
				}
				return &store.Op{Delete: &store.Delete{Key: it.Key, Cond: []store.Cond{store.Eq(attrRetired, "1"), store.NumEq(attrCount, 0)}}}
			})
		case it.S(attrRetired) == "" && settle != 0 && now >= settle:
			if err = r.adoptHolders(ctx, quotaRule{Quota: toQuota(it), key: it.Key}); err != nil {
				break
			}
			err = r.writeQuota(ctx, "settle quota", it.Key, it, true, func(cur store.Item, found bool) *store.Op {
				if !found || cur.N(attrSettle) != settle {
					return nil
				}
				return &store.Op{Update: &store.Update{Key: it.Key, Cond: []store.Cond{store.NumEq(attrSettle, settle)}, Remove: []string{attrSettle}}}
			})
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	return errs
}

// QuotaUsage returns the quotas in force with how many resources each
// counts now, sorted by type and owner pattern (one listing of the
// counters, for metrics).
func (r *Ranch) QuotaUsage(ctx context.Context) ([]boskos.QuotaUsage, error) {
	var out []boskos.QuotaUsage
	err := r.list(ctx, quotaPrefix, func(it store.Item) error {
		if it.S(attrRetired) == "" {
			out = append(out, boskos.QuotaUsage{Quota: toQuota(it), Used: it.N(attrCount)})
		}
		return nil
	})
	if err != nil {
		return nil, internal("list quotas: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Owner < out[j].Owner
	})
	return out, nil
}
