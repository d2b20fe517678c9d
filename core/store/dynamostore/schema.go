package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/boskos-serverless/boskos/core/deploy"
)

// Names of the table's attributes and index. They are defined once, in
// core/deploy (which imports no SDK), and shared with the infrastructure
// code (CDK, SAM); see there for their meaning.
const (
	// AttrPK is the partition key (S): the key's namespace.
	AttrPK = deploy.AttrPK
	// AttrSK is the sort key (S): the key after the namespace and its "/".
	AttrSK = deploy.AttrSK
	// AttrVersion is the item's version (N).
	AttrVersion = deploy.AttrVersion
	// IndexPool is the name of the global secondary index that Query reads.
	IndexPool = deploy.IndexPool
	// AttrIndexPartition is IndexPool's partition key (S).
	AttrIndexPartition = deploy.AttrIndexPartition
	// AttrIndexSort is the item attribute (S) that orders items in
	// IndexPool (see deploy.AttrIndexSort).
	AttrIndexSort = deploy.AttrIndexSort
	// AttrIndexSortKey is IndexPool's sort key (S): the value of
	// AttrIndexSort, a NUL byte and the item's key. Callers never see it.
	AttrIndexSortKey = deploy.AttrIndexSortKey
	// AttrTTL is the Time to Live attribute (N, Unix seconds).
	AttrTTL = deploy.AttrTTL
	// BillingMode is the table's billing mode.
	BillingMode = types.BillingMode(deploy.BillingMode)
	// StreamViewType is the table's stream (deploy.StreamViewType).
	StreamViewType = types.StreamViewType(deploy.StreamViewType)
)

// TableAPI is the part of *dynamodb.Client that CreateTable and DeleteTable
// use.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DeleteTable(ctx context.Context, in *dynamodb.DeleteTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	UpdateTable(ctx context.Context, in *dynamodb.UpdateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error)
}

var _ TableAPI = (*dynamodb.Client)(nil)

// CreateTableInput returns the CreateTable request for the table named name:
// the schema described in the package comment.
func CreateTableInput(name string) *dynamodb.CreateTableInput {
	s := types.ScalarAttributeType(deploy.AttrTypeString)
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: BillingMode,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrPK), AttributeType: s},
			{AttributeName: aws.String(AttrSK), AttributeType: s},
			{AttributeName: aws.String(AttrIndexPartition), AttributeType: s},
			{AttributeName: aws.String(AttrIndexSortKey), AttributeType: s},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexPool),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrIndexPartition), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrIndexSortKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionType(deploy.IndexProjection)},
		}},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: StreamViewType},
	}
}

// pollDelays bounds the wait between DescribeTable calls.
const (
	pollMin = 50 * time.Millisecond
	pollMax = 2 * time.Second
)

// CreateTable creates the table named name (keys, the IndexPool index,
// PAY_PER_REQUEST, a NEW_AND_OLD_IMAGES stream), waits until the table and
// its index are ACTIVE, and enables Time to Live on AttrTTL. A table that
// already exists is fine if its key schema and index match (its stream is
// enabled when it has none; one of another view type is an error);
// otherwise CreateTable fails. Cancel ctx to bound the wait.
func CreateTable(ctx context.Context, api TableAPI, name string) error {
	_, err := api.CreateTable(ctx, CreateTableInput(name))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamostore: create table %s: %w", name, translate(err))
	}
	desc, err := waitActive(ctx, api, name)
	if err != nil {
		return err
	}
	if err := checkSchema(desc); err != nil {
		return fmt.Errorf("dynamostore: create table %s: existing table: %w", name, err)
	}
	if err := ensureStream(ctx, api, name, desc); err != nil {
		return err
	}
	ttl, err := api.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("dynamostore: create table %s: describe time to live: %w", name, translate(err))
	}
	if d := ttl.TimeToLiveDescription; d != nil &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		if aws.ToString(d.AttributeName) != AttrTTL {
			return fmt.Errorf("dynamostore: create table %s: time to live is on %q, want %q", name, aws.ToString(d.AttributeName), AttrTTL)
		}
		return nil
	}
	_, err = api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("dynamostore: create table %s: enable time to live: %w", name, translate(err))
	}
	return nil
}

// ensureStream enables the table's NEW_AND_OLD_IMAGES stream when it has
// none (a table created before history existed).
func ensureStream(ctx context.Context, api TableAPI, name string, t *types.TableDescription) error {
	if spec := t.StreamSpecification; spec != nil && aws.ToBool(spec.StreamEnabled) {
		if spec.StreamViewType != StreamViewType {
			return fmt.Errorf("dynamostore: create table %s: its stream is %s, want %s", name, spec.StreamViewType, StreamViewType)
		}
		return nil
	}
	_, err := api.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:           aws.String(name),
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: StreamViewType},
	})
	if err != nil {
		return fmt.Errorf("dynamostore: create table %s: enable stream: %w", name, translate(err))
	}
	_, err = waitActive(ctx, api, name)
	return err
}

// waitActive polls DescribeTable until the table and all its global
// secondary indexes are ACTIVE.
func waitActive(ctx context.Context, api TableAPI, name string) (*types.TableDescription, error) {
	delay := pollMin
	for {
		out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("dynamostore: describe table %s: %w", name, translate(err))
		}
		if t := out.Table; t != nil && t.TableStatus == types.TableStatusActive && indexesActive(t) {
			return t, nil
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("dynamostore: wait for table %s: %w", name, err)
		}
		delay = min(2*delay, pollMax)
	}
}

func indexesActive(t *types.TableDescription) bool {
	for _, g := range t.GlobalSecondaryIndexes {
		if g.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

// checkSchema verifies that an existing table has this package's keys and
// index.
func checkSchema(t *types.TableDescription) error {
	keys := func(ks []types.KeySchemaElement) string {
		var hash, rng string
		for _, k := range ks {
			switch k.KeyType {
			case types.KeyTypeHash:
				hash = aws.ToString(k.AttributeName)
			case types.KeyTypeRange:
				rng = aws.ToString(k.AttributeName)
			}
		}
		return hash + "," + rng
	}
	if got, want := keys(t.KeySchema), AttrPK+","+AttrSK; got != want {
		return fmt.Errorf("key schema is %s, want %s", got, want)
	}
	for _, g := range t.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) != IndexPool {
			continue
		}
		if got, want := keys(g.KeySchema), AttrIndexPartition+","+AttrIndexSortKey; got != want {
			return fmt.Errorf("index %s key schema is %s, want %s", IndexPool, got, want)
		}
		if g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll {
			return fmt.Errorf("index %s does not project ALL attributes", IndexPool)
		}
		return nil
	}
	return fmt.Errorf("index %s is missing", IndexPool)
}

// DeleteTable deletes the table named name and waits until it is gone. A
// missing table is fine.
func DeleteTable(ctx context.Context, api TableAPI, name string) error {
	_, err := api.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	if err = translate(err); errors.Is(err, ErrNoTable) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dynamostore: delete table %s: %w", name, err)
	}
	delay := pollMin
	for {
		_, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err = translate(err); errors.Is(err, ErrNoTable) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("dynamostore: delete table %s: %w", name, err)
		}
		if err := sleep(ctx, delay); err != nil {
			return fmt.Errorf("dynamostore: wait for deletion of table %s: %w", name, err)
		}
		delay = min(2*delay, pollMax)
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
