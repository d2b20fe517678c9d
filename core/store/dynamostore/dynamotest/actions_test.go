package dynamotest_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"

	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// TestIAMActions: an operation needs its own action; a transaction the
// actions of its items.
func TestIAMActions(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		params any
		want   []string
	}{
		{"get", "GetItem", &dynamodb.GetItemInput{}, []string{"dynamodb:GetItem"}},
		{"query", "Query", &dynamodb.QueryInput{}, []string{"dynamodb:Query"}},
		{"transaction", "TransactWriteItems", &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{}}, {Update: &types.Update{}}, {Delete: &types.Delete{}}, {ConditionCheck: &types.ConditionCheck{}},
		}}, []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, dynamotest.IAMActions(tc.op, tc.params))
		})
	}
}
