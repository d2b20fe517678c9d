package ranch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// TestUpdateUserDataDynamo: user data that DynamoDB would refuse (an update
// expression over 4 KB, an item over 400 KB, a key over 64 KiB) is a 4xx or
// is applied, never a 500.
func TestUpdateUserDataDynamo(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: t0}
	r := New(dynamotest.NewStore(t, dynamostore.Options{}), Options{Now: c.Now, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, r.SyncConfig(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "t", Names: []string{"a"}}}}))
	_, err := r.Acquire(ctx, "t", boskos.Free, boskos.Busy, "o", "")
	require.NoError(t, err)
	get := func() boskos.UserData {
		all, err := r.Resources(ctx)
		require.NoError(t, err)
		require.Len(t, all, 1)
		return all[0].UserData
	}

	many := manyKeys(2000, "v")
	require.NoError(t, r.Update(ctx, "a", "o", boskos.Busy, many, nil), "2000 keys in one update")
	assert.Equal(t, many, get())
	del := boskos.UserData{}
	for k := range many {
		del[k] = ""
	}
	del["kept"] = "1"
	require.NoError(t, r.Update(ctx, "a", "o", boskos.Busy, del, nil), "2000 deletions in one update")
	assert.Equal(t, boskos.UserData{"kept": "1"}, get())

	third := strings.Repeat("x", 100<<10)
	for i := 0; i < 2; i++ {
		require.NoError(t, r.Update(ctx, "a", "o", boskos.Busy, boskos.UserData{fmt.Sprint("p", i): third}, nil))
	}
	// Two more 100 KiB values would pass our limit and DynamoDB's; the
	// first one DynamoDB refuses is explained.
	var last error
	for i := 2; i < 4 && last == nil; i++ {
		last = r.Update(ctx, "a", "o", boskos.Busy, boskos.UserData{fmt.Sprint("p", i): third}, nil)
	}
	require.Error(t, last)
	assert.Equal(t, boskos.ETooLarge, boskos.ErrorCode(last), "got %v", last)
	assert.Equal(t, boskos.ETooLarge, boskos.ErrorCode(r.Update(ctx, "a", "o", boskos.Busy, boskos.UserData{"big": strings.Repeat("x", 300<<10)}, nil)))
	assert.Equal(t, boskos.EInvalid, boskos.ErrorCode(r.Update(ctx, "a", "o", boskos.Busy, boskos.UserData{strings.Repeat("k", 70000): "v"}, nil)))

	// The resource still works.
	require.NoError(t, r.Update(ctx, "a", "o", boskos.Busy, boskos.UserData{"p0": "", "p1": "", "p2": "", "p3": ""}, nil))
	assert.Equal(t, boskos.UserData{"kept": "1"}, get())
	require.NoError(t, r.Release(ctx, "a", boskos.Free, "o", nil))
}
