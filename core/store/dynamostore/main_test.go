package dynamostore_test

import (
	"testing"

	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }
