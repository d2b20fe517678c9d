package backend

import (
	"errors"

	"github.com/boskos-serverless/boskos/core/store"
)

func openBolt(path string) (store.Store, error) {
	return nil, errors.New("bolt store: not available yet")
}
