package ranch

import (
	"context"
	"sync"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// This file holds the estimated wait of a refused request_id
// (boskos.QueuePlace.EstimatedWait), from the recent hold times of its
// type where the history allows (see the package doc, "The estimated
// wait").

const (
	// holdSamples is K: how many of a type's most recent lease ends the
	// hold-time figure averages.
	holdSamples = 20
	// holdScanLimit bounds the history records one fill reads, newest
	// first, in one index page: a type's lease ends lie among its other
	// records (acquires, user data updates, the janitor's claims), about
	// one in two or three of them.
	holdScanLimit = 100
	// holdWindow is how recent a lease end must be to count: hold times
	// of last month say little about the wait now.
	holdWindow = 24 * time.Hour
)

// holdFigure is what a type's recent lease history says about its
// resources' coming back: the mean time held of its last lease ends, and
// how many resources take turns.
type holdFigure struct {
	mean    time.Duration // H: the mean time held
	samples int           // how many lease ends mean averages (0: no figure)
	n       int64         // N: the type's resources
}

// ok reports whether f can estimate a wait.
func (f holdFigure) ok() bool { return f.samples > 0 && f.mean > 0 && f.n > 0 }

// wait is the estimated wait at position p: p × H / N. The model: while
// a request_id waits, the N resources of its type are held, each for H on
// average, so leases end, and resources come back, at a combined rate of
// N / H (whatever the distribution of hold times, in the long run); the
// first in line waits for the next one to come back, about H / N (exactly
// that on average for memoryless holds), and the p-th in line for p of
// them. It leaves out that a resource released dirty is cleaned before it
// is free again, that a quarantined one does not come back, and that
// other request_ids may jump in (quotas): an estimate, rounded up to the
// second by the transport.
func (f holdFigure) wait(p int) time.Duration {
	w := float64(p) * float64(f.mean) / float64(f.n)
	if w > float64(maxEstimate) {
		return maxEstimate
	}
	return time.Duration(w)
}

// maxEstimate caps an estimate (and keeps its arithmetic in range): a
// queue ahead of this has no useful figure anyway.
const maxEstimate = 30 * 24 * time.Hour

// isLeaseEnd reports whether rec ends a lease that an acquire made, and
// says how long it was held: a release, or a reset (the reaper took an
// abandoned lease back). The janitor's cleanups (clean, fail, quarantine)
// end its own short claims, not the leases waiters wait for; Mason's free
// and recycle end leases of whole virtual resources; neither counts. A
// record without a time held (a lease older than the history) does not
// count either.
func isLeaseEnd(rec boskos.HistoryRecord) bool {
	return (rec.Event == boskos.EventRelease || rec.Event == boskos.EventReset) && rec.HeldSeconds > 0
}

// loadHoldFigure reads the hold-time figure of rtype at now: one index
// query of the type's history, newest first, back to holdWindow, at most
// holdScanLimit records, whose first holdSamples lease ends are averaged
// (the mean: the rate at which resources come back is N over the mean
// hold, whatever its distribution, and a median would understate the wait
// for the long tail leases have; K and the window bound how long an
// outlier weighs); and, only when there is one, the type's counter (one
// Get): N is the number of resources of the type, which the ranch keeps
// in the same transaction as every creation and deletion. When the
// history has no lease end (history off, a new type) the figure is empty
// and nothing else is read.
func (r *Ranch) loadHoldFigure(ctx context.Context, rtype string, now time.Time) (holdFigure, error) {
	_, to := historyRange(now.Add(-holdWindow), time.Time{})
	page, err := r.store.Query(ctx, store.Query{Partition: historyPartition + rtype, To: to, Limit: holdScanLimit})
	if err != nil {
		return holdFigure{}, err
	}
	var f holdFigure
	var sum float64
	for _, it := range page.Items {
		rec, ok, err := decodeRecord(it, now)
		if err != nil {
			r.log.Warn("ranch: estimated wait: skipping malformed history record", "key", it.Key, "err", err)
			continue
		}
		if !ok || !isLeaseEnd(rec) {
			continue
		}
		sum += rec.HeldSeconds
		f.samples++
		if f.samples == holdSamples {
			break
		}
	}
	if f.samples == 0 {
		return holdFigure{}, nil
	}
	f.mean = time.Duration(sum / float64(f.samples) * float64(time.Second))
	if f.n, err = r.typeCount(ctx, rtype); err != nil {
		return holdFigure{}, err
	}
	return f, nil
}

// holdCache holds the hold-time figure of each type that refused a
// request_id, reused for Options.HoldCacheTTL. Safe for concurrent use.
// Its keys are types that queue request_ids: types with resources or a
// dynamic life cycle (see miss), so it stays as small as the config.
type holdCache struct {
	mu    sync.Mutex
	slots map[string]*holdSlot
}

// holdSlot is one type's figure. Its mutex is held while the figure is
// read from the store: concurrent refusals of the type wait for that one
// read instead of each making their own.
type holdSlot struct {
	mu  sync.Mutex
	fig holdFigure
	at  time.Time
	set bool
}

func (c *holdCache) slot(rtype string) *holdSlot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		c.slots = map[string]*holdSlot{}
	}
	s := c.slots[rtype]
	if s == nil {
		s = &holdSlot{}
		c.slots[rtype] = s
	}
	return s
}

// cachedHoldFigure returns rtype's hold-time figure: from the cache unless it
// is older than HoldCacheTTL, else read (loadHoldFigure) and cached. A
// failed read is logged and keeps the previous figure (none at first) for
// another HoldCacheTTL: the estimate is a courtesy, the refusal must not
// fail for it, nor the store be read again by every poll while it fails.
func (r *Ranch) cachedHoldFigure(ctx context.Context, rtype string) holdFigure {
	s := r.holds.slot(rtype)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := r.now()
	if s.set && now.Sub(s.at) < r.opts.HoldCacheTTL {
		return s.fig
	}
	f, err := r.loadHoldFigure(ctx, rtype, now)
	if err != nil {
		r.log.Warn("ranch: estimated wait: reading the type's hold times failed", "type", rtype, "err", err)
		f = s.fig
	}
	s.fig, s.at, s.set = f, now, true
	return f
}
