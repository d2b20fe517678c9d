package backend

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func localConfig(t *testing.T) dynamostore.ClientConfig {
	return dynamostore.ClientConfig{
		Endpoint:    dynamotest.Endpoint(t),
		Region:      dynamotest.Region,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		MaxAttempts: 2,
	}
}

// TestOpenDynamoDB opens a dynamodb:TABLE spec on DynamoDB Local.
func TestOpenDynamoDB(t *testing.T) {
	_, table := dynamotest.NewTable(t)
	s, err := OpenWith(context.Background(), "dynamodb:"+table, Options{Dynamo: localConfig(t)})
	require.NoError(t, err)
	defer s.Close()
	roundTrip(t, s)
}

func TestOpenDynamoDBMissingTable(t *testing.T) {
	s, err := OpenWith(context.Background(), "dynamodb:no-such-table-here", Options{Dynamo: localConfig(t)})
	require.Error(t, err)
	assert.Nil(t, s)
	assert.Contains(t, err.Error(), `dynamodb table "no-such-table-here" does not exist (create it with: boskos table create --table no-such-table-here)`)
	assert.ErrorIs(t, err, dynamostore.ErrNoTable)
}
