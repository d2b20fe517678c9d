// Package boltstore is the embedded, durable store.Store: one bbolt file,
// the default store of the local server.
//
// The file holds two buckets. "items" maps each key to its encoded item
// (JSON of the version and the attributes). "index" holds one empty-valued
// entry per indexed item, whose key is the item's partition, sort value and
// key, each escaped (0x00 becomes 0x00 0xFF) and terminated by 0x00 0x01, so
// that bbolt's byte order of entries is the order of (partition, sort, key).
// Every write updates both buckets in one bbolt transaction, so the index
// never lags: Query is as consistent as Get.
//
// Single writes go through bbolt's Batch, so concurrent writers share one
// transaction and one fsync; when a writer is alone it commits at once
// instead of waiting for companions. Conditions and updates are evaluated
// with store.Cond.Holds and store.Update.Apply, exactly like memstore.
//
// bbolt locks the file: a second process (or a second Open in this one)
// waits at most Options.OpenTimeout and then fails with an error that says
// the file is in use.
package boltstore
