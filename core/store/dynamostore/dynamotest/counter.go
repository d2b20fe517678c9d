package dynamotest

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Counter counts the HTTP requests a DynamoDB client sends, per operation
// ("GetItem", "TransactWriteItems", ...). Retries count: each attempt is one
// request. The zero value is ready; it is safe for concurrent use.
//
//	var n dynamotest.Counter
//	client, table := dynamotest.NewTable(t, n.Option)
//	n.Reset()
//	... // the use case
//	require.LessOrEqual(t, n.Total(), 2)
type Counter struct {
	mu sync.Mutex
	n  map[string]int
}

// Option installs the counter on a client: pass it to dynamodb.New,
// dynamodb.NewFromConfig, NewTable or Client.
func (c *Counter) Option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, c.addMiddleware)
}

// addMiddleware counts in the deserialize step, which runs once per attempt
// (the retry loop sits in the finalize step above it).
func (c *Counter) addMiddleware(st *middleware.Stack) error {
	return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("dynamotestCountRequests",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			c.add(middleware.GetOperationName(ctx))
			return next.HandleDeserialize(ctx, in)
		}), middleware.After)
}

func (c *Counter) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[op]++
}

// Count returns the requests of operation op since the last Reset.
func (c *Counter) Count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// Total returns all requests since the last Reset.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := 0
	for _, n := range c.n {
		t += n
	}
	return t
}

// Counts returns a copy of the counts per operation.
func (c *Counter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// Reset sets every count to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = nil
}
