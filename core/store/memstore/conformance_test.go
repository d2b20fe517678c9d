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

func TestWriteHook(t *testing.T) {
	storetest.RunWriteHook(t, func(t *testing.T, hook store.WriteHook) store.Store {
		return memstore.NewWithOptions(memstore.Options{OnWrite: hook})
	})
}

// TestConformanceHooked runs the suite with a hook that records nothing,
// so that the hooked write paths keep the contract.
func TestConformanceHooked(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return memstore.NewWithOptions(memstore.Options{OnWrite: func(_, _ *store.Item) []store.Item { return nil }})
	})
}
