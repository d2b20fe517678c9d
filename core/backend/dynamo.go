package backend

import (
	"context"
	"errors"

	"github.com/boskos-serverless/boskos/core/store"
)

func openDynamo(ctx context.Context, table string, o Options) (store.Store, error) {
	return nil, errors.New("dynamodb store: not available yet")
}
