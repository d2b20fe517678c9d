package ranch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// TestRetry: r.retry calls its step until it is done, at most
// MaxRetries + 1 times; it returns the step's own error unchanged, gives up
// with ErrGaveUp (a 500 naming the operation and subject) and stops on a
// canceled context.
func TestRetry(t *testing.T) {
	const maxRetries = 3
	errStep := boskos.OwnerMismatch("me", "you")
	tests := []struct {
		name string
		// doneAt is the attempt at which the step is done (-1: never).
		doneAt int
		// stepErr is the step's result when done.
		stepErr error
		// cancelAt cancels the context during that attempt (-1: never).
		cancelAt  int
		canceled  bool // the context is canceled before retry starts
		wantCalls int
		wantErr   error  // matched with errors.Is; nil: success
		wantText  string // the error's text, when set
	}{
		{name: "success at once", doneAt: 0, cancelAt: -1, wantCalls: 1},
		{name: "success after conflicts", doneAt: 2, cancelAt: -1, wantCalls: 3},
		{name: "success at the last attempt", doneAt: maxRetries, cancelAt: -1, wantCalls: maxRetries + 1},
		{name: "final error returned unchanged", doneAt: 1, stepErr: errStep, cancelAt: -1, wantCalls: 2, wantErr: errStep,
			wantText: "owner mismatch request by me, currently owned by you"},
		{name: "attempts bounded", doneAt: -1, cancelAt: -1, wantCalls: maxRetries + 1, wantErr: ErrGaveUp,
			wantText: "ranch: release p-1: still conflicting after 3 retries"},
		{name: "context canceled during an attempt", doneAt: -1, cancelAt: 1, wantCalls: 2, wantErr: context.Canceled,
			wantText: "ranch: release p-1: context canceled"},
		{name: "context canceled before: one attempt", doneAt: -1, cancelAt: -1, canceled: true, wantCalls: 1, wantErr: context.Canceled},
		{name: "context canceled before, done at once", doneAt: 0, cancelAt: -1, canceled: true, wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(memstore.New(), Options{MaxRetries: maxRetries})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.canceled {
				cancel()
			}
			var attempts []int
			err := r.retry(ctx, "release", "p-1", func(attempt int) (bool, error) {
				attempts = append(attempts, attempt)
				if attempt == tc.cancelAt {
					cancel()
				}
				if attempt == tc.doneAt {
					return true, tc.stepErr
				}
				// An error with !done is ignored: the step wants another try.
				return false, errors.New("ignored")
			})
			require.Len(t, attempts, tc.wantCalls, "got attempts %v, want %d", attempts, tc.wantCalls)
			for i, a := range attempts {
				assert.Equal(t, i, a, "attempt numbers count from 0")
			}
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			if tc.wantErr == errStep {
				assert.Same(t, errStep, err, "the step's error is not wrapped")
			} else {
				assert.Equal(t, boskos.EInternal, boskos.ErrorCode(err), "got %v, want a 500", err)
			}
			if tc.wantText != "" {
				assert.Equal(t, tc.wantText, err.Error())
			}
		})
	}
}

// TestGaveUp: every operation's give-up error wraps ErrGaveUp and is a 500.
func TestGaveUp(t *testing.T) {
	r := New(memstore.New(), Options{MaxRetries: 2})
	err := r.gaveUp("acquire", "t")
	require.ErrorIs(t, err, ErrGaveUp)
	assert.Equal(t, boskos.EInternal, boskos.ErrorCode(err))
	assert.Equal(t, "ranch: acquire t: still conflicting after 2 retries", err.Error())
}

// TestOperationsGiveUp: when every conditional write conflicts, each
// operation makes MaxRetries + 1 attempts and then fails with a 500 that
// wraps ErrGaveUp and names it, and writes nothing.
func TestOperationsGiveUp(t *testing.T) {
	const maxRetries = 2
	many := boskos.UserData{}
	for i := 0; i <= mapOpsLimit; i++ {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	tests := []struct {
		name       string
		call       func(e *env) error
		wantText   string // the error's text
		nested     bool   // wantText is the nested helper's part of it
		wantWrites map[string]int
	}{
		{name: "release", call: func(e *env) error { return e.r.Release(e.ctx, "b", "free", "o", nil) },
			wantText: "ranch: release b: still conflicting after 2 retries", wantWrites: map[string]int{faultstore.Update: 3}},
		{name: "update", call: func(e *env) error { return e.r.Update(e.ctx, "b", "o", "busy", boskos.UserData{"k": "v"}, nil) },
			wantText: "ranch: update b: still conflicting after 2 retries", wantWrites: map[string]int{faultstore.Update: 3}},
		{name: "update of many keys", call: func(e *env) error { return e.r.Update(e.ctx, "b", "o", "busy", many, nil) },
			wantText: "ranch: update b: still conflicting after 2 retries", wantWrites: map[string]int{faultstore.Update: 3}},
		{name: "reset", call: func(e *env) error { _, err := e.r.Reset(e.ctx, "t", "busy", -1, "dirty"); return err },
			wantText: "ranch: reset b: still conflicting after 2 retries", wantWrites: map[string]int{faultstore.Update: 3}},
		{name: "acquirebystate", call: func(e *env) error {
			_, err := e.r.AcquireByState(e.ctx, "free", "busy", "o", []string{"a"})
			return err
		}, wantText: "ranch: acquirebystate free: still conflicting after 2 retries", wantWrites: map[string]int{faultstore.Transact: 3}},
		{name: "gc request queue", call: func(e *env) error { _, err := e.r.GCRequestQueue(e.ctx); return err },
			wantText: "delete " + queueKey("t", "free", "old") + ": still conflicting after 2 retries", nested: true,
			wantWrites: map[string]int{faultstore.Delete: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			allConflict := func(c faultstore.Call) error {
				if c.IsWrite() {
					return faultstore.Conflict(c)
				}
				return nil
			}
			e := newEnv(t, Options{MaxRetries: maxRetries}, allConflict)
			e.seed(res{name: "a", rtype: "t", state: "free"}, res{name: "b", rtype: "t", state: "busy", owner: "o", age: time.Hour})
			_, err := e.mem.Update(e.ctx, leaseQueueEntryForGC(e))
			require.NoError(t, err)
			before := e.all()
			e.fs.ResetCounts()
			err = tc.call(e)
			require.ErrorIs(t, err, ErrGaveUp)
			assert.Equal(t, boskos.EInternal, boskos.ErrorCode(err), "got %v, want a 500", err)
			if tc.nested {
				assert.True(t, strings.HasPrefix(err.Error(), "ranch: "+tc.name+": "), "got %q", err.Error())
				assert.Contains(t, err.Error(), tc.wantText)
			} else {
				assert.Equal(t, tc.wantText, err.Error())
			}
			writes := map[string]int{}
			for m, n := range e.fs.Counts() {
				if (faultstore.Call{Method: m}).IsWrite() {
					writes[m] = n
				}
			}
			assert.Equal(t, tc.wantWrites, writes, "attempts")
			assert.Equal(t, before, e.all(), "nothing written")
		})
	}
}
