package ranch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// Lease history (see the package doc, History). Every write of a resource
// item is one transition; DeriveHistory turns the item before and after
// into a boskos.HistoryRecord, and historyItem into the store item that
// keeps it. Both change feeds use them: HistoryHook inside the write's own
// transaction (memstore, boltstore), WriteHistory from a change stream
// (DynamoDB Streams).
//
// A record is stored under history/<name>/<generation><version>, both
// inverted and zero-padded (19 digits each), so that a prefix listing of
// one resource is newest first; the generation is the resource's creation
// time (attrBorn), because a resource deleted and created again starts
// over at version 1. The key is the record's identity: a change delivered
// twice is the same Create, refused with store.ErrExists. Its index entry
// (partition "history" + sep + type, sort: inverted time, then the key)
// serves the time ranges of /v1/history and /v1/usage newest first, and
// its ttl (store.TTLAttr) is the record's time plus the retention.
const (
	historyPrefix = "history/"
	// attrBorn is a resource's creation time (Unix nanoseconds): its
	// generation in history keys. Resources created before history
	// existed have none (generation 0).
	attrBorn = "born"
	// attrLeasedAt is when the current lease began (set by every lease).
	attrLeasedAt = "leasedat"
	// attrRequestID is the current lease's request_id, if it had one.
	attrRequestID = "requestid"
	// attrQueuedAt is when that request_id was first queued.
	attrQueuedAt = "queuedat"
	// attrCause marks the write of a reset (causeReset), which looks like
	// a release otherwise; every lease and release clears it.
	attrCause  = "cause"
	causeReset = "reset"
	// attrRecord holds a history item's record (JSON).
	attrRecord = "rec"
	// historyPartition prefixes the index partition of a type's records.
	historyPartition = "history" + sep

	// quarantineReasonKey is the janitor's userdata key of the last
	// cleanup error (janitor.KeyReason; the janitor imports the ranch).
	quarantineReasonKey = "quarantineReason"
	maxRecordReason     = 1024
	maxRecordKeys       = 64
)

// DefaultHistoryRetention is how long history records are kept unless
// configured otherwise.
const DefaultHistoryRetention = 30 * 24 * time.Hour

// reasonKeys are the userdata keys whose value a record carries as its
// reason.
var reasonKeys = []string{quarantineReasonKey, MasonErrorKey}

// inverted writes math.MaxInt64 - n in 19 digits: ascending order of the
// text is descending order of n (n >= 0).
func inverted(n int64) string {
	if n < 0 {
		n = 0
	}
	return fmt.Sprintf("%019d", math.MaxInt64-n)
}

func historyKey(name string, born, version int64) string {
	return historyPrefix + name + "/" + inverted(born) + inverted(version)
}

func historyListPrefix(name string) string { return historyPrefix + name + "/" }

// historySort is the index sort value of the record stored under key at t.
func historySort(t time.Time, key string) string {
	return inverted(t.UnixNano()) + sep + strings.TrimPrefix(key, historyPrefix)
}

func isHistoryKey(k string) bool { return strings.HasPrefix(k, historyPrefix) }

// DeriveHistory returns the record of the write that changed the resource
// item old into new (old nil: created; new nil: deleted), or false when
// the write is no transition: not a resource, or a heartbeat (only
// lastupdate changed) or bookkeeping (quota counters, expiration). at is
// when the change feed saw the write; the record's time is the resource's
// new lastupdate when the write changed it, else at (a deletion). It is a
// pure function of its arguments.
func DeriveHistory(old, new *store.Item, at time.Time) (boskos.HistoryRecord, bool) {
	rec, _, ok := deriveHistory(old, new, at)
	return rec, ok
}

func deriveHistory(old, new *store.Item, at time.Time) (rec boskos.HistoryRecord, born int64, ok bool) {
	base := new
	if base == nil {
		base = old
	}
	if base == nil || !isResourceKey(base.Key) {
		return rec, 0, false
	}
	born = base.N(attrBorn)
	rec = boskos.HistoryRecord{Name: base.S(attrName), Type: base.S(attrType), Time: at.UTC()}
	if rec.Name == "" {
		rec.Name = strings.TrimPrefix(base.Key, resourcePrefix)
	}
	if new != nil {
		rec.Version = new.Version
		lu := new.S(attrLastUpdate)
		if t, err := parseTime(lu); err == nil && (old == nil || lu != old.S(attrLastUpdate) || at.IsZero()) {
			rec.Time = t
		}
	} else {
		rec.Version = old.Version + 1
	}
	switch {
	case old == nil:
		rec.Event, rec.ToState, rec.Owner, rec.Epoch = boskos.EventCreate, new.S(attrState), new.S(attrOwner), new.N(attrEpoch)
		return rec, born, true
	case new == nil:
		rec.Event, rec.FromState, rec.PrevOwner, rec.Epoch = boskos.EventDelete, old.S(attrState), old.S(attrOwner), old.N(attrEpoch)
		return rec, born, true
	}
	rec.FromState, rec.ToState = old.S(attrState), new.S(attrState)
	rec.PrevOwner, rec.Owner = old.S(attrOwner), new.S(attrOwner)
	rec.Epoch = new.N(attrEpoch)
	rec.Keys = changedKeys(old.Map[attrUserData], new.Map[attrUserData])
	held := func() {
		if t, err := parseTime(old.S(attrLeasedAt)); err == nil && !rec.Time.Before(t) {
			rec.HeldSeconds = rec.Time.Sub(t).Seconds()
		}
	}
	switch oo, no := rec.PrevOwner, rec.Owner; {
	case oo == "" && no != "":
		rec.RequestID = new.S(attrRequestID)
		q, qerr := parseTime(new.S(attrQueuedAt))
		l, lerr := parseTime(new.S(attrLeasedAt))
		if qerr == nil && lerr == nil && !l.Before(q) {
			rec.WaitedSeconds = l.Sub(q).Seconds()
		}
		switch {
		case new.S(attrHeldFor) != "":
			rec.Event, rec.HeldFor = boskos.EventMasonLease, new.S(attrHeldFor)
		case rec.FromState == boskos.Dirty && rec.ToState == boskos.Cleaning:
			rec.Event = boskos.EventClaim
		default:
			rec.Event = boskos.EventAcquire
		}
	case oo != "" && no == "":
		held()
		hf := old.S(attrHeldFor)
		switch {
		case new.S(attrCause) == causeReset:
			rec.Event = boskos.EventReset
			if t, err := parseTime(old.S(attrLastUpdate)); err == nil && !rec.Time.Before(t) {
				rec.IdleSeconds = rec.Time.Sub(t).Seconds()
			}
		case rec.ToState == boskos.Quarantined:
			rec.Event = boskos.EventQuarantine
		case hf != "" && rec.ToState == hf:
			rec.Event, rec.HeldFor = boskos.EventMasonFree, hf
		case hf != "":
			rec.Event, rec.HeldFor = boskos.EventMasonRecycle, hf
		case rec.FromState == boskos.Cleaning && rec.ToState == boskos.Free:
			rec.Event = boskos.EventClean
		case rec.FromState == boskos.Cleaning && rec.ToState == boskos.Dirty:
			rec.Event = boskos.EventFail
		default:
			rec.Event = boskos.EventRelease
		}
	case oo != no:
		held()
		rec.Event = boskos.EventTransfer
	case rec.FromState != rec.ToState:
		switch rec.ToState {
		case boskos.ToBeDeleted:
			rec.Event = boskos.EventToBeDeleted
		case boskos.Tombstone:
			rec.Event = boskos.EventTombstone
		case boskos.Quarantined:
			rec.Event = boskos.EventQuarantine
		default:
			rec.Event = boskos.EventMove
		}
	case len(rec.Keys) > 0:
		rec.Event = boskos.EventUpdate
	default:
		return rec, born, false // a heartbeat, or bookkeeping
	}
	rec.Reason = reasonOf(rec, new.Map[attrUserData])
	rec.WaitedSeconds, rec.HeldSeconds, rec.IdleSeconds = milli(rec.WaitedSeconds), milli(rec.HeldSeconds), milli(rec.IdleSeconds)
	return rec, born, true
}

// milli rounds seconds to milliseconds.
func milli(s float64) float64 { return math.Round(s*1000) / 1000 }

// changedKeys returns the sorted keys whose presence or value differs
// between a and b (at most maxRecordKeys).
func changedKeys(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	if len(out) > maxRecordKeys {
		out = out[:maxRecordKeys]
	}
	return out
}

// reasonOf is the reason a record carries: the failure reason of the
// resource for fail and quarantine events, and for updates of it.
func reasonOf(rec boskos.HistoryRecord, ud map[string]string) string {
	switch rec.Event {
	case boskos.EventFail, boskos.EventQuarantine:
	case boskos.EventUpdate:
		changed := false
		for _, k := range rec.Keys {
			for _, rk := range reasonKeys {
				changed = changed || k == rk
			}
		}
		if !changed {
			return ""
		}
	default:
		return ""
	}
	for _, k := range reasonKeys {
		if v := ud[k]; v != "" {
			if len(v) > maxRecordReason {
				v = v[:maxRecordReason]
			}
			return v
		}
	}
	return ""
}

// historyItem is the store item of rec (see the constants above).
func historyItem(rec boskos.HistoryRecord, born int64, retention time.Duration) (store.Item, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return store.Item{}, err
	}
	key := historyKey(rec.Name, born, rec.Version)
	return store.Item{
		Key: key,
		Str: map[string]string{
			attrRecord:           string(b),
			store.IndexPartition: historyPartition + rec.Type,
			store.IndexSort:      historySort(rec.Time, key),
		},
		Num: map[string]int64{store.TTLAttr: rec.Time.Add(retention).Unix()},
	}, nil
}

// HistoryOptions configure the history feeds. The zero value of each
// field means its default.
type HistoryOptions struct {
	// Retention is how long records are kept (default
	// DefaultHistoryRetention): their ttl.
	Retention time.Duration
	// Now is the clock that dates deletions: the hook's, and the
	// writer's for changes without a time (default time.Now).
	Now func() time.Time
}

func (o HistoryOptions) retention() time.Duration {
	if o.Retention <= 0 {
		return DefaultHistoryRetention
	}
	return o.Retention
}

func (o HistoryOptions) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// historyItemOf is the record item of one change, if it is a transition.
func (o HistoryOptions) historyItemOf(old, new *store.Item, at time.Time) (store.Item, bool, error) {
	rec, born, ok := deriveHistory(old, new, at)
	if !ok {
		return store.Item{}, false, nil
	}
	it, err := historyItem(rec, born, o.retention())
	return it, err == nil, err
}

// HistoryHook is the embedded stores' history feed (memstore and
// boltstore Options.OnWrite): the record of every transition is created
// in the transaction of the write itself, so none is lost or recorded
// twice, at the cost of one more item in that transaction.
func HistoryHook(o HistoryOptions) store.WriteHook {
	return func(old, new *store.Item) []store.Item {
		if (new == nil || !isResourceKey(new.Key)) && (old == nil || !isResourceKey(old.Key)) {
			return nil
		}
		it, ok, _ := o.historyItemOf(old, new, o.now())
		if !ok {
			return nil
		}
		return []store.Item{it}
	}
}

// WriteHistory is the change-stream history feed (DynamoDB Streams): it
// writes the record of every transition among changes, in order, into st.
// It is idempotent: a record already there (a change delivered again, at
// least once) counts as written. It returns how many changes are done;
// after an error the caller retries from changes[done] (a Lambda reports
// that change as the batch's first failure).
func WriteHistory(ctx context.Context, st store.Store, changes []store.Change, o HistoryOptions) (done int, err error) {
	for i, c := range changes {
		at := c.At
		if at.IsZero() {
			at = o.now()
		}
		it, ok, err := o.historyItemOf(c.Old, c.New, at)
		if err != nil {
			return i, fmt.Errorf("ranch: history: %w", err)
		}
		if ok {
			if _, err := st.Create(ctx, it); err != nil && !errors.Is(err, store.ErrExists) {
				return i, fmt.Errorf("ranch: history: %w", err)
			}
		}
	}
	return len(changes), nil
}

// pageLimit checks a /v1 page size (0: the default).
func pageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return boskos.DefaultPageLimit, nil
	case limit < 0 || limit > boskos.MaxPageLimit:
		return 0, boskos.Invalid("invalid limit: must be 1 to %d, got %d", boskos.MaxPageLimit, limit)
	}
	return limit, nil
}

// cursor is the opaque cursor of the /v1 lists: base64url(kind + ":" +
// position). The kind keeps one list's cursor from another.
func encodeHistoryCursor(kind, pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + pos))
}

func decodeHistoryCursor(kind, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), kind+":") || len(b) == len(kind)+1 {
		return "", boskos.Invalid("invalid cursor: not one this list returned")
	}
	return string(b[len(kind)+1:]), nil
}

// decodeRecord reads a history item; ok is false when it expired.
func decodeRecord(it store.Item, now time.Time) (rec boskos.HistoryRecord, ok bool, err error) {
	if ttl := it.N(store.TTLAttr); ttl != 0 && ttl < now.Unix() {
		return rec, false, nil
	}
	if err := json.Unmarshal([]byte(it.S(attrRecord)), &rec); err != nil {
		return rec, false, fmt.Errorf("ranch: item %s: record: %w", it.Key, err)
	}
	return rec, true, nil
}

// ResourceHistory returns one page of the history of the resource name,
// newest first: a prefix listing of its records (never a scan), limit
// records (0: boskos.DefaultPageLimit; at most boskos.MaxPageLimit) from
// cursor (the previous page's, "" for the first). The records of a
// deleted resource stay until they expire; an unknown name has none.
func (r *Ranch) ResourceHistory(ctx context.Context, name string, limit int, cursor string) (boskos.HistoryPage, error) {
	if err := validateFields("name", name); err != nil {
		return boskos.HistoryPage{}, err
	}
	if strings.Contains(name, "/") {
		return boskos.HistoryPage{}, boskos.Invalid("invalid name: must not contain '/'")
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return boskos.HistoryPage{}, err
	}
	// The cursor names the resource: another listing's is refused.
	kind := "r/" + name
	pos, err := decodeHistoryCursor(kind, cursor)
	if err != nil {
		return boskos.HistoryPage{}, err
	}
	page, err := r.store.List(ctx, historyListPrefix(name), pos, limit)
	if err != nil {
		return boskos.HistoryPage{}, internal("history %s: %w", name, err)
	}
	now := r.now()
	out := boskos.HistoryPage{Items: make([]boskos.HistoryRecord, 0, len(page.Items))}
	for _, it := range page.Items {
		rec, ok, err := decodeRecord(it, now)
		if err != nil {
			return boskos.HistoryPage{}, internal("history %s: %w", name, err)
		}
		if ok {
			out.Items = append(out.Items, rec)
		}
	}
	if page.Next != "" {
		out.Cursor = encodeHistoryCursor(kind, page.Next)
	}
	return out, nil
}

// historyScanBudget bounds the records one History page reads per type
// while a filter keeps few of them: the page then ends early, with a
// cursor.
const historyScanBudget = 10 * boskos.MaxPageLimit

// historyTypes returns q's types: its own, or every type of the config in
// force (none before a config was applied).
func (r *Ranch) historyTypes(ctx context.Context, rtype string) ([]string, error) {
	if rtype != "" {
		return []string{rtype}, nil
	}
	a, err := r.AppliedConfig(ctx)
	if errors.Is(err, ErrNoConfig) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return a.Types, nil
}

// historyRange returns the index bounds of records with time in [since,
// until] (zero: open), newest first.
func historyRange(since, until time.Time) (from, to string) {
	if !until.IsZero() {
		from = inverted(until.UnixNano())
	}
	if !since.IsZero() {
		to = inverted(since.UnixNano()) + sep + top
	}
	return from, to
}

type scannedRecord struct {
	sort string
	rec  boskos.HistoryRecord
}

// History returns one page of the records of q's type (or of every type
// of the config in force) in q's time range, newest first, optionally
// those of one owner (as Owner or PrevOwner). Each type is one index
// range; a page reads at most historyScanBudget records per type, so a
// rare owner may get short pages, each with a cursor.
func (r *Ranch) History(ctx context.Context, q boskos.HistoryQuery) (boskos.HistoryPage, error) {
	if q.Type != "" {
		if err := validateFields("type", q.Type); err != nil {
			return boskos.HistoryPage{}, err
		}
	}
	if q.Owner != "" {
		if err := validateFields("owner", q.Owner); err != nil {
			return boskos.HistoryPage{}, err
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Since.After(q.Until) {
		return boskos.HistoryPage{}, boskos.Invalid("invalid since: after until")
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return boskos.HistoryPage{}, err
	}
	pos, err := decodeHistoryCursor("h", q.Cursor)
	if err != nil {
		return boskos.HistoryPage{}, err
	}
	types, err := r.historyTypes(ctx, q.Type)
	if err != nil {
		return boskos.HistoryPage{}, internal("history: %w", err)
	}
	from, to := historyRange(q.Since, q.Until)
	if pos != "" && pos+"\x01" > from {
		from = pos + "\x01" // after the previous page's last position
	}
	now := r.now()
	var all []scannedRecord
	horizon := "" // every type has been read up to here ("": to the end)
	for _, t := range types {
		got, more, last, err := r.scanHistory(ctx, t, from, to, q.Owner, limit+1, now)
		if err != nil {
			return boskos.HistoryPage{}, internal("history %s: %w", t, err)
		}
		all = append(all, got...)
		if more && (horizon == "" || last < horizon) {
			horizon = last
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].sort < all[j].sort })
	out := boskos.HistoryPage{Items: []boskos.HistoryRecord{}}
	for _, s := range all {
		if horizon != "" && s.sort > horizon {
			break
		}
		if len(out.Items) == limit {
			out.Cursor = encodeHistoryCursor("h", all[len(out.Items)-1].sort)
			return out, nil
		}
		out.Items = append(out.Items, s.rec)
	}
	if horizon != "" {
		out.Cursor = encodeHistoryCursor("h", horizon)
	}
	return out, nil
}

// scanHistory reads type t's records in [from, to] for owner ("": any)
// until it has want of them or read historyScanBudget; more says there may
// be others after last, the sort value of the last record read.
func (r *Ranch) scanHistory(ctx context.Context, t, from, to, owner string, want int, now time.Time) (got []scannedRecord, more bool, last string, err error) {
	q := store.Query{Partition: historyPartition + t, From: from, To: to, Limit: min(want, boskos.MaxPageLimit)}
	read := 0
	for {
		page, err := r.store.Query(ctx, q)
		if err != nil {
			return nil, false, "", err
		}
		for i, it := range page.Items {
			read++
			last = it.S(store.IndexSort)
			rec, ok, err := decodeRecord(it, now)
			if err != nil {
				return nil, false, "", err
			}
			if ok && (owner == "" || rec.Owner == owner || rec.PrevOwner == owner) {
				got = append(got, scannedRecord{sort: last, rec: rec})
			}
			if len(got) == want || read >= historyScanBudget {
				return got, i < len(page.Items)-1 || page.Next != "", last, nil
			}
		}
		if page.Next == "" {
			return got, false, last, nil
		}
		q.Cursor = page.Next
	}
}

// PruneHistory deletes the records older than retention (0:
// DefaultHistoryRetention) of every type of the config in force, for the
// stores whose backend does not expire items itself (DynamoDB's Time to
// Live does). It returns how many it deleted.
func (r *Ranch) PruneHistory(ctx context.Context, retention time.Duration) (int, error) {
	if retention <= 0 {
		retention = DefaultHistoryRetention
	}
	types, err := r.historyTypes(ctx, "")
	if err != nil {
		return 0, internal("prune history: %w", err)
	}
	from := inverted(r.now().Add(-retention).UnixNano())
	n := 0
	for _, t := range types {
		for {
			page, err := r.store.Query(ctx, store.Query{Partition: historyPartition + t, From: from, Limit: boskos.MaxPageLimit})
			if err != nil {
				return n, internal("prune history %s: %w", t, err)
			}
			for _, it := range page.Items {
				err := r.store.Delete(ctx, it.Key)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return n, internal("prune history %s: %w", t, err)
				}
				n++
			}
			if page.Next == "" {
				break
			}
		}
	}
	return n, nil
}

// lease is one lease of a resource, for Usage.
type lease struct {
	owner, rtype string
	start, end   time.Time
}

// Usage returns the resource-hours per owner and type over [q.Since,
// q.Until], from the history records since q.Since (a lease begun before
// the range is known by the held time of the record that ended it) and the
// leases open now (counted until q.Until, or now when that is earlier),
// multiplied by the type's cost-per-hour when the config in force has one.
// Rows are sorted by owner, then type, and paged like the other lists.
// Records older than the retention are gone: a range that starts earlier
// counts less.
func (r *Ranch) Usage(ctx context.Context, q boskos.UsageQuery) (boskos.UsageReport, error) {
	now := r.now()
	if q.Until.IsZero() {
		q.Until = now
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-DefaultHistoryRetention)
	}
	if q.Since.After(q.Until) {
		return boskos.UsageReport{}, boskos.Invalid("invalid since: after until")
	}
	if q.Type != "" {
		if err := validateFields("type", q.Type); err != nil {
			return boskos.UsageReport{}, err
		}
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return boskos.UsageReport{}, err
	}
	posText, err := decodeHistoryCursor("u", q.Cursor)
	if err != nil {
		return boskos.UsageReport{}, err
	}
	offset := 0
	if posText != "" {
		if offset, err = strconv.Atoi(posText); err != nil || offset < 0 {
			return boskos.UsageReport{}, boskos.Invalid("invalid cursor: not one this list returned")
		}
	}
	costs := map[string]float64{}
	types := []string{q.Type}
	cfg, applied, err := r.ConfigInForce(ctx)
	switch {
	case errors.Is(err, ErrNoConfig):
		if q.Type == "" {
			types = nil
		}
	case err != nil:
		return boskos.UsageReport{}, internal("usage: %w", err)
	default:
		costs = cfg.CostsPerHour()
		if q.Type == "" {
			types = applied.Types
		}
	}
	leases, err := r.leasesSince(ctx, types, q.Since, now)
	if err != nil {
		return boskos.UsageReport{}, err
	}
	type rowKey struct{ owner, rtype string }
	rows := map[rowKey]*boskos.UsageRow{}
	for _, l := range leases {
		start, end := maxTime(l.start, q.Since), minTime(l.end, q.Until)
		if end.Before(start) || (end.Equal(start) && (l.end.Before(q.Since) || l.start.After(q.Until))) {
			continue
		}
		k := rowKey{l.owner, l.rtype}
		row := rows[k]
		if row == nil {
			row = &boskos.UsageRow{Owner: l.owner, Type: l.rtype}
			rows[k] = row
		}
		row.Leases++
		row.ResourceHours += end.Sub(start).Hours()
	}
	all := make([]boskos.UsageRow, 0, len(rows))
	for _, row := range rows {
		if c, ok := costs[row.Type]; ok {
			cost := math.Round(row.ResourceHours*c*1e6) / 1e6
			row.CostPerHour, row.Cost = &c, &cost
		}
		row.ResourceHours = math.Round(row.ResourceHours*1e6) / 1e6
		all = append(all, *row)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Owner != all[j].Owner {
			return all[i].Owner < all[j].Owner
		}
		return all[i].Type < all[j].Type
	})
	out := boskos.UsageReport{Since: q.Since.UTC(), Until: q.Until.UTC(), Items: []boskos.UsageRow{}}
	if offset < len(all) {
		end := min(offset+limit, len(all))
		out.Items = all[offset:end]
		if end < len(all) {
			out.Cursor = encodeHistoryCursor("u", strconv.Itoa(end))
		}
	}
	return out, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// leasesSince rebuilds the leases of types that were open at some time in
// [since, now]: from the records since then, oldest first, and the leases
// open now that no record since then mentions.
func (r *Ranch) leasesSince(ctx context.Context, types []string, since, now time.Time) ([]lease, error) {
	var out []lease
	seen := map[string]bool{} // resources with records since
	_, to := historyRange(since, time.Time{})
	for _, t := range types {
		var recs []boskos.HistoryRecord
		err := r.query(ctx, store.Query{Partition: historyPartition + t, To: to, Limit: boskos.MaxPageLimit}, func(it store.Item) error {
			rec, ok, err := decodeRecord(it, now)
			if ok {
				recs = append(recs, rec)
			}
			return err
		})
		if err != nil {
			return nil, internal("usage %s: %w", t, err)
		}
		open := map[string]*lease{}           // by resource name
		for i := len(recs) - 1; i >= 0; i-- { // oldest first
			rec := recs[i]
			seen[rec.Name] = true
			if rec.PrevOwner != "" && rec.PrevOwner != rec.Owner {
				l := open[rec.Name]
				if l == nil || l.owner != rec.PrevOwner {
					l = &lease{owner: rec.PrevOwner, rtype: t, start: rec.Time.Add(-time.Duration(rec.HeldSeconds * float64(time.Second)))}
				}
				l.end = rec.Time
				out = append(out, *l)
				delete(open, rec.Name)
			}
			if rec.Owner != "" && rec.Owner != rec.PrevOwner {
				open[rec.Name] = &lease{owner: rec.Owner, rtype: t, start: rec.Time}
			}
		}
		for _, l := range open {
			l.end = now
			out = append(out, *l)
		}
	}
	want := map[string]bool{}
	for _, t := range types {
		want[t] = true
	}
	err := r.list(ctx, resourcePrefix, func(it store.Item) error {
		owner, t := it.S(attrOwner), it.S(attrType)
		if owner == "" || !want[t] || seen[it.S(attrName)] {
			return nil
		}
		start, err := parseTime(it.S(attrLeasedAt))
		if err != nil {
			start = since // leased before history existed: counted from since
		}
		out = append(out, lease{owner: owner, rtype: t, start: start, end: now})
		return nil
	})
	if err != nil {
		return nil, internal("usage: %w", err)
	}
	return out, nil
}
