package deploy

import "github.com/boskos-serverless/boskos/core/store"

// Names of the DynamoDB table's attributes and index (see
// core/store/dynamostore/doc.go for the design). dynamostore creates and
// reads the table with these names; infra/ and template.yaml declare it
// with them.
const (
	// AttrPK is the partition key (S): the key's namespace.
	AttrPK = "pk"
	// AttrSK is the sort key (S): the key after the namespace and its "/".
	AttrSK = "sk"
	// AttrVersion is the item's version (N).
	AttrVersion = "v"
	// IndexPool is the name of the global secondary index that Query reads.
	// It projects every attribute (ProjectionAll).
	IndexPool = "pool"
	// AttrIndexPartition is IndexPool's partition key (S).
	AttrIndexPartition = store.IndexPartition
	// AttrIndexSort is the item attribute (S) that orders items in
	// IndexPool. DynamoDB leaves items with equal index sort keys in no
	// particular order, so the index's sort key is AttrIndexSortKey.
	AttrIndexSort = store.IndexSort
	// AttrIndexSortKey is IndexPool's sort key (S): the value of
	// AttrIndexSort, a NUL byte and the item's key, written by the store
	// with every change of AttrIndexSort, so that ties are ordered by key.
	AttrIndexSortKey = "ixsk"
	// AttrTTL is the Time to Live attribute (N, Unix seconds).
	AttrTTL = store.TTLAttr
	// BillingMode is the table's billing mode (on demand), as DynamoDB and
	// CloudFormation spell it.
	BillingMode = "PAY_PER_REQUEST"
	// IndexProjection is IndexPool's projection type.
	IndexProjection = "ALL"
	// AttrTypeString is the DynamoDB type of every key attribute.
	AttrTypeString = "S"
	// StreamViewType is the table's DynamoDB stream: the history writer
	// derives each transition from the item before and after the write.
	StreamViewType = "NEW_AND_OLD_IMAGES"
	// ResourceNamespace is the partition key value of the resource items
	// (core/ranch's "resource/" keys): the history writer's event source
	// mapping passes only their stream records.
	ResourceNamespace = "resource"
)

// KeyAttributes are the table's key attributes (every one a string,
// AttrTypeString), in the order of AttributeDefinitions: the table's
// partition and sort keys, then IndexPool's.
var KeyAttributes = []string{AttrPK, AttrSK, AttrIndexPartition, AttrIndexSortKey}
