package dynamostore_test

import (
	"testing"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/storetest"
)

// TestConformance runs the store contract's suite on DynamoDB Local, one
// fresh table per subtest.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := dynamotest.NewStore(t, dynamostore.Options{})
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
