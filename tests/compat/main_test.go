package compat

import (
	"os"
	"testing"

	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/testkit/moto"
)

// TestMain stops the emulators this test binary started (moto_server for
// the credentials secret; DynamoDB Local when DYNAMODB_ENDPOINT was unset).
func TestMain(m *testing.M) {
	code := m.Run()
	moto.Stop()
	dynamotest.Stop()
	os.Exit(code)
}
