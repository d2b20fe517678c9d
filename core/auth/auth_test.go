package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/boskos-serverless/boskos/core/testkit"
)

func minHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	require.NoError(t, err)
	return string(h)
}

func TestParse(t *testing.T) {
	good := minHash(t, "pw")
	tests := []struct {
		name    string
		yaml    string
		wantErr []string // every line expected in the error
	}{
		{name: "valid", yaml: fmt.Sprintf("principals:\n- {name: ci, password_hash: %q, owners: [ci-*, bot], role: client}\n- {name: root, password_hash: %q, role: admin}\n", good, good)},
		{name: "empty", yaml: "", wantErr: []string{"principals: none"}},
		{name: "unknown field (a plain password)", yaml: "principals:\n- {name: ci, password: hunter2, role: client, owners: [x]}\n", wantErr: []string{`unknown field "password"`}},
		{name: "every problem at once", yaml: fmt.Sprintf(`principals:
- {name: "", password_hash: %q, role: client, owners: [a]}
- {name: "a:b", password_hash: %q, role: client, owners: [a]}
- {name: ci, password_hash: hunter2, role: client, owners: [a]}
- {name: ci2, password_hash: %q, role: superuser, owners: [a]}
- {name: ci3, password_hash: %q, role: maintainer}
- {name: ci3, password_hash: %q, role: client, owners: [""]}
`, good, good, good, good, good),
			wantErr: []string{
				"principals[0]: name must be set",
				`principals[1] ("a:b"): name must not contain ':'`,
				`principals[2] ("ci"): password_hash is not a bcrypt hash`,
				`principals[3] ("ci2"): role "superuser": want client, maintainer or admin`,
				`principals[4] ("ci3"): owners: must list at least one owner name or glob for role maintainer`,
				`principals[5] ("ci3"): name is used by an earlier principal`,
				`principals[5] ("ci3"): owners[0] must be set`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				require.NotNil(t, c.Lookup("ci"))
				assert.Nil(t, c.Lookup("nobody"))
				return
			}
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "hunter2", "the error quotes a password")
			if tc.name == "every problem at once" {
				assert.Len(t, strings.Split(err.Error(), "\n"), len(tc.wantErr), "one line per problem:\n%s", err)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	client := &Principal{Name: "c", Role: RoleClient, Owners: []string{"ci-a-*"}}
	maint := &Principal{Name: "m", Role: RoleMaintainer, Owners: []string{"janitor"}}
	admin := &Principal{Name: "r", Role: RoleAdmin}
	tests := []struct {
		name  string
		p     *Principal
		path  string
		owner string
		want  string // "" allowed, else a substring of the denial
	}{
		{"client acquires as its owner", client, "/acquire", "ci-a-1", ""},
		{"client acquires as another owner", client, "/acquire", "ci-b-1", `may not act as owner "ci-b-1"`},
		{"client releases as another owner", client, "/release", "ci-b-1", `may not act as owner "ci-b-1"`},
		{"client updates as another owner", client, "/update", "ci-b-1", `may not act as owner "ci-b-1"`},
		{"client without owner goes to the handler's 400", client, "/acquire", "", ""},
		{"client reads metric", client, "/metric", "", ""},
		{"client reads metrics", client, "/metrics", "", ""},
		{"client resets", client, "/reset", "", "needs role maintainer"},
		{"client acquires by state", client, "/acquirebystate", "ci-a-1", "needs role maintainer"},
		{"client on another path", client, "/", "", "needs role admin"},
		{"client on healthz", client, "/healthz", "", ""},
		{"maintainer resets", maint, "/reset", "", ""},
		{"maintainer acquires by state as its owner", maint, "/acquirebystate", "janitor", ""},
		{"maintainer acquires by state as another owner", maint, "/acquirebystate", "ci-a-1", `may not act as owner "ci-a-1"`},
		{"maintainer on another path", maint, "/admin/x", "", "needs role admin"},
		{"admin anything", admin, "/acquirebystate", "anyone", ""},
		{"admin other path", admin, "/", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Authorize(tc.p, tc.path, tc.owner)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLimiter(t *testing.T) {
	now := testkit.T0
	l := newLimiter(3, 10*time.Second, 100)
	for i := range 3 {
		assert.Zero(t, l.wait(now, "a"), "failure %d is within the burst", i+1)
		l.fail(now, "a")
	}
	assert.Equal(t, 10*time.Second, l.wait(now, "a"), "after the burst, wait one interval")
	assert.Zero(t, l.wait(now, "b"), "another key is not throttled")
	assert.Equal(t, 10*time.Second, l.wait(now, "b", "a"), "throttled if any key is")
	assert.Equal(t, 4*time.Second, l.wait(now.Add(6*time.Second), "a"))
	assert.Zero(t, l.wait(now.Add(10*time.Second), "a"), "one failure allowed per interval")
	l.fail(now.Add(10*time.Second), "a")
	assert.Equal(t, 10*time.Second, l.wait(now.Add(10*time.Second), "a"))
	assert.Zero(t, l.wait(now.Add(40*time.Second), "a"), "all forgiven after burst intervals")

	t.Run("bounded", func(t *testing.T) {
		l := newLimiter(1, time.Second, 10)
		for i := range 100 {
			l.fail(now, fmt.Sprint(i))
		}
		assert.LessOrEqual(t, len(l.tat), 10)
	})
}

func TestSlots(t *testing.T) {
	s := &slots{size: 2, sem: map[string]*slot{}}
	require.True(t, s.acquire("a", nil))
	require.True(t, s.acquire("a", nil))
	done := make(chan struct{})
	close(done)
	assert.False(t, s.acquire("a", done), "full: gives up when done")
	assert.True(t, s.acquire("b", nil), "another address has its own slots")
	s.release("a")
	assert.True(t, s.acquire("a", nil))
	s.release("a")
	s.release("a")
	s.release("b")
	assert.Empty(t, s.sem, "unused slots are dropped")
}

// guardFixture is a guard over one client principal in front of a handler
// that counts the requests it gets.
type guardFixture struct {
	clk    *testkit.Clock
	holder *Holder
	guard  *Guard
	h      http.Handler
	mu     sync.Mutex
	served int
}

func newGuardFixture(t *testing.T, opts Options) *guardFixture {
	f := &guardFixture{clk: testkit.NewClock()}
	c, err := New(File{Principals: []Principal{
		{Name: "ci", PasswordHash: minHash(t, "secret"), Owners: []string{"ci-*"}, Role: RoleClient},
		{Name: "other", PasswordHash: minHash(t, "other-pw"), Owners: []string{"other"}, Role: RoleClient},
	}})
	require.NoError(t, err)
	f.holder = NewHolder(c)
	opts.Now, opts.Logger = f.clk.Now, testkit.Quiet()
	f.guard = NewGuard(f.holder, opts)
	f.h = f.guard.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.served++
		f.mu.Unlock()
	}))
	return f
}

func (f *guardFixture) do(method, target, addr, user, pass string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = addr + ":1234"
	if user != "" {
		r.SetBasicAuth(user, pass)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func TestGuard(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		method     string
		target     string
		user, pass string
		wantStatus int
		wantBody   string
	}{
		{name: "ok", method: "POST", target: "/acquire?owner=ci-1", user: "ci", pass: "secret", wantStatus: 200},
		{name: "no credentials", method: "POST", target: "/acquire?owner=ci-1", wantStatus: 401, wantBody: "authentication required"},
		{name: "wrong password", method: "POST", target: "/acquire?owner=ci-1", user: "ci", pass: "nope", wantStatus: 401},
		{name: "unknown principal", method: "POST", target: "/acquire?owner=ci-1", user: "ghost", pass: "secret", wantStatus: 401},
		{name: "wrong owner", method: "POST", target: "/release?owner=other", user: "ci", pass: "secret", wantStatus: 403, wantBody: `principal "ci" may not act as owner "other"`},
		{name: "wrong role", method: "POST", target: "/reset?type=x", user: "ci", pass: "secret", wantStatus: 403, wantBody: "needs role maintainer"},
		{name: "healthz is open", method: "GET", target: "/healthz", wantStatus: 200},
		{name: "metric closed by default", method: "GET", target: "/metric?type=x", wantStatus: 401},
		{name: "anonymous metric", opts: Options{AnonymousMetrics: true}, method: "GET", target: "/metric?type=x", wantStatus: 200},
		{name: "anonymous metrics", opts: Options{AnonymousMetrics: true}, method: "GET", target: "/metrics", wantStatus: 200},
		{name: "anonymous metrics with a wrong password", opts: Options{AnonymousMetrics: true}, method: "GET", target: "/metrics", user: "ci", pass: "nope", wantStatus: 401},
		{name: "anonymous metrics opens no write", opts: Options{AnonymousMetrics: true}, method: "POST", target: "/acquire?owner=ci-1", wantStatus: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newGuardFixture(t, tc.opts)
			w := f.do(tc.method, tc.target, "10.0.0.1", tc.user, tc.pass)
			assert.Equal(t, tc.wantStatus, w.Code, "body %q", w.Body.String())
			assert.Contains(t, w.Body.String(), tc.wantBody)
			if tc.wantStatus == 401 {
				assert.Equal(t, `Basic realm="boskos"`, w.Header().Get("WWW-Authenticate"))
			}
			wantServed := 0
			if tc.wantStatus == 200 {
				wantServed = 1
			}
			assert.Equal(t, wantServed, f.served, "requests that reached the handler")
		})
	}

	t.Run("no credentials configured", func(t *testing.T) {
		g := NewGuard(&Holder{}, Options{})
		w := httptest.NewRecorder()
		g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })).
			ServeHTTP(w, httptest.NewRequest("POST", "/reset", nil))
		assert.Equal(t, 204, w.Code)
	})
}

func TestGuardCache(t *testing.T) {
	f := newGuardFixture(t, Options{CacheTTL: time.Minute})
	for range 5 {
		require.Equal(t, 200, f.do("POST", "/acquire?owner=ci-1", "10.0.0.1", "ci", "secret").Code)
	}
	assert.EqualValues(t, 1, f.guard.bcrypts.Load(), "bcrypt once per TTL")
	f.clk.Add(59 * time.Second)
	require.Equal(t, 200, f.do("POST", "/acquire?owner=ci-1", "10.0.0.1", "ci", "secret").Code)
	assert.EqualValues(t, 1, f.guard.bcrypts.Load(), "still cached")
	f.clk.Add(time.Second)
	require.Equal(t, 200, f.do("POST", "/acquire?owner=ci-1", "10.0.0.1", "ci", "secret").Code)
	assert.EqualValues(t, 2, f.guard.bcrypts.Load(), "verified again after the TTL")

	t.Run("a reload invalidates the cache", func(t *testing.T) {
		c, err := New(File{Principals: []Principal{{Name: "ci", PasswordHash: minHash(t, "new"), Owners: []string{"ci-*"}, Role: RoleClient}}})
		require.NoError(t, err)
		f.holder.Store(c)
		assert.Equal(t, 401, f.do("POST", "/acquire?owner=ci-1", "10.0.0.1", "ci", "secret").Code, "the old password is refused at once")
		assert.Equal(t, 200, f.do("POST", "/acquire?owner=ci-1", "10.0.0.1", "ci", "new").Code)
	})
	t.Run("a wrong password is never cached", func(t *testing.T) {
		n := f.guard.bcrypts.Load()
		for range 3 {
			assert.Equal(t, 401, f.do("POST", "/acquire?owner=ci-1", "10.0.0.2", "ci", "bad").Code)
		}
		assert.Equal(t, n+3, f.guard.bcrypts.Load())
	})
}

// TestBruteForce: 1,000 wrong passwords from one address are throttled
// (429 with Retry-After) after the burst, spending bcrypt only on the burst,
// while another caller, from another address, keeps being served; the
// attacker may try again after Retry-After.
func TestBruteForce(t *testing.T) {
	f := newGuardFixture(t, Options{FailureBurst: 10, FailureInterval: 6 * time.Second})
	require.Equal(t, 200, f.do("GET", "/metric?type=x", "10.0.0.9", "other", "other-pw").Code, "the other caller, before")

	var wg sync.WaitGroup
	codes := make(chan int, 1000)
	var retryAfter sync.Map
	for i := range 1000 {
		wg.Go(func() {
			w := f.do("POST", "/acquire?owner=ci-1", "10.6.6.6", "ci", fmt.Sprintf("guess-%d", i))
			codes <- w.Code
			if w.Code == 429 {
				retryAfter.Store(w.Header().Get("Retry-After"), true)
			}
		})
	}
	// Meanwhile the other caller is served, every time.
	for range 50 {
		require.Equal(t, 200, f.do("GET", "/metric?type=x", "10.0.0.9", "other", "other-pw").Code)
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	// Up to ChecksPerAddr-1 guesses may be in their bcrypt when the 10th
	// failure is recorded.
	assert.Equal(t, 1000, count[401]+count[429], "only 401s and 429s: %v", count)
	assert.GreaterOrEqual(t, count[401], 10)
	assert.LessOrEqual(t, count[401], 10+DefaultChecksPerAddr-1)
	// Retry-After: one interval per failure beyond the burst.
	maxWait := 0
	retryAfter.Range(func(k, _ any) bool {
		n, err := strconv.Atoi(k.(string))
		require.NoError(t, err)
		assert.Zero(t, n%6, "Retry-After %d", n)
		maxWait = max(maxWait, n)
		return true
	})
	// The guesses still in their bcrypt when the burst ran out record their
	// failures after some 429s were answered, so the largest Retry-After
	// seen lies between one interval and one per failure beyond the burst.
	throttle := 6 * (count[401] - 10 + 1)
	assert.GreaterOrEqual(t, maxWait, 6, "Retry-After")
	assert.LessOrEqual(t, maxWait, throttle, "Retry-After")
	assert.EqualValues(t, count[401]+1, f.guard.bcrypts.Load(), "bcrypt only for the burst (and the other caller's first request)")

	// The right password from the attacked address is throttled too, until
	// the throttle has passed.
	assert.Equal(t, 429, f.do("POST", "/acquire?owner=ci-1", "10.6.6.6", "ci", "secret").Code)
	f.clk.Add(time.Duration(throttle) * time.Second)
	assert.Equal(t, 200, f.do("POST", "/acquire?owner=ci-1", "10.6.6.6", "ci", "secret").Code)
}

// TestConcurrentFirstRequests: many clients of one principal starting
// together from one address (16 CI jobs on one runner) are all served,
// and pay bcrypt a few times, not once each.
func TestConcurrentFirstRequests(t *testing.T) {
	f := newGuardFixture(t, Options{FailureBurst: 2})
	var wg sync.WaitGroup
	codes := make(chan int, 64)
	for range 64 {
		wg.Go(func() { codes <- f.do("POST", "/acquire?owner=ci-1", "10.0.0.1", "ci", "secret").Code })
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		require.Equal(t, 200, c)
	}
	assert.LessOrEqual(t, f.guard.bcrypts.Load(), int64(DefaultChecksPerAddr), "waiting requests find the verified header in the cache")
}

// TestBruteForceManyAddresses: guesses of one principal's password from
// many addresses are throttled per principal.
func TestBruteForceManyAddresses(t *testing.T) {
	f := newGuardFixture(t, Options{FailureBurst: 5, FailureInterval: time.Second})
	for i := range 5 {
		assert.Equal(t, 401, f.do("POST", "/acquire?owner=ci-1", fmt.Sprintf("10.1.0.%d", i), "ci", "bad").Code)
	}
	assert.Equal(t, 429, f.do("POST", "/acquire?owner=ci-1", "10.1.1.1", "ci", "bad").Code)
	assert.Equal(t, 200, f.do("POST", "/acquire?owner=other", "10.1.1.1", "other", "other-pw").Code, "another principal is not throttled")
}

func TestAddToFileAndWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.yaml")
	replaced, err := AddToFile(path, Principal{Name: "ci", PasswordHash: minHash(t, "one"), Owners: []string{"ci-*"}, Role: RoleClient})
	require.NoError(t, err)
	assert.False(t, replaced)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	c, data, err := LoadFile(path)
	require.NoError(t, err)

	h := NewHolder(c)
	reloaded := make(chan error, 8)
	w := NewWatcher(path, data, h, testkit.Quiet(), 10*time.Millisecond, func(err error) { reloaded <- err })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	require.NoError(t, w.Start(ctx, &wg))
	t.Cleanup(func() { cancel(); wg.Wait() })

	replaced, err = AddToFile(path, Principal{Name: "ci", PasswordHash: minHash(t, "two"), Owners: []string{"ci-*", "bot"}, Role: RoleMaintainer})
	require.NoError(t, err)
	assert.True(t, replaced)
	require.NoError(t, <-reloaded)
	p := h.Load().Lookup("ci")
	require.NotNil(t, p)
	assert.Equal(t, RoleMaintainer, p.Role)
	assert.Equal(t, []string{"ci-*", "bot"}, p.Owners)
	assert.Len(t, h.Load().Principals(), 1, "replaced, not added")

	// A bad file keeps the credentials in force.
	before := h.Load()
	require.NoError(t, os.WriteFile(path, []byte("principals:\n- {name: x, password_hash: plain, role: client, owners: [a]}\n"), 0o600))
	err = <-reloaded
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a bcrypt hash")
	assert.Same(t, before, h.Load())

	_, err = AddToFile(path, Principal{Name: "y", PasswordHash: minHash(t, "y"), Owners: []string{"y"}, Role: RoleClient})
	require.Error(t, err, "AddToFile refuses to rewrite an invalid file")
}
