package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/httpapi"
)

// TestAcquireQueueHeaders: a refused /acquire with a request_id says where
// the id waits (position, length and, once the queue has served two
// waiting request_ids, the estimated wait: position times their average
// interval); the body is upstream's; an anonymous refusal and a grant carry
// no queue headers.
func TestAcquireQueueHeaders(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=x", "")
	w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=x", "")
	const body = "Acquire failed: no available resource t, try again later.\n"
	acquire := func(id string) response {
		t.Helper()
		target := "/acquire?type=t&state=free&dest=busy&owner=o-" + id
		if id != "" {
			target += "&request_id=" + id
		}
		return w.do("POST", target, "")
	}
	tests := []struct {
		name     string
		id       string
		advance  time.Duration
		release  string // released before the poll
		status   int
		position string // "" = no queue headers
		length   string
		wait     string
	}{
		{name: "first in line", id: "A", status: 404, position: "1", length: "1"},
		{name: "second", id: "B", advance: time.Second, status: 404, position: "2", length: "2"},
		{name: "the first keeps its place", id: "A", advance: time.Second, status: 404, position: "1", length: "2"},
		{name: "anonymous: no place", id: "", advance: time.Second, status: 404},
		{name: "third", id: "C", advance: time.Second, status: 404, position: "3", length: "3"},
		// A waited 14s, then B 10s after A's grant: an average of 13s.
		{name: "A served", id: "A", advance: 10 * time.Second, release: "res-a", status: 200},
		{name: "B served", id: "B", advance: 10 * time.Second, release: "res-b", status: 200},
		{name: "C next, with an estimate", id: "C", advance: time.Second, status: 404, position: "1", length: "1", wait: "13"},
	}
	for _, tc := range tests {
		w.clock.advance(tc.advance)
		if tc.release != "" {
			w.mustDo("POST", "/release?name="+tc.release+"&dest=free&owner=x", "")
		}
		r := acquire(tc.id)
		require.Equal(t, tc.status, r.status, "%s: %s", tc.name, r.body)
		if tc.status == http.StatusNotFound {
			assert.Equal(t, body, r.body, "%s: upstream's body", tc.name)
		}
		assert.Equal(t, tc.position, r.header.Get(httpapi.HeaderQueuePosition), "%s: position", tc.name)
		assert.Equal(t, tc.length, r.header.Get(httpapi.HeaderQueueLength), "%s: length", tc.name)
		assert.Equal(t, tc.wait, r.header.Get(httpapi.HeaderEstimatedWait), "%s: estimated wait", tc.name)
	}
}

// TestAcquireQueueHeadersFromHistory: with lease history, the estimated
// wait comes from the type's hold times: res-a held 10s and res-b 20s, a
// mean of 15s over two resources, 7.5s per place in line, rounded up.
func TestAcquireQueueHeadersFromHistory(t *testing.T) {
	w := newWorld(t, worldOpts{history: true})
	lease := func() {
		t.Helper()
		w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=x", "")
		w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=x", "")
	}
	lease()
	w.clock.advance(10 * time.Second)
	w.mustDo("POST", "/release?name=res-a&dest=free&owner=x", "")
	w.clock.advance(10 * time.Second)
	w.mustDo("POST", "/release?name=res-b&dest=free&owner=x", "")
	lease()
	for _, tc := range []struct{ id, position, wait string }{{"C", "1", "8"}, {"D", "2", "15"}} {
		r := w.do("POST", "/acquire?type=t&state=free&dest=busy&owner=o&request_id="+tc.id, "")
		require.Equal(t, http.StatusNotFound, r.status, "%s: %s", tc.id, r.body)
		assert.Equal(t, tc.position, r.header.Get(httpapi.HeaderQueuePosition), "%s: position", tc.id)
		assert.Equal(t, tc.wait, r.header.Get(httpapi.HeaderEstimatedWait), "%s: estimated wait", tc.id)
	}
}
