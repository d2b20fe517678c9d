package ranch

import (
	"context"
	"sync"
)

// DefaultAcquireConcurrency is how many acquires of one (type, state) a
// Ranch lets race in the store at once, when Options.AcquireConcurrency is 0.
const DefaultAcquireConcurrency = 2

// gates bounds, per (type, state), how many acquires of this process are in
// the store at once. Every acquire that sees the same free resource races
// for it with a conditional write and all but one fail; letting a few race
// and the rest wait their turn in memory keeps those failed writes (which
// DynamoDB bills) near the number of processes instead of the number of
// callers. Gates exist only while in use, so arbitrary types sent by clients
// leave nothing behind.
type gates struct {
	mu    sync.Mutex
	size  int
	byKey map[string]*gate
}

type gate struct {
	slots chan struct{}
	users int // callers holding or waiting for a slot
}

// enter waits for a slot of key's gate; it returns the function that frees
// the slot, or ctx's error.
func (g *gates) enter(ctx context.Context, key string) (func(), error) {
	g.mu.Lock()
	if g.byKey == nil {
		g.byKey = map[string]*gate{}
	}
	gt := g.byKey[key]
	if gt == nil {
		gt = &gate{slots: make(chan struct{}, g.size)}
		g.byKey[key] = gt
	}
	gt.users++
	g.mu.Unlock()

	leave := func() {
		g.mu.Lock()
		if gt.users--; gt.users == 0 {
			delete(g.byKey, key)
		}
		g.mu.Unlock()
	}
	select {
	case gt.slots <- struct{}{}:
		return func() { <-gt.slots; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// len reports how many gates exist (for tests).
func (g *gates) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.byKey)
}
