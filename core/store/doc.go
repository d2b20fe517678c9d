// Package store is the cloud-agnostic key-value contract that the domain
// (core/ranch) is written against, and that every backend implements:
// memstore (tests), boltstore (embedded, durable; the default of the local
// server) and dynamostore (DynamoDB, production).
//
// # Items
//
// An Item has a key, a version and three kinds of attributes: strings (Str),
// numbers (Num) and string maps (Map). Attribute names are unique across the
// three kinds. Create stores version 1; every successful Update adds one. An
// empty string attribute is never stored: setting "" removes it, and a
// condition that an attribute equals "" holds when it is absent.
//
// Keys are "<namespace>/<rest>". The namespace is the part before the first
// "/" and must be non-empty; List takes a prefix that includes the namespace
// and its slash. (DynamoDB stores the namespace as the partition key and the
// rest as the sort key, so a listing is one Query.)
//
// # Index
//
// Backends maintain one secondary index, atomically with the item. An item is
// in the index when it has both a string attribute named IndexPartition and one
// named IndexSort. Query returns the items of one partition whose sort value
// lies in a range, in ascending byte order of the sort value (ties by key).
// The index may lag the items (DynamoDB global secondary indexes are
// eventually consistent), so callers re-check what they read from it with a
// conditional write.
//
// # Errors
//
// Every backend returns the same sentinels, wrapped with the operation and
// key: ErrNotFound, ErrExists, ErrConflict, and ErrTooLarge for a write that
// would make an item larger than MaxItemBytes (DynamoDB's item size limit,
// which the in-process backends enforce alike). A failed condition returns
// a *ConditionError (errors.Is(err, ErrConflict) holds) that carries the item
// as it was when the condition failed, when the backend could read it, so the
// caller can say why without another read.
//
// The conformance suite in package storetest exercises all of this, including
// contention, and is run by every backend.
package store
