package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
)

const (
	// workers is the number of goroutines of each contention test.
	workers = 32
	// casIncrements is how many increments each worker makes.
	casIncrements = 4
	// maxAttempts bounds the retries of one increment or transfer.
	maxAttempts = 5000
)

// parallel runs fn(i) for i in [0, n) on n goroutines, starting them
// together, and returns the errors they returned.
func parallel(n int, fn func(i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func requireNoErrors(t *testing.T, errs []error) {
	t.Helper()
	require.NoError(t, errors.Join(errs...))
}

// testContentionCAS: workers compare-and-swap one key; the final version
// is one more than the number of successes, and the counter equals them.
func testContentionCAS(t *testing.T, s store.Store) {
	ctx := t.Context()
	const key = "cas/counter"
	mustCreate(t, s, store.Item{Key: key, Num: map[string]int64{"n": 0}})
	var successes, conflicts atomic.Int64
	errs := parallel(workers, func(w int) error {
		for range casIncrements {
			done := false
			for attempt := 0; !done; attempt++ {
				if attempt == maxAttempts {
					return fmt.Errorf("worker %d: no success after %d attempts", w, maxAttempts)
				}
				cur, err := s.Get(ctx, key)
				if err != nil {
					return fmt.Errorf("worker %d: get: %w", w, err)
				}
				runtime.Gosched() // widen the window for lost updates
				got, err := s.Update(ctx, store.Update{Key: key, Cond: []store.Cond{store.VersionIs(cur.Version)},
					SetNum: map[string]int64{"n": cur.N("n") + 1}, Set: map[string]string{"last": fmt.Sprint(w)}})
				switch {
				case err == nil:
					if got.Version != cur.Version+1 || got.N("n") != cur.N("n")+1 {
						return fmt.Errorf("worker %d: update returned version %d n %d after version %d n %d",
							w, got.Version, got.N("n"), cur.Version, cur.N("n"))
					}
					successes.Add(1)
					done = true
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				default:
					return fmt.Errorf("worker %d: update: %w", w, err)
				}
			}
		}
		return nil
	})
	requireNoErrors(t, errs)
	final, err := s.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, int64(workers*casIncrements), successes.Load(), "successes")
	require.Equal(t, 1+successes.Load(), final.Version, "final version: got %d, want 1 + %d successes", final.Version, successes.Load())
	require.Equal(t, successes.Load(), final.N("n"), "counter: got %d, want %d successes", final.N("n"), successes.Load())
	t.Logf("%d successes, %d conflicts", successes.Load(), conflicts.Load())
}

// testContentionAddNum: unconditional increments are never lost.
func testContentionAddNum(t *testing.T, s store.Store) {
	ctx := t.Context()
	const key = "add/counter"
	errs := parallel(workers, func(w int) error {
		for range casIncrements {
			if _, err := s.Update(ctx, store.Update{Key: key, Upsert: true, AddNum: map[string]int64{"n": 1, "neg": -2}}); err != nil {
				return fmt.Errorf("worker %d: %w", w, err)
			}
		}
		return nil
	})
	requireNoErrors(t, errs)
	final, err := s.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, int64(workers*casIncrements), final.N("n"))
	require.Equal(t, int64(-2*workers*casIncrements), final.N("neg"))
	require.Equal(t, int64(workers*casIncrements), final.Version)
}

// testContentionCreate: exactly one of many concurrent Creates wins, and
// the stored item is the winner's.
func testContentionCreate(t *testing.T, s store.Store) {
	ctx := t.Context()
	for round := range 3 {
		key := fmt.Sprintf("race/%d", round)
		var winners atomic.Int64
		var winner atomic.Int64
		errs := parallel(workers, func(w int) error {
			var err error
			if round == 2 {
				// Creates inside transactions race too.
				err = s.Transact(ctx, []store.Op{{Create: &store.Item{Key: key, Num: map[string]int64{"w": int64(w)}}}})
			} else {
				_, err = s.Create(ctx, store.Item{Key: key, Num: map[string]int64{"w": int64(w)}})
			}
			switch {
			case err == nil:
				winners.Add(1)
				winner.Store(int64(w))
				return nil
			case errors.Is(err, store.ErrExists):
				return nil
			case round == 2 && errors.Is(err, store.ErrConflict):
				return nil // a transaction may lose with a conflict instead
			}
			return fmt.Errorf("worker %d: %w", w, err)
		})
		requireNoErrors(t, errs)
		require.Equal(t, int64(1), winners.Load(), "round %d: winning creates", round)
		requireStored(t, s, store.Item{Key: key, Version: 1, Num: map[string]int64{"w": winner.Load()}})
	}
}

// testContentionTransfer: concurrent transactions moving tokens between
// accounts conserve the total.
func testContentionTransfer(t *testing.T, s store.Store) {
	ctx := t.Context()
	const (
		accounts  = 6
		initial   = 50
		transfers = 6
		movers    = 16
	)
	keys := make([]string, accounts)
	for i := range keys {
		keys[i] = fmt.Sprintf("acct/%02d", i)
		mustCreate(t, s, store.Item{Key: keys[i], Num: map[string]int64{"tokens": initial}})
	}
	var successes atomic.Int64
	errs := parallel(movers, func(w int) error {
		rng := rand.New(rand.NewPCG(uint64(w), 42))
		for range transfers {
			from := rng.IntN(accounts)
			to := (from + 1 + rng.IntN(accounts-1)) % accounts
			amount := int64(1 + rng.IntN(5))
			done := false
			for attempt := 0; !done; attempt++ {
				if attempt == maxAttempts {
					return fmt.Errorf("mover %d: no success after %d attempts", w, maxAttempts)
				}
				items, err := s.BatchGet(ctx, []string{keys[from], keys[to]})
				if err != nil {
					return fmt.Errorf("mover %d: batch get: %w", w, err)
				}
				if len(items) != 2 {
					return fmt.Errorf("mover %d: batch get returned %d items", w, len(items))
				}
				byKey := map[string]store.Item{items[0].Key: items[0], items[1].Key: items[1]}
				src, dst := byKey[keys[from]], byKey[keys[to]]
				if src.N("tokens") < amount {
					break // too poor: give up this transfer
				}
				err = s.Transact(ctx, []store.Op{
					{Update: &store.Update{Key: src.Key, Cond: []store.Cond{store.VersionIs(src.Version)},
						AddNum: map[string]int64{"tokens": -amount}}},
					{Update: &store.Update{Key: dst.Key, Cond: []store.Cond{store.VersionIs(dst.Version)},
						AddNum: map[string]int64{"tokens": amount}}},
				})
				switch {
				case err == nil:
					successes.Add(1)
					done = true
				case isConflict(err):
				default:
					return fmt.Errorf("mover %d: transact: %w", w, err)
				}
			}
		}
		return nil
	})
	requireNoErrors(t, errs)
	var total, versions int64
	for _, it := range listAll(t, s, "acct/", 0) {
		require.GreaterOrEqual(t, it.N("tokens"), int64(0), "%s tokens", it.Key)
		total += it.N("tokens")
		versions += it.Version - 1
	}
	require.Equal(t, int64(accounts*initial), total, "total tokens")
	require.Equal(t, 2*successes.Load(), versions, "each successful transfer updates two items once")
	t.Logf("%d transfers", successes.Load())
}
