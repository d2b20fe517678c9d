// Package dynamotest gives tests a real DynamoDB: DynamoDB Local, started
// once per test binary with scripts/dynamodb-local.sh unless
// DYNAMODB_ENDPOINT names a running one, and a fresh table per test.
//
//	func TestMain(m *testing.M) { dynamotest.Main(m) }
//
//	func TestX(t *testing.T) {
//		client, table := dynamotest.NewTable(t)
//		s := dynamostore.New(client, table, dynamostore.Options{})
//		...
//	}
//
// Tests are never skipped: when DynamoDB Local cannot start, they fail with
// the reason. Counter counts the HTTP requests a client sends, per operation,
// so tests can pin the cost of a use case ("acquire costs at most two
// requests").
package dynamotest
