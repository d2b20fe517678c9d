package memstore_test

import (
	"testing"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := memstore.New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
