package backend

import (
	"context"
	"fmt"

	"github.com/boskos-serverless/boskos/core/awsload"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/streams"
)

// StreamReader returns the reader of the change stream of the store spec
// describes, handing its changes to h and keeping its checkpoints in
// checkpoints (usually the store itself), or nil when the store has no
// stream: the embedded stores' change feed is their write hook
// (Options.OnWrite). It makes no request.
func StreamReader(ctx context.Context, spec string, o Options, checkpoints store.Store, h streams.Handler, so streams.Options) (*streams.Reader, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	if s.Kind != DynamoDB {
		return nil, nil
	}
	ddb, err := awsload.DynamoDB(ctx, o.Dynamo)
	if err != nil {
		return nil, err
	}
	sc, err := awsload.DynamoDBStreams(ctx, o.Dynamo)
	if err != nil {
		return nil, fmt.Errorf("dynamodb streams: %w", err)
	}
	so.Checkpoints = checkpoints
	return streams.New(sc, ddb, s.Table, h, so), nil
}
