package backend

import (
	"context"
	"fmt"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// Options tune Open. The zero value uses every default.
type Options struct {
	// Dynamo says how to reach DynamoDB (endpoint, region, credentials).
	// Its zero value uses the AWS SDK's standard sources, which honour
	// AWS_ENDPOINT_URL_DYNAMODB and AWS_REGION.
	Dynamo dynamostore.ClientConfig
	// DynamoStore tunes the DynamoDB store.
	DynamoStore dynamostore.Options
	// Bolt tunes the bbolt store (lock timeout, batching).
	Bolt boltstore.Options
	// OnWrite is the write hook of the embedded stores (memory, bolt):
	// the history feed (ranch.HistoryHook). DynamoDB has none: its stream
	// is its change feed (StreamReader).
	OnWrite store.WriteHook
}

// Open opens the store described by spec (see Parse) with default Options.
func Open(ctx context.Context, spec string) (store.Store, error) {
	return OpenWith(ctx, spec, Options{})
}

// OpenWith opens the store described by spec. The caller closes it.
func OpenWith(ctx context.Context, spec string, o Options) (store.Store, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	switch s.Kind {
	case Memory:
		return memstore.NewWithOptions(memstore.Options{OnWrite: o.OnWrite}), nil
	case Bolt:
		bo := o.Bolt
		if o.OnWrite != nil {
			bo.OnWrite = o.OnWrite
		}
		return openBolt(s.Path, bo)
	case DynamoDB:
		return openDynamo(ctx, s.Table, o)
	}
	return nil, fmt.Errorf("unknown store kind %q", s.Kind)
}
