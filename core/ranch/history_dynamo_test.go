package ranch

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// queryLog records the Query inputs and the names of every other
// operation a client sends.
type queryLog struct {
	mu      sync.Mutex
	queries []*dynamodb.QueryInput
	others  []string
}

func (l *queryLog) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("historyQueryLog",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				l.mu.Lock()
				if q, ok := in.Parameters.(*dynamodb.QueryInput); ok {
					l.queries = append(l.queries, q)
				} else {
					l.others = append(l.others, middleware.GetOperationName(ctx))
				}
				l.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

func (l *queryLog) take() ([]*dynamodb.QueryInput, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q, o := l.queries, l.others
	l.queries, l.others = nil, nil
	return q, o
}

// TestResourceHistoryPagesPastOneMegabyte: on DynamoDB Local, 1,200
// records of about 2 KB each: a page of 1,000 spans several 1 MB DynamoDB
// pages and still holds exactly 1,000 records, newest first, and the next
// the 200 others; every request is a Query of the table by the history
// namespace (never a Scan, never the index), and another resource whose
// name starts alike is not read.
func TestResourceHistoryPagesPastOneMegabyte(t *testing.T) {
	ctx := context.Background()
	log := &queryLog{}
	client, table := dynamotest.NewTable(t, log.option)
	st := dynamostore.New(client, table, dynamostore.Options{})
	t0 := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	keys := make([]string, maxRecordKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("userdata-key-%03d", i)
	}
	seed := func(name string, n int) {
		var ops []store.Op
		for v := 1; v <= n; v++ {
			rec := boskos.HistoryRecord{Name: name, Type: "big", Version: int64(v), Time: t0.Add(time.Duration(v) * time.Second),
				Event: boskos.EventUpdate, Owner: "o", PrevOwner: "o", Keys: keys, Reason: strings.Repeat("r", maxRecordReason)}
			it, err := historyItem(rec, 7, DefaultHistoryRetention)
			require.NoError(t, err)
			ops = append(ops, store.Op{Create: &it})
			if len(ops) == store.MaxTransactItems || v == n {
				require.NoError(t, st.Transact(ctx, ops))
				ops = nil
			}
		}
	}
	seed("hot", 1200)
	seed("hot2", 10)
	_, _ = log.take()

	r := New(st, Options{Now: func() time.Time { return t0 }})
	p1, err := r.ResourceHistory(ctx, "hot", boskos.MaxPageLimit, "")
	require.NoError(t, err)
	require.Len(t, p1.Items, 1000)
	require.NotEmpty(t, p1.Cursor)
	q1, others := log.take()
	assert.Empty(t, others, "nothing but Query")
	assert.GreaterOrEqual(t, len(q1), 3, "a page of 1,000 records of 2 KB spans several 1 MB DynamoDB pages")
	p2, err := r.ResourceHistory(ctx, "hot", boskos.MaxPageLimit, p1.Cursor)
	require.NoError(t, err)
	require.Len(t, p2.Items, 200)
	assert.Empty(t, p2.Cursor, "the last page")
	q2, others := log.take()
	assert.Empty(t, others)
	for i, rec := range append(p1.Items, p2.Items...) {
		require.Equal(t, "hot", rec.Name)
		require.Equal(t, int64(1200-i), rec.Version, "newest first")
	}
	for _, q := range append(q1, q2...) {
		assert.Nil(t, q.IndexName, "the table, not the index")
		assert.Contains(t, aws.ToString(q.KeyConditionExpression), "begins_with", "one prefix of one partition")
		assert.True(t, aws.ToBool(q.ConsistentRead))
	}
}
