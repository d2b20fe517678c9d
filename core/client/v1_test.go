package client_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/client"
)

func TestReadAPI(t *testing.T) {
	s := newServer(t, testConfig)
	ctx := context.Background()
	c, err := client.New(s.URL, "alice", client.Options{})
	require.NoError(t, err)
	_, err = c.Acquire(ctx, "t", "free", "busy", "")
	require.NoError(t, err)
	_, err = c.Acquire(ctx, "d", "free", "busy", "req-1")
	require.ErrorIs(t, err, client.ErrNotFound)

	r, err := client.NewReader(s.URL, client.Options{})
	require.NoError(t, err)
	assert.Equal(t, "", r.Owner())

	p, err := r.Resources(ctx, boskos.ResourceFilter{Owner: "alice"}, boskos.PageRequest{})
	require.NoError(t, err)
	require.Len(t, p.Items, 1)
	assert.Equal(t, "a", p.Items[0].Name)
	assert.Empty(t, p.Cursor)

	var requests int
	all, truncated, err := client.Collect(ctx, 0, func(ctx context.Context, cursor string) (boskos.Page[boskos.ResourceInfo], error) {
		requests++
		return r.Resources(ctx, boskos.ResourceFilter{}, boskos.PageRequest{Limit: 1, Cursor: cursor})
	})
	require.NoError(t, err)
	assert.False(t, truncated)
	var names []string
	for _, x := range all {
		names = append(names, x.Name)
	}
	assert.Equal(t, []string{"d-1", "a", "b"}, names, "by type, then state (busy before free)")
	assert.Equal(t, 3, requests, "one request per page")

	two, truncated, err := client.Collect(ctx, 2, func(ctx context.Context, cursor string) (boskos.Page[boskos.ResourceInfo], error) {
		return r.Resources(ctx, boskos.ResourceFilter{}, boskos.PageRequest{Limit: 1, Cursor: cursor})
	})
	require.NoError(t, err)
	assert.True(t, truncated)
	assert.Len(t, two, 2)

	q, err := r.Queue(ctx, boskos.QueueFilter{Type: "d"}, boskos.PageRequest{})
	require.NoError(t, err)
	require.Len(t, q.Items, 1)
	assert.Equal(t, boskos.QueueEntry{Type: "d", State: "free", RequestID: "req-1", Rank: 1, Created: q.Items[0].Created, Expires: q.Items[0].Expires}, q.Items[0])

	ty, err := r.Types(ctx, boskos.PageRequest{})
	require.NoError(t, err)
	require.Len(t, ty.Items, 2)
	assert.Equal(t, boskos.TypeSummary{Type: "t", Total: 2, States: map[string]int{"busy": 1, "free": 1}, Owners: map[string]int{"alice": 1}}, ty.Items[1])

	_, err = r.Resources(ctx, boskos.ResourceFilter{}, boskos.PageRequest{Limit: 5000})
	var se *client.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusBadRequest, se.Code)
	assert.Equal(t, "limit", se.Param)
	assert.Equal(t, "status 400 Bad Request: invalid limit: must be between 1 and 1000, got 5000", err.Error())
	_, err = r.Queue(ctx, boskos.QueueFilter{}, boskos.PageRequest{Cursor: "nope"})
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "cursor", se.Param)
}
