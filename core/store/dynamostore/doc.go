// Package dynamostore implements store.Store on one Amazon DynamoDB table.
//
// # Table design
//
// One table holds every namespace. An item's key "<namespace>/<rest>" is split
// by store.SplitKey into the partition key AttrPK ("pk", S) = namespace and the
// sort key AttrSK ("sk", S) = rest, so List(prefix) is a single Query
// (pk = namespace AND begins_with(sk, rest of the prefix)), paginated.
//
// The item's version is the number attribute AttrVersion ("v", N). Item
// attributes map one to one onto DynamoDB attributes: Str -> S, Num -> N,
// Map -> M whose values are all S (empty maps are stored). Empty strings are
// never stored (setting "" removes the attribute). Item attribute names that
// equal the table's own attribute names (pk, sk, v, ixsk) or start with "~"
// are stored with one more "~" in front ("v" -> "~v"), so every name the
// store contract allows round-trips; names containing '[' or ']' are refused
// (the expression builder reads them as list indexes). Attribute names are
// unique across Str, Num and Map (one DynamoDB attribute each).
//
// One global secondary index, IndexPool ("pool"), has partition key
// store.IndexPartition ("ixp", S) and sort key AttrIndexSortKey ("ixsk", S),
// and projects ALL attributes. The store writes ixsk = ixs + NUL + key with
// every change of the item's store.IndexSort ("ixs") attribute and removes it
// with ixs: DynamoDB leaves items with equal index sort keys in no particular
// order, and the contract orders ties by key. The index is sparse: only items
// that have both ixp and ixs are in it. Query reads it; global secondary
// indexes have no consistent reads, so what Query returns may lag the items
// by a fraction of a second, and callers re-check it with a conditional write
// (see package store). Query bounds are exact for sort values without NUL or
// \x01 bytes.
//
// AttrTTL (store.TTLAttr, "ttl", N, Unix seconds) is the table's Time to Live
// attribute. Billing is PAY_PER_REQUEST. The table has a NEW_AND_OLD_IMAGES
// stream: the change feed of the lease history (package streams reads it
// for the local server, a Lambda event source mapping in AWS; ChangeOf and
// DecodeImage turn its records into store.Change values). CreateTable creates exactly this
// table (for tests and local runs); production tables are created by the
// infrastructure code (CDK/SAM) from the same names, defined in core/deploy.
//
// # Operations
//
// Every condition, update and key condition is built with
// feature/dynamodb/expression, except the paths into map attributes
// (MapSet/MapRemove): map keys are arbitrary strings (dots, brackets, '#',
// unicode) that the builder would parse as document paths, so those path
// segments are written by hand with their own placeholders ("#ma0.#ms0_0").
//
//   - Get and BatchGet read with ConsistentRead; BatchGet retries
//     UnprocessedKeys with capped, jittered backoff.
//   - Create is a PutItem conditioned on attribute_not_exists(pk).
//   - Update is one UpdateItem conditioned on attribute_exists(pk) (unless
//     Upsert) and the update's conditions, returning ALL_NEW, and ALL_OLD on a
//     failed condition, so a *store.ConditionError carries the current item
//     without another read. MapSet/MapRemove change keys inside a map
//     attribute in place; when the map attribute is absent the update is
//     retried once with the whole map written (the old item tells which).
//   - Delete is a conditional DeleteItem.
//   - Transact is one TransactWriteItems; the cancellation reasons become a
//     *store.TxError naming the failing operation.
//   - List and Query page with Limit; their cursors are the base64 (URL
//     alphabet) of the DynamoDB LastEvaluatedKey, opaque to callers. A page is
//     full unless it is the last one (Next is empty exactly on the last page).
//
// Errors of the AWS SDK are translated here and nowhere else: callers see
// store.ErrNotFound, store.ErrExists, store.ErrConflict (and
// *store.ConditionError, *store.TxError) wrapped with the operation and key,
// as in "dynamostore: update resources/p-1: not found", or a plain error
// carrying the DynamoDB error code and message (an *Error); never an SDK
// type. Throttling that outlasted the SDK's retries also matches
// store.ErrUnavailable (nothing was applied), unless an earlier attempt of a
// transaction may have been applied.
//
// NewClient builds a *dynamodb.Client whose standard retryer retries
// throttling (ThrottlingException, ProvisionedThroughputExceededException)
// with capped, full-jitter exponential backoff. PutItem, UpdateItem and
// DeleteItem are not idempotent: an attempt that DynamoDB answered with
// HTTP 200 is never repeated, even when reading its response failed (the
// write was committed; repeating it would apply it twice), and neither is one
// answered with a 5xx or whose connection broke after the request was sent
// (the outcome is unknown): the error is returned instead. TransactWriteItems is retried (it carries an idempotency
// token).
//
// Package dynamotest runs DynamoDB Local for tests and creates a fresh table
// per test.
package dynamostore
