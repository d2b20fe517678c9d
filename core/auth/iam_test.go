package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/testkit"
)

const (
	roleARN    = "arn:aws:iam::123456789012:role/ci/ci-runner"
	sessionARN = "arn:aws:sts::123456789012:assumed-role/ci-runner/job-42"
	userARN    = "arn:aws:iam::123456789012:user/ops/alice"
)

func TestParseIAM(t *testing.T) {
	good := minHash(t, "pw")
	tests := []struct {
		name    string
		yaml    string
		wantErr []string
	}{
		{name: "IAM principals only", yaml: fmt.Sprintf("principals:\n- {name: runner, iam: %q, owners: [ci-*], role: client}\n- {name: alice, iam: %q, role: admin}\n", roleARN, userARN)},
		{name: "a principal with a password and an ARN", yaml: fmt.Sprintf("principals:\n- {name: runner, password_hash: %q, iam: %q, owners: [ci-*], role: client}\n", good, roleARN)},
		{name: "every problem at once", yaml: fmt.Sprintf(`principals:
- {name: none, owners: [a], role: client}
- {name: notarn, iam: "ci-runner", owners: [a], role: client}
- {name: wild, iam: "arn:aws:iam::123456789012:role/*", owners: [a], role: client}
- {name: s3, iam: "arn:aws:s3:::bucket", owners: [a], role: client}
- {name: first, iam: %q, owners: [a], role: client}
- {name: again, iam: %q, owners: [a], role: client}
- {name: samerole, iam: "arn:aws:iam::123456789012:role/other-path/ci-runner", owners: [a], role: client}
- {name: noaccount, iam: "arn:aws:iam:::role/x", owners: [a], role: client}
`, roleARN, roleARN),
			wantErr: []string{
				`principals[0] ("none"): password_hash or iam must be set`,
				`principals[1] ("notarn"): iam "ci-runner" is not an ARN`,
				`principals[2] ("wild"): iam "arn:aws:iam::123456789012:role/*" must be one ARN, without wildcards`,
				`principals[3] ("s3"): iam "arn:aws:s3:::bucket" is a s3 ARN`,
				`principals[5] ("again"): iam "` + roleARN + `" is used by an earlier principal`,
				`principals[6] ("samerole"): iam "arn:aws:iam::123456789012:role/other-path/ci-runner" is used by an earlier principal`,
				`principals[7] ("noaccount"): iam "arn:aws:iam:::role/x" has no account`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
			assert.Len(t, strings.Split(err.Error(), "\n"), len(tc.wantErr), "one line per problem:\n%s", err)
			assert.Nil(t, c)
		})
	}
}

func TestLookupIAM(t *testing.T) {
	c, err := New(File{Principals: []Principal{
		{Name: "runner", IAM: roleARN, Owners: []string{"ci-*"}, Role: RoleClient},
		{Name: "alice", IAM: userARN, Role: RoleAdmin},
		{Name: "session", IAM: "arn:aws:sts::123456789012:assumed-role/deployer/fixed", Owners: []string{"d"}, Role: RoleClient},
	}})
	require.NoError(t, err)
	assert.False(t, c.HasBasic())
	tests := []struct {
		name, caller, want string // want "": no principal
	}{
		{"the role itself", roleARN, "runner"},
		{"a session of the role", sessionARN, "runner"},
		{"another session of the role", "arn:aws:sts::123456789012:assumed-role/ci-runner/other", "runner"},
		{"the role in another account", "arn:aws:sts::999999999999:assumed-role/ci-runner/job-42", ""},
		{"the role in another partition", "arn:aws-cn:sts::123456789012:assumed-role/ci-runner/job-42", ""},
		{"another role", "arn:aws:sts::123456789012:assumed-role/ci-runner-2/job-42", ""},
		{"a session without a session name", "arn:aws:sts::123456789012:assumed-role/ci-runner", ""},
		{"the user", userARN, "alice"},
		{"the user without its path", "arn:aws:iam::123456789012:user/alice", ""},
		{"an exact session ARN", "arn:aws:sts::123456789012:assumed-role/deployer/fixed", "session"},
		{"another session of an exact session's role", "arn:aws:sts::123456789012:assumed-role/deployer/other", ""},
		{"empty", "", ""},
		{"garbage", "not an arn", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := c.LookupIAM(tc.caller)
			if tc.want == "" {
				assert.Nil(t, p, "got %v, want no principal", p)
				return
			}
			require.NotNil(t, p, "got no principal, want %s", tc.want)
			assert.Equal(t, tc.want, p.Name)
		})
	}
}

// TestGuardIAM: a request whose context carries an IAM caller is
// authorized as the principal of its ARN, with the owner and role rules
// of Basic; an unknown ARN is a 403; the principal's password (if any) is
// not asked for, and an IAM-only principal cannot log in with Basic.
func TestGuardIAM(t *testing.T) {
	pw := minHash(t, "secret")
	mixed, err := New(File{Principals: []Principal{
		{Name: "runner", IAM: roleARN, Owners: []string{"ci-a-*"}, Role: RoleClient},
		{Name: "ci", PasswordHash: pw, Owners: []string{"ci-*"}, Role: RoleClient},
	}})
	require.NoError(t, err)
	iamOnly, err := New(File{Principals: []Principal{{Name: "runner", IAM: roleARN, Owners: []string{"ci-a-*"}, Role: RoleClient}}})
	require.NoError(t, err)
	tests := []struct {
		name       string
		creds      *Credentials
		opts       Options
		method     string
		target     string
		iam        string
		user, pass string
		wantStatus int
		wantBody   string
	}{
		{name: "allowed owner", creds: mixed, method: "POST", target: "/acquire?owner=ci-a-1", iam: sessionARN, wantStatus: 200},
		{name: "wrong owner", creds: mixed, method: "POST", target: "/release?owner=ci-b-1", iam: sessionARN, wantStatus: 403, wantBody: `principal "runner" may not act as owner "ci-b-1"`},
		{name: "wrong role", creds: mixed, method: "POST", target: "/reset?type=x", iam: sessionARN, wantStatus: 403, wantBody: "needs role maintainer"},
		{name: "unknown ARN", creds: mixed, method: "POST", target: "/acquire?owner=ci-a-1", iam: "arn:aws:sts::123456789012:assumed-role/intruder/x", wantStatus: 403, wantBody: `IAM principal "arn:aws:sts::123456789012:assumed-role/intruder/x" is not in the credentials`},
		{name: "unknown ARN with a valid Basic header", creds: mixed, method: "POST", target: "/acquire?owner=ci-a-1", iam: "arn:aws:iam::123456789012:user/x", user: "ci", pass: "secret", wantStatus: 403},
		{name: "unknown ARN reads anonymous metrics", creds: mixed, opts: Options{AnonymousMetrics: true}, method: "GET", target: "/metrics", iam: "arn:aws:iam::123456789012:user/x", wantStatus: 200},
		{name: "healthz is open", creds: iamOnly, method: "GET", target: "/healthz", wantStatus: 200},
		{name: "no identity, Basic principals: 401", creds: mixed, method: "POST", target: "/acquire?owner=ci-a-1", wantStatus: 401},
		{name: "no identity, IAM principals only: 403", creds: iamOnly, method: "POST", target: "/acquire?owner=ci-a-1", wantStatus: 403, wantBody: "authorizes with AWS IAM"},
		{name: "an IAM-only principal has no password", creds: iamOnly, method: "POST", target: "/acquire?owner=ci-a-1", user: "runner", pass: "", wantStatus: 401},
		{name: "Basic still works next to IAM", creds: mixed, method: "POST", target: "/acquire?owner=ci-1", user: "ci", pass: "secret", wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = testkit.Quiet()
			g := NewGuard(NewHolder(tc.creds), tc.opts)
			served := 0
			h := g.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }))
			r := httptest.NewRequest(tc.method, tc.target, nil)
			r = r.WithContext(WithIAMCaller(context.Background(), tc.iam))
			if tc.user != "" {
				r.SetBasicAuth(tc.user, tc.pass)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tc.wantStatus, w.Code, "got status %d, want %d: body %q", w.Code, tc.wantStatus, w.Body.String())
			assert.Contains(t, w.Body.String(), tc.wantBody)
			want := 0
			if tc.wantStatus == 200 {
				want = 1
			}
			assert.Equal(t, want, served, "requests that reached the handler")
			if tc.iam != "" {
				assert.EqualValues(t, 0, g.bcrypts.Load(), "an IAM caller costs no bcrypt")
			}
		})
	}
}

func TestIAMCallerContext(t *testing.T) {
	_, ok := IAMCaller(context.Background())
	assert.False(t, ok)
	_, ok = IAMCaller(WithIAMCaller(context.Background(), ""))
	assert.False(t, ok, "an empty ARN is no caller")
	arn, ok := IAMCaller(WithIAMCaller(context.Background(), userARN))
	assert.True(t, ok)
	assert.Equal(t, userARN, arn)
}
