package compat

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/client"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// TestCompatLambdaReadAPI: the real read function's bootstrap, behind the
// API Gateway-like front with every other function, on DynamoDB Local,
// serves the read API to core/client (leases made through the real acquire
// function are listed, a waiting request_id has its rank) and the
// dashboard's page and files under /ui/ (the greedy route).
func TestCompatLambdaReadAPI(t *testing.T) {
	bins := buildLambdas(t)
	endpoint := dynamotest.Endpoint(t)
	dc, table := dynamotest.NewTable(t)
	seedTable(t, dc, table, "resources:\n- type: thing\n  state: free\n  names: [thing-1, thing-2]\n")
	url := startAPI(t, bins, table, endpoint, nil)
	ctx := context.Background()

	c, err := client.New(url, "alice", client.Options{})
	require.NoError(t, err)
	for range 2 {
		_, err := c.Acquire(ctx, "thing", "free", "busy", "")
		require.NoError(t, err)
	}
	_, err = c.Acquire(ctx, "thing", "free", "busy", "waiting-1")
	require.ErrorIs(t, err, client.ErrNotFound)

	r, err := client.NewReader(url, client.Options{})
	require.NoError(t, err)
	all, _, err := client.Collect(ctx, 0, func(ctx context.Context, cursor string) (boskos.Page[boskos.ResourceInfo], error) {
		return r.Resources(ctx, boskos.ResourceFilter{Type: "thing", Owner: "alice"}, boskos.PageRequest{Limit: 1, Cursor: cursor})
	})
	require.NoError(t, err)
	require.Len(t, all, 2)
	for _, x := range all {
		assert.Equal(t, "busy", x.State)
		assert.NotNil(t, x.HeldSeconds)
	}
	q, err := r.Queue(ctx, boskos.QueueFilter{Type: "thing"}, boskos.PageRequest{})
	require.NoError(t, err)
	require.Len(t, q.Items, 1)
	assert.Equal(t, "waiting-1", q.Items[0].RequestID)
	assert.Equal(t, 1, q.Items[0].Rank)
	ty, err := r.Types(ctx, boskos.PageRequest{})
	require.NoError(t, err)
	require.Len(t, ty.Items, 1)
	assert.Equal(t, map[string]int{"busy": 2}, ty.Items[0].States)
	_, err = r.Resources(ctx, boskos.ResourceFilter{}, boskos.PageRequest{Limit: 2000})
	var se *client.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "limit", se.Param)

	for path, want := range map[string]string{"/ui/": "<title>Boskos dashboard</title>", "/ui": "<title>Boskos dashboard</title>", "/ui/app.js": "'use strict';", "/ui/style.css": ":root"} {
		resp, err := http.Get(url + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.True(t, strings.Contains(string(b), want), "%s: %.200s", path, b)
	}
	// The history function takes its routes, the one with a path variable
	// too (nothing writes history here: no stream, so the lists are empty);
	// unknown paths of the read API are JSON 404s from the catch-all
	// function, which serves the same handler.
	for path, want := range map[string]int{
		"/v1/history":                   http.StatusOK,
		"/v1/resources/thing-1/history": http.StatusOK,
		"/v1/usage":                     http.StatusOK,
		"/v1/nothing-here":              http.StatusNotFound,
	} {
		resp, err := http.Get(url + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "%s: %.200s", path, b)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), path)
	}
}
