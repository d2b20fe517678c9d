package ranch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// TestMain stops the DynamoDB Local that dynamotest may start for this
// package's DynamoDB tests (this file).
func TestMain(m *testing.M) { dynamotest.Main(m) }

// capacityMeter asks DynamoDB for the consumed capacity of every request
// (ReturnConsumedCapacity INDEXES) and adds it up: in total, on the table
// and on the global secondary indexes.
type capacityMeter struct {
	mu                 sync.Mutex
	total, table, gsis float64
}

func (m *capacityMeter) Option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("ranchTestCapacity",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				ix := types.ReturnConsumedCapacityIndexes
				switch p := in.Parameters.(type) {
				case *dynamodb.GetItemInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.BatchGetItemInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.PutItemInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.UpdateItemInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.DeleteItemInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.TransactWriteItemsInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.QueryInput:
					p.ReturnConsumedCapacity = ix
				}
				out, md, err := next.HandleInitialize(ctx, in)
				var cc []types.ConsumedCapacity
				switch r := out.Result.(type) {
				case *dynamodb.GetItemOutput:
					cc = one(r.ConsumedCapacity)
				case *dynamodb.BatchGetItemOutput:
					cc = r.ConsumedCapacity
				case *dynamodb.PutItemOutput:
					cc = one(r.ConsumedCapacity)
				case *dynamodb.UpdateItemOutput:
					cc = one(r.ConsumedCapacity)
				case *dynamodb.DeleteItemOutput:
					cc = one(r.ConsumedCapacity)
				case *dynamodb.TransactWriteItemsOutput:
					cc = r.ConsumedCapacity
				case *dynamodb.QueryOutput:
					cc = one(r.ConsumedCapacity)
				}
				m.add(cc)
				return out, md, err
			}), middleware.After)
	})
}

func one(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

func (m *capacityMeter) add(cc []types.ConsumedCapacity) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cc {
		if c.CapacityUnits != nil {
			m.total += *c.CapacityUnits
		}
		if c.Table != nil && c.Table.CapacityUnits != nil {
			m.table += *c.Table.CapacityUnits
		}
		for _, g := range c.GlobalSecondaryIndexes {
			if g.CapacityUnits != nil {
				m.gsis += *g.CapacityUnits
			}
		}
	}
}

func (m *capacityMeter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.total, m.table, m.gsis = 0, 0, 0
}

// String reports the units, e.g. "3 capacity units (table 1, index 2)".
// Reads and writes are told apart by the operations (Query, GetItem and
// BatchGetItem read; the others write).
func (m *capacityMeter) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("%g capacity units (table %g, index %g)", m.total, m.table, m.gsis)
}

// TestRequestCostDynamo pins how many DynamoDB requests each use case sends
// when nothing competes (DynamoDB Local, real SDK client, requests counted
// in the client's middleware, retries included): an acquire is one index
// Query and one TransactWriteItems (the conditional lease and the check of
// the queue item that nobody waits) whatever the pool size, a release and
// an update one UpdateItem each (once the dynamic life cycles and the
// quotas are cached); under a quota an acquire is one Query and one
// TransactWriteItems, a release one GetItem and one TransactWriteItems.
// While somebody waits, a refused request_id is one Query, one GetItem and
// one TransactWriteItems (its entry and the queue item), plus, once per
// type per HoldCacheTTL, the Query of the type's history for the estimated
// wait (and a GetItem of its counter when there are lease ends), a refusal of an
// anonymous caller one Query, and a lease one more Query (the consistent
// read of the queue). It logs the consumed
// capacity of each for the README.
func TestRequestCostDynamo(t *testing.T) {
	for _, size := range []int{10, 500} {
		t.Run(fmt.Sprintf("pool of %d", size), func(t *testing.T) {
			ctx := context.Background()
			var n dynamotest.Counter
			var cu capacityMeter
			client, table := dynamotest.NewTable(t, n.Option, cu.Option)
			c := &clock{now: t0}
			r := New(dynamostore.New(client, table, dynamostore.Options{}), Options{Now: c.Now, Logger: slog.New(slog.DiscardHandler)})

			names := make([]string, size)
			for i := range names {
				names[i] = fmt.Sprintf("r-%04d", i)
			}
			two := 2
			cfg := &boskos.Config{Resources: []boskos.ResourceEntry{
				{Type: "t", State: boskos.Free, Names: names},
				{Type: "d", State: boskos.Free, MinCount: 1, MaxCount: 2},
			}, Quotas: []boskos.QuotaEntry{{Owner: "team-*", Type: "t", Max: &two}}}
			require.NoError(t, r.SyncConfig(ctx, cfg))

			// Warm up: one full cycle fills the DRLC cache.
			c.Add(time.Second)
			warm, err := r.Acquire(ctx, "t", boskos.Free, boskos.Busy, "warm", "")
			require.NoError(t, err)
			require.NoError(t, r.Release(ctx, warm.Name, boskos.Free, "warm", nil))
			c.Add(time.Second)

			measure := func(name string, max int, maxPerOp map[string]int, fn func() error) {
				t.Helper()
				n.Reset()
				cu.reset()
				require.NoError(t, fn(), name)
				got := n.Counts()
				t.Logf("%-24s %d requests %v; %s", name, n.Total(), got, cu.String())
				assert.LessOrEqual(t, n.Total(), max, "%s: got %d requests %v, want at most %d", name, n.Total(), got, max)
				for op, m := range maxPerOp {
					assert.LessOrEqual(t, got[op], m, "%s: %s requests", name, op)
				}
			}

			var res boskos.Resource
			measure("acquire", 2, map[string]int{"Query": 1, "TransactWriteItems": 1}, func() error {
				var err error
				res, err = r.Acquire(ctx, "t", boskos.Free, boskos.Busy, "alice", "")
				return err
			})
			c.Add(time.Second)
			measure("update (heartbeat)", 1, map[string]int{"UpdateItem": 1}, func() error {
				return r.Update(ctx, res.Name, "alice", boskos.Busy, nil, nil)
			})
			measure("update with userdata", 1, map[string]int{"UpdateItem": 1}, func() error {
				return r.Update(ctx, res.Name, "alice", boskos.Busy, boskos.UserData{"k": "v"}, &res.Epoch)
			})
			measure("release", 1, map[string]int{"UpdateItem": 1}, func() error {
				return r.Release(ctx, res.Name, boskos.Dirty, "alice", nil)
			})

			// Under a quota: the lease and the counter's conditional
			// increment in one transaction; the release reads the resource
			// (to learn its counters) and frees it and decrements them in
			// one transaction.
			measure("acquire under a quota", 2, map[string]int{"Query": 1, "TransactWriteItems": 1}, func() error {
				var err error
				res, err = r.Acquire(ctx, "t", boskos.Free, boskos.Busy, "team-a", "")
				return err
			})
			measure("release under a quota", 2, map[string]int{"GetItem": 1, "TransactWriteItems": 1}, func() error {
				return r.Release(ctx, res.Name, boskos.Dirty, "team-a", nil)
			})
			for range 2 {
				_, err := r.Acquire(ctx, "t", boskos.Free, boskos.Busy, "team-b", "")
				require.NoError(t, err)
			}
			measure("acquire over the quota", 2, map[string]int{"Query": 1, "TransactWriteItems": 1}, func() error {
				_, err := r.Acquire(ctx, "t", boskos.Free, boskos.Busy, "team-a", "")
				if boskos.ErrorCode(err) != boskos.EOverQuota {
					return fmt.Errorf("got %v, want over quota", err)
				}
				return nil
			})

			// While somebody waits: a request_id refused (nothing free of
			// state "waiting"), then granted, then an anonymous caller
			// behind another waiting request_id.
			wait := names[0]
			_, err = r.AcquireByState(ctx, boskos.Free, "waiting", "w", []string{wait})
			require.NoError(t, err)
			_, err = r.Acquire(ctx, "t", "waiting", boskos.Busy, "w", "")
			require.Error(t, err)
			refuse := func() error {
				_, err := r.Acquire(ctx, "t", "waiting", boskos.Busy, "bob", "wait-1")
				if boskos.ErrorCode(err) != boskos.ENotFound {
					return fmt.Errorf("got %v, want 404", err)
				}
				return nil
			}
			// The first refusal of the type in HoldCacheTTL also reads the
			// type's hold times for the estimated wait: one Query of its
			// history partition (empty here: no history feed, so no read
			// of the type's counter follows).
			measure("refused, hold figure read", 4, map[string]int{"Query": 2, "GetItem": 1, "TransactWriteItems": 1}, refuse)
			c.Add(time.Second)
			measure("refused request_id", 3, map[string]int{"Query": 1, "GetItem": 1, "TransactWriteItems": 1}, refuse)
			c.Add(time.Second)
			_, err = r.Acquire(ctx, "t", "waiting", boskos.Busy, "bob", "wait-2")
			require.Error(t, err)
			require.NoError(t, r.Release(ctx, wait, "waiting", "w", nil))
			measure("queued request_id granted", 3, map[string]int{"Query": 2, "TransactWriteItems": 1}, func() error {
				_, err := r.Acquire(ctx, "t", "waiting", boskos.Busy, "bob", "wait-1")
				return err
			})
			// A resource free in "waiting" is wait-2's: an anonymous caller
			// is refused on the index read alone.
			_, err = r.AcquireByState(ctx, boskos.Free, "x", "w", []string{names[size-3]})
			require.NoError(t, err)
			require.NoError(t, r.Release(ctx, names[size-3], "waiting", "w", nil))
			c.Add(time.Second)
			measure("refused behind a waiter", 1, map[string]int{"Query": 1}, func() error {
				_, err := r.Acquire(ctx, "t", "waiting", boskos.Busy, "carl", "")
				if boskos.ErrorCode(err) != boskos.ENotFound {
					return fmt.Errorf("got %v, want 404", err)
				}
				return nil
			})

			// Not pinned, reported: the other use cases.
			report := func(name string, fn func() error) {
				t.Helper()
				n.Reset()
				cu.reset()
				err := fn()
				t.Logf("%-24s %d requests %v; %s (err: %v)", name, n.Total(), n.Counts(), cu.String(), err)
			}
			report("acquire with request_id", func() error {
				_, err := r.Acquire(ctx, "t", boskos.Free, boskos.Busy, "bob", "req-1")
				return err
			})
			report("acquire, none free", func() error {
				_, err := r.Acquire(ctx, "t", "nosuchstate", boskos.Busy, "bob", "")
				return err
			})
			report("acquirebystate of 2", func() error {
				_, err := r.AcquireByState(ctx, boskos.Free, "leased", "carol", names[size-2:])
				return err
			})
			report("metric", func() error {
				_, err := r.Metric(ctx, "t")
				return err
			})
			report("reset", func() error {
				_, err := r.Reset(ctx, "t", boskos.Busy, 0, boskos.Dirty)
				return err
			})
		})
	}
}
