package memstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

func TestQueryOrderAndPaging(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	for _, k := range []string{"c", "a", "b", "d"} {
		_, err := s.Create(ctx, store.Item{Key: "r/" + k, Str: map[string]string{
			store.IndexPartition: "p", store.IndexSort: "s\x1f" + k}})
		require.NoError(t, err)
	}
	var got []string
	q := store.Query{Partition: "p", From: "s\x1fa", To: "s\x1fc", Limit: 1}
	for {
		page, err := s.Query(ctx, q)
		require.NoError(t, err)
		for _, it := range page.Items {
			got = append(got, it.Key)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	require.Equal(t, []string{"r/a", "r/b", "r/c"}, got)
}
