// Package faultstore wraps a store.Store and makes chosen calls fail, so that
// tests of code above the store walk its conflict-retry and error paths (as
// upstream Boskos's tests fail the first update on purpose). It also counts
// the calls it sees, so tests can pin how many requests an operation costs.
//
// A Rule looks at each call before it reaches the wrapped store and returns
// the error to inject, or nil to let it through. An injected failure has no
// effect on the wrapped store.
package faultstore
