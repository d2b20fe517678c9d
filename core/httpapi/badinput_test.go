package httpapi_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadInput sends requests that must be rejected and checks the exact
// status and body, and that the store did not change.
func TestBadInput(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=o", "") // res-a: busy, o, epoch 1

	long := strings.Repeat("a", 254)
	just := strings.Repeat("a", 253)
	big := `{"k":"` + strings.Repeat("x", 1<<20) + `"}`
	bigUserData := `{"k":"` + strings.Repeat("x", 300<<10) + `"}`
	longKey := `{"` + strings.Repeat("k", 1025) + `":"v"}`
	cases := []struct {
		name, method, target, body string
		status                     int
		want                       string
	}{
		{"acquire missing type", "POST", "/acquire?state=free&dest=busy&owner=o", "", 400,
			"Bad request: Type: , state: free, dest: busy, owner: o, all of them must be set in the request.\n"},
		{"acquire all empty", "POST", "/acquire?type=&state=&dest=&owner=", "", 400,
			"Bad request: Type: , state: , dest: , owner: , all of them must be set in the request.\n"},
		{"acquire wrong method", "DELETE", "/acquire?type=t&state=free&dest=busy&owner=o", "", 405,
			"Method DELETE, /acquire only accepts POST.\n"},
		{"acquire control char in owner", "POST", "/acquire?type=t&state=free&dest=busy&owner=a%01b", "", 400,
			"invalid owner: must not contain control characters\n"},
		{"acquire tab in type", "POST", "/acquire?type=t%09&state=free&dest=busy&owner=o", "", 400,
			"invalid type: must not contain control characters\n"},
		{"acquire newline in dest", "POST", "/acquire?type=t&state=free&dest=busy%0Aevil&owner=o", "", 400,
			"invalid dest: must not contain control characters\n"},
		{"acquire DEL in state", "POST", "/acquire?type=t&state=free%7F&dest=busy&owner=o", "", 400,
			"invalid state: must not contain control characters\n"},
		{"acquire invalid UTF-8 owner", "POST", "/acquire?type=t&state=free&dest=busy&owner=%FF", "", 400,
			"invalid owner: must be valid UTF-8\n"},
		{"acquire 254-byte type", "POST", "/acquire?type=" + long + "&state=free&dest=busy&owner=o", "", 400,
			"invalid type: must be no more than 253 bytes (got 254)\n"},
		{"acquire 253-byte type passes validation", "POST", "/acquire?type=" + just + "&state=free&dest=busy&owner=o", "", 404,
			"Acquire failed: resource type \"" + just + "\" does not exist\n"},
		{"acquire 254-byte request_id", "POST", "/acquire?type=t&state=free&dest=busy&owner=o&request_id=" + long, "", 400,
			"invalid request_id: must be no more than 253 bytes (got 254)\n"},
		{"acquire control char in request_id", "POST", "/acquire?type=t&state=free&dest=busy&owner=o&request_id=%1B", "", 400,
			"invalid request_id: must not contain control characters\n"},
		{"acquire unknown type with request_id", "POST", "/acquire?type=nope&state=free&dest=busy&owner=o&request_id=r", "", 404,
			"Acquire failed: resource type \"nope\" does not exist\n"},
		{"acquirebystate control char in a name", "POST", "/acquirebystate?state=free&dest=busy&owner=o&names=res-b,b%00c", "", 400,
			"invalid names: must not contain control characters\n"},
		{"acquirebystate 254-byte name", "POST", "/acquirebystate?state=free&dest=busy&owner=o&names=res-b," + long, "", 400,
			"invalid names: must be no more than 253 bytes (got 254)\n"},
		{"acquirebystate 254-byte owner", "POST", "/acquirebystate?state=free&dest=busy&owner=" + long + "&names=res-b", "", 400,
			"invalid owner: must be no more than 253 bytes (got 254)\n"},
		{"acquirebystate all or nothing", "POST", "/acquirebystate?state=free&dest=busy&owner=o&names=res-b,nope", "", 404,
			"AcquireByState: no available resource free, try again later.\n"},
		{"acquirebystate wrong method", "PATCH", "/acquirebystate?state=free&dest=busy&owner=o&names=res-b", "", 405,
			"Method PATCH, /acquire only accepts POST.\n"},
		{"release bad epoch", "POST", "/release?name=res-a&dest=free&owner=o&epoch=abc", "", 400,
			"invalid epoch: must be an integer, got \"abc\"\n"},
		{"release epoch overflow", "POST", "/release?name=res-a&dest=free&owner=o&epoch=99999999999999999999", "", 400,
			"invalid epoch: must be an integer, got \"99999999999999999999\"\n"},
		{"release stale epoch", "POST", "/release?name=res-a&dest=free&owner=o&epoch=2", "", 409,
			"Done failed: res-a - free (from o): stale epoch for res-a: request has 2, resource is at 1\n"},
		{"release control char in name", "POST", "/release?name=res-a%0D&dest=free&owner=o", "", 400,
			"invalid name: must not contain control characters\n"},
		{"release owner mismatch", "POST", "/release?name=res-a&dest=free&owner=p", "", 401,
			"Done failed: res-a - free (from p): owner mismatch request by p, currently owned by o\n"},
		{"release missing owner", "POST", "/release?name=res-a&dest=free&owner=", "", 400,
			"Name: res-a, dest: free, owner: , all of them must be set in the request.\n"},
		{"update body too large", "POST", "/update?name=res-a&owner=o&state=busy", big, 413,
			"request body too large: the limit is 1048576 bytes\n"},
		{"update userdata over 256 KiB", "POST", "/update?name=res-a&owner=o&state=busy", bigUserData, 413,
			"Update failed: res-a - busy (o): userdata too large: the update has 307202 bytes, the limit is 262144\n"},
		{"update userdata key too long", "POST", "/update?name=res-a&owner=o&state=busy", longKey, 400,
			"Update failed: res-a - busy (o): invalid userdata: keys must be no more than 1024 bytes (got 1025)\n"},
		{"update empty userdata key", "POST", "/update?name=res-a&owner=o&state=busy", `{"":"v"}`, 400,
			"Update failed: res-a - busy (o): invalid userdata: keys must not be empty\n"},
		{"update truncated JSON", "POST", "/update?name=res-a&owner=o&state=busy", `{"a":`, 400,
			"unexpected EOF\n"},
		{"update array body", "POST", "/update?name=res-a&owner=o&state=busy", `[1]`, 400,
			"json: cannot unmarshal array into Go value of type boskos.UserData\n"},
		{"update number value", "POST", "/update?name=res-a&owner=o&state=busy", `{"a":"b","c":2}`, 400,
			"json: cannot unmarshal number into Go value of type string\n"},
		{"update empty epoch is absent", "POST", "/update?name=res-a&owner=o&state=busy&epoch=", "", 200, ""},
		{"update bad epoch text", "POST", "/update?name=res-a&owner=o&state=busy&epoch=x1", `{"k":"v"}`, 400,
			"invalid epoch: must be an integer, got \"x1\"\n"},
		{"update state mismatch keeps userdata", "POST", "/update?name=res-a&owner=o&state=free", `{"k":"v"}`, 409,
			"Update failed: res-a - free (o): state mismatch - expected busy, current free\n"},
		{"update owner mismatch keeps userdata", "POST", "/update?name=res-a&owner=p&state=busy", `{"k":"v"}`, 401,
			"Update failed: res-a - busy (p): owner mismatch request by p, currently owned by o\n"},
		{"update 254-byte state", "POST", "/update?name=res-a&owner=o&state=" + long, "", 400,
			"invalid state: must be no more than 253 bytes (got 254)\n"},
		{"update wrong method with body", "PUT", "/update?name=res-a&owner=o&state=busy", `{"k":"v"}`, 405,
			"Method PUT, /update only accepts POST.\n"},
		{"reset unknown unit", "POST", "/reset?type=t&state=busy&expire=1x&dest=free", "", 400,
			"time: unknown unit \"x\" in duration \"1x\"\n"},
		{"reset control char in dest", "POST", "/reset?type=t&state=busy&expire=0&dest=free%02", "", 400,
			"invalid dest: must not contain control characters\n"},
		{"reset missing dest", "POST", "/reset?type=t&state=busy&expire=0", "", 400,
			"Type: t, state: busy, expire: 0, dest: , all of them must be set in the request.\n"},
		{"metric 254-byte type", "GET", "/metric?type=" + long, "", 400,
			"invalid type: must be no more than 253 bytes (got 254)\n"},
		{"metric wrong method", "DELETE", "/metric?type=t", "", 405,
			"/metric only accepts GET\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := w.snapshot()
			got := w.do(tc.method, tc.target, tc.body)
			assert.Equal(t, tc.status, got.status, "got status %d, want %d (body %q)", got.status, tc.status, got.body)
			assert.Equal(t, tc.want, got.body)
			if tc.status != http.StatusOK {
				assert.Equal(t, "text/plain; charset=utf-8", got.header.Get("Content-Type"))
				assert.Equal(t, "nosniff", got.header.Get("X-Content-Type-Options"))
				assert.Equal(t, before, w.snapshot(), "a rejected request changed the store")
			}
		})
	}
}

// TestLogging: 4xx at debug, 5xx at error, user data never.
func TestLogging(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := newWorld(t, worldOpts{logger: log})
	w.mustDo("POST", "/acquire?type=t&state=free&dest=busy&owner=o", "")
	w.mustDo("POST", "/update?name=res-a&owner=o&state=busy", `{"password":"hunter2"}`)
	buf.Reset()

	r := w.do("POST", "/update?name=res-a&owner=p&state=busy", `{"password":"hunter3"}`)
	require.Equal(t, 401, r.status)
	r = w.do("POST", "/update?name=res-a&owner=o&state=busy", `{"password":1}`)
	require.Equal(t, 400, r.status)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, "log:\n%s", buf.String())
	for _, l := range lines {
		assert.Contains(t, l, "level=DEBUG")
	}
	assert.Contains(t, lines[0], "status=401")

	buf.Reset()
	w.store.fail.Store(true)
	r = w.do("POST", "/update?name=res-a&owner=o&state=busy", `{"password":"hunter4"}`)
	require.Equal(t, 500, r.status, "body %q", r.body)
	assert.Contains(t, buf.String(), "level=ERROR")
	assert.Contains(t, buf.String(), "status=500")

	for _, secret := range []string{"hunter2", "hunter3", "hunter4"} {
		assert.NotContains(t, buf.String(), secret)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's and the test's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
