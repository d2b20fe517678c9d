// Package authtest is the authentication matrix that the local server
// (cmd/boskos) and the Lambda handler (core/lambdaapp) both run: every
// endpoint × {no credentials, wrong password, wrong owner, wrong role, OK},
// checking each status and that the store is unchanged on every refusal.
package authtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// Config is the resources file the matrix expects the server to run:
// "pool" for /acquire, "batch" for /acquirebystate, "held" for /update and
// /release (Run leases h-1 to ci-a-1 first).
const Config = `resources:
- type: pool
  state: free
  names: [p-1, p-2]
- type: batch
  state: free
  names: [b-1]
- type: held
  state: free
  names: [h-1]
`

// Principals of Credentials, and their passwords.
const (
	// Client is a client bound to ci-a-*.
	Client, ClientPassword = "ci-a", "pw-client-a"
	// Maintainer is a maintainer bound to ci-a-* and janitor.
	Maintainer, MaintainerPassword = "maint", "pw-maintainer"
	// Admin is an admin.
	Admin, AdminPassword = "root", "pw-admin"
)

// Credentials returns a credentials file of the three principals (bcrypt
// at its minimum cost, to keep tests fast).
func Credentials(t testing.TB) string {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		require.NoError(t, err)
		return string(h)
	}
	return fmt.Sprintf(`principals:
- name: %s
  password_hash: %q
  owners: [ci-a-*]
  role: client
- name: %s
  password_hash: %q
  owners: [ci-a-*, janitor]
  role: maintainer
- name: %s
  password_hash: %q
  role: admin
`, Client, hash(ClientPassword), Maintainer, hash(MaintainerPassword), Admin, hash(AdminPassword))
}

// Response is what Send returns.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Send makes one request: method, target (path and query), and Basic
// credentials unless user is "".
type Send func(t *testing.T, method, target, user, password string) Response

// Snapshot returns a canonical dump of the store (resources and whatever
// else a request could change).
type Snapshot func(t *testing.T) string

// credential kinds of a case.
type who struct{ user, password string }

var (
	nobody     = who{}
	wrongPass  = who{Client, "not-the-password"}
	client     = who{Client, ClientPassword}
	maintainer = who{Maintainer, MaintainerPassword}
	admin      = who{Admin, AdminPassword}
)

// endpoint is one row of the matrix: its request for a given owner, the
// principal of its "wrong role" case (zero: no role is too low for it) and
// of its "wrong owner" case (zero: it has no owner), and its OK case.
type endpoint struct {
	name       string
	method     string
	target     func(owner string) string
	wrongRole  who
	wrongOwner who
	ok         who
	okStatus   int
	open       bool
}

var endpoints = []endpoint{
	{name: "healthz", method: "GET", target: func(string) string { return "/healthz" }, ok: nobody, okStatus: 200, open: true},
	{name: "metric", method: "GET", target: func(string) string { return "/metric?type=pool" }, ok: client, okStatus: 200},
	{name: "metrics", method: "GET", target: func(string) string { return "/metrics" }, ok: client, okStatus: 200},
	{name: "acquire", method: "POST", target: func(o string) string { return "/acquire?type=pool&state=free&dest=busy&owner=" + o },
		wrongOwner: client, ok: client, okStatus: 200},
	{name: "update", method: "POST", target: func(o string) string { return "/update?name=h-1&state=busy&owner=" + o },
		wrongOwner: client, ok: client, okStatus: 200},
	{name: "release", method: "POST", target: func(o string) string { return "/release?name=h-1&dest=dirty&owner=" + o },
		wrongOwner: client, ok: client, okStatus: 200},
	{name: "acquirebystate", method: "POST", target: func(o string) string { return "/acquirebystate?state=free&dest=busy&names=b-1&owner=" + o },
		wrongRole: client, wrongOwner: maintainer, ok: maintainer, okStatus: 200},
	{name: "reset", method: "POST", target: func(string) string { return "/reset?type=pool&state=busy&expire=1h&dest=dirty" },
		wrongRole: client, ok: maintainer, okStatus: 200},
	// The read API and the dashboard (one row each: every wrong password
	// of the matrix counts against the guard's burst of failures, 10):
	// any role reads, with credentials.
	{name: "v1-resources", method: "GET", target: func(o string) string { return "/v1/resources?owner=" + o }, ok: client, okStatus: 200},
	{name: "dashboard", method: "GET", target: func(string) string { return "/ui/" }, ok: client, okStatus: 200},
	{name: "catch-all", method: "GET", target: func(string) string { return "/" },
		wrongRole: maintainer, ok: admin, okStatus: 200},
}

// Run leases h-1 to ci-a-1 (as the admin), then runs the matrix in order;
// the OK case of each endpoint runs after its refusals.
func Run(t *testing.T, send Send, snapshot Snapshot) {
	r := send(t, "POST", "/acquirebystate?state=free&dest=busy&names=h-1&owner=ci-a-1", Admin, AdminPassword)
	require.Equal(t, 200, r.Status, "seeding h-1: %s", r.Body)
	for _, ep := range endpoints {
		type tc struct {
			name   string
			who    who
			owner  string
			status int
		}
		var cases []tc
		if !ep.open {
			cases = append(cases, tc{"no credentials", nobody, "ci-a-1", 401}, tc{"wrong password", wrongPass, "ci-a-1", 401})
			if ep.wrongOwner != (who{}) {
				cases = append(cases, tc{"wrong owner", ep.wrongOwner, "ci-b-1", 403})
			}
			if ep.wrongRole != (who{}) {
				cases = append(cases, tc{"wrong role", ep.wrongRole, "ci-a-1", 403})
			}
		}
		cases = append(cases, tc{"OK", ep.ok, "ci-a-1", ep.okStatus})
		for _, c := range cases {
			t.Run(ep.name+"/"+c.name, func(t *testing.T) {
				before := snapshot(t)
				got := send(t, ep.method, ep.target(c.owner), c.who.user, c.who.password)
				require.Equal(t, c.status, got.Status, "status of %s %s as %q: body %q", ep.method, ep.target(c.owner), c.who.user, got.Body)
				if c.status == 200 {
					return
				}
				assert.Equal(t, before, snapshot(t), "a refused request changed the store")
				switch c.status {
				case 401:
					assert.Equal(t, `Basic realm="boskos"`, got.Header.Get("WWW-Authenticate"))
					if c.who.password != "" {
						assert.NotContains(t, got.Body, c.who.password, "the body echoes the password")
					}
				case 403:
					if c.name == "wrong owner" {
						assert.Contains(t, got.Body, `"ci-b-1"`, "the 403 names the owner")
					} else {
						assert.Contains(t, got.Body, "needs role", "the 403 names the role")
					}
				}
				assert.False(t, strings.Contains(got.Body, "$2a$"), "the body leaks a hash")
			})
		}
	}
}
