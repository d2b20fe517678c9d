package backend

import (
	"context"
	"errors"
	"fmt"

	"github.com/boskos-serverless/boskos/core/awsload"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// probeKey is read once when a DynamoDB store is opened, to fail early and
// clearly when the table is missing or unreachable.
const probeKey = "backend/probe"

// openDynamo returns a store on an existing DynamoDB table.
func openDynamo(ctx context.Context, table string, o Options) (store.Store, error) {
	client, err := awsload.DynamoDB(ctx, o.Dynamo)
	if err != nil {
		return nil, err
	}
	s := dynamostore.New(client, table, o.DynamoStore)
	_, err = s.Get(ctx, probeKey)
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return s, nil
	}
	if errors.Is(err, dynamostore.ErrNoTable) {
		return nil, fmt.Errorf("dynamodb table %q does not exist (create it with: boskos table create --table %s): %w", table, table, err)
	}
	return nil, fmt.Errorf("dynamodb table %q: %w", table, err)
}
