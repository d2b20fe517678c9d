package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/auth"
	"github.com/boskos-serverless/boskos/core/auth/authtest"
	"github.com/boskos-serverless/boskos/core/client"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
)

// storeSnapshot returns a Snapshot of the resources of st.
func storeSnapshot(st *store.Store) authtest.Snapshot {
	return func(t *testing.T) string {
		t.Helper()
		res, err := ranch.New(*st, ranch.Options{}).Resources(context.Background())
		require.NoError(t, err)
		b, err := json.Marshal(res)
		require.NoError(t, err)
		return string(b)
	}
}

// httpSend is an authtest.Send against a server at base.
func httpSend(base string) authtest.Send {
	return func(t *testing.T, method, target, user, password string) authtest.Response {
		t.Helper()
		req, err := http.NewRequest(method, base+target, nil)
		require.NoError(t, err)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return authtest.Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	}
}

// TestServeAuthMatrix runs the authentication matrix against `boskos serve
// --credentials` on the embedded store.
func TestServeAuthMatrix(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", authtest.Config)
	creds := writeFile(t, dir, "credentials.yaml", authtest.Credentials(t))
	var st store.Store
	srv := startServeHooks(t, func(h *serveHooks) {
		h.wrapStore = func(s store.Store) store.Store { st = s; return s }
	}, "--config", cfg, "--store", "bolt:"+filepath.Join(dir, "boskos.db"), "--credentials", creds, "--reaper-expire", "0")
	authtest.Run(t, httpSend(srv.URL), storeSnapshot(&st))
	assert.NotContains(t, srv.Stderr.String(), authtest.ClientPassword, "a password reached the log")
	assert.NotContains(t, srv.Stderr.String(), "Authorization")
}

// TestServeAuthFlags: serve refuses a non-loopback address without
// credentials unless told --insecure-no-auth, and a bad credentials file
// at start.
func TestServeAuthFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", twoResources)
	bad := writeFile(t, dir, "bad.yaml", "principals:\n- {name: a, password_hash: plain, role: client}\n")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  []string
	}{
		{name: "every interface without credentials", args: []string{"--addr", "0.0.0.0"}, wantCode: 2,
			wantErr: []string{`--addr "0.0.0.0" is not a loopback address: give --credentials FILE, or --insecure-no-auth`}},
		{name: "empty host without credentials", args: []string{"--addr", ""}, wantCode: 2, wantErr: []string{"is not a loopback address"}},
		{name: "anonymous metrics without credentials", args: []string{"--anonymous-metrics"}, wantCode: 2, wantErr: []string{"--anonymous-metrics needs --credentials"}},
		{name: "insecure with credentials", args: []string{"--credentials", bad, "--insecure-no-auth"}, wantCode: 2, wantErr: []string{"--insecure-no-auth conflicts with --credentials"}},
		{name: "bad credentials file", args: []string{"--credentials", bad}, wantCode: 1,
			wantErr: []string{`principals[0] ("a"): password_hash is not a bcrypt hash`, `principals[0] ("a"): owners: must list at least one`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(context.Background(), append([]string{"serve", "--port", "0", "--config", cfg, "--store", "memory"}, tc.args...)...)
			assert.Equal(t, tc.wantCode, code, stderr)
			for _, w := range tc.wantErr {
				assert.Contains(t, stderr, w)
			}
			assert.NotContains(t, stderr, "serving")
		})
	}

	t.Run("every interface with --insecure-no-auth", func(t *testing.T) {
		srv := startServe(t, "--config", cfg, "--store", "memory", "--addr", "0.0.0.0", "--insecure-no-auth")
		port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
		resp, err := http.Get("http://127.0.0.1:" + port + "/metric?type=t")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
	})
}

// TestCredentialsAddAndReload: `boskos credentials add` writes principals
// (password from stdin, or generated and printed once) and a running
// server picks the changes up; a bad file keeps the old credentials.
func TestCredentialsAddAndReload(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", twoResources)
	creds := filepath.Join(dir, "credentials.yaml")
	add := func(stdin string, args ...string) (int, string, string) {
		var out, errb syncBuffer
		code := cmdCredentials(append([]string{"add"}, args...), strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, stderr := add("alice-pw\n", "alice", "--owners", "alice-*, bot", "--role", "client", "--file", creds)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, out, "a password read from stdin is not printed")
	assert.Contains(t, stderr, `added principal "alice" (role client)`)
	data, err := os.ReadFile(creds)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "alice-pw", "the file holds the password")
	c, err := auth.Parse(data)
	require.NoError(t, err)
	assert.Equal(t, []string{"alice-*", "bot"}, c.Lookup("alice").Owners)

	reloaded := make(chan error, 8)
	srv := startServeHooks(t, func(h *serveHooks) { h.credentialsReloaded = func(err error) { reloaded <- err } },
		"--config", cfg, "--store", "memory", "--credentials", creds, "--reload-delay", "10ms")
	send := httpSend(srv.URL)
	assert.Equal(t, 200, send(t, "GET", "/metric?type=t", "alice", "alice-pw").Status)
	assert.Equal(t, 401, send(t, "GET", "/metric?type=t", "bob", "x").Status)

	code, out, stderr = add("", "bob", "--owners", "bob", "--role", "maintainer", "--file", creds, "--generate")
	require.Equal(t, 0, code, stderr)
	bobPW := strings.TrimSpace(out)
	assert.Len(t, bobPW, 32, "the generated password is printed once")
	require.NoError(t, <-reloaded)
	assert.Equal(t, 200, send(t, "POST", "/reset?type=t&state=busy&expire=1h&dest=dirty", "bob", bobPW).Status)

	code, _, stderr = add("new-alice\n", "alice", "--owners", "alice-*", "--file", creds)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `replaced principal "alice"`)
	require.NoError(t, <-reloaded)
	assert.Equal(t, 401, send(t, "GET", "/metric?type=t", "alice", "alice-pw").Status, "the old password is refused")
	assert.Equal(t, 200, send(t, "GET", "/metric?type=t", "alice", "new-alice").Status)

	require.NoError(t, os.WriteFile(creds, []byte("principals: [{name: x}]\n"), 0o600))
	require.Error(t, <-reloaded)
	assert.Equal(t, 200, send(t, "GET", "/metric?type=t", "alice", "new-alice").Status, "a bad file keeps the old credentials")
	assert.Contains(t, srv.Stderr.String(), "credentials reload: keeping the current credentials")
	assert.NotContains(t, srv.Stderr.String(), bobPW)

	t.Run("an IAM principal", func(t *testing.T) {
		iamFile := filepath.Join(dir, "iam.yaml")
		arn := "arn:aws:iam::123456789012:role/ci-runner"
		code, out, stderr := add("", "runner", "--iam", arn, "--owners", "ci-*", "--file", iamFile)
		require.Equal(t, 0, code, stderr)
		assert.Empty(t, out)
		data, err := os.ReadFile(iamFile)
		require.NoError(t, err)
		c, err := auth.Parse(data)
		require.NoError(t, err)
		p := c.LookupIAM("arn:aws:sts::123456789012:assumed-role/ci-runner/job-1")
		require.NotNil(t, p, "a session of the role maps to the principal")
		assert.Equal(t, "runner", p.Name)
		assert.Empty(t, p.PasswordHash, "an IAM principal has no password")
		assert.NotContains(t, string(data), "password_hash")

		code, _, stderr = add("", "bad", "--iam", "ci-runner", "--owners", "x", "--file", iamFile)
		assert.NotEqual(t, 0, code)
		assert.Contains(t, stderr, `iam "ci-runner" is not an ARN`)
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			stdin string
			args  []string
			want  string
		}{
			{name: "no name", args: []string{"--file", creds}, want: "NAME and --file are required"},
			{name: "no password", args: []string{"carol", "--owners", "c", "--file", creds}, want: "no password on stdin"},
			{name: "no owners", stdin: "pw\n", args: []string{"carol", "--file", filepath.Join(dir, "new.yaml")}, want: "owners: must list at least one"},
			{name: "bad role", stdin: "pw\n", args: []string{"carol", "--owners", "c", "--role", "root", "--file", filepath.Join(dir, "new.yaml")}, want: `role "root"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, _, stderr := add(tc.stdin, tc.args...)
				assert.NotEqual(t, 0, code)
				assert.Contains(t, stderr, tc.want)
			})
		}
		_, err := os.Stat(filepath.Join(dir, "new.yaml"))
		assert.ErrorIs(t, err, os.ErrNotExist, "a refused principal writes no file")
	})
}

// TestClientsWithCredentials: the boskosctl-style commands send
// --username/--password-file; a wrong password fails; the heartbeat and
// release send the lease's epoch, so a holder whose lease was reaped and
// given to someone else gets 409.
func TestClientsWithCredentials(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", "resources:\n- {type: t, state: free, names: [a]}\n")
	creds := writeFile(t, dir, "credentials.yaml", authtest.Credentials(t))
	pw := writeFile(t, dir, "pw", authtest.ClientPassword+"\n")
	wrong := writeFile(t, dir, "wrong", "nope\n")
	srv := startServe(t, "--config", cfg, "--store", "memory", "--credentials", creds, "--reaper-expire", "0")
	ctx := context.Background()
	ctl := func(owner, pwFile string, args ...string) (int, string, string) {
		return runCmd(ctx, append(args, "--server-url", srv.URL, "--owner-name", owner, "--username", authtest.Client, "--password-file", pwFile)...)
	}

	code, _, stderr := ctl("ci-a-1", wrong, "acquire", "--type", "t", "--state", "free", "--target-state", "busy")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "401")
	code, _, stderr = ctl("ci-b-1", pw, "acquire", "--type", "t", "--state", "free", "--target-state", "busy")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `may not act as owner "ci-b-1"`)

	code, out, stderr := ctl("ci-a-1", pw, "acquire", "--type", "t", "--state", "free", "--target-state", "busy")
	require.Equal(t, 0, code, stderr)
	resJSON := strings.TrimSpace(out)
	var first struct {
		Epoch int64 `json:"epoch"`
	}
	require.NoError(t, json.Unmarshal([]byte(resJSON), &first))
	require.Positive(t, first.Epoch)

	// The lease is reaped and given to the same owner again (a retried
	// job): only the epoch tells the old holder from the new one.
	admin, err := client.New(srv.URL, "ci-a-1", client.Options{Username: authtest.Admin, Password: authtest.AdminPassword})
	require.NoError(t, err)
	_, err = admin.Reset(ctx, "t", "busy", 0, "dirty")
	require.NoError(t, err)
	_, err = admin.Acquire(ctx, "t", "dirty", "busy", "")
	require.NoError(t, err)

	code, _, stderr = ctl("ci-a-1", pw, "heartbeat", "--resource", resJSON, "--period", "1ms", "--retries", "5")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "lost the lease")
	assert.Contains(t, stderr, "409")
	assert.Equal(t, 1, strings.Count(stderr, "409"), "no retry after a 409:\n%s", stderr)

	code, _, stderr = ctl("ci-a-1", pw, "release", "--name", "a", "--target-state", "dirty", "--epoch", strconv.FormatInt(first.Epoch, 10))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "409")
}
