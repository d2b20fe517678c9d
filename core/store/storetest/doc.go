// Package storetest is the conformance suite of the store contract. Every
// backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := mybackend.New(...)
//			t.Cleanup(func() { _ = s.Close() })
//			return s
//		})
//	}
//
// Each subtest gets a fresh, empty store from newStore. The suite covers
// items and their versions, every condition operator, the update operations,
// transactions, listing and the index with pagination, and contention.
//
// Index reads (Query) may lag the items on some backends (DynamoDB global
// secondary indexes), so assertions about the index poll a bounded number
// of times (about two seconds) before they fail; backends whose index is
// updated with the item pass at the first poll.
//
// Item comparisons treat a nil attribute map like an empty one, and a map
// attribute left empty (every key removed) like an absent one: the contract
// does not say which of the two a backend must return.
package storetest
