package compat

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/boskos/client"
	"sigs.k8s.io/boskos/common"
)

const authConfig = `resources:
- type: aws-account
  state: free
  names: [acct-1, acct-2, acct-3]
`

// startAuthBoskos writes a credentials file with `boskos credentials add`
// (principal ci-a, client, bound to ci-a-*) and starts `boskos serve
// --credentials` on it; it returns the server, the right and a wrong
// password file.
func startAuthBoskos(t *testing.T, bin string) (p *process, pwFile, wrongFile string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(authConfig), 0o644))
	creds := filepath.Join(dir, "credentials.yaml")
	add := exec.Command(bin, "credentials", "add", "ci-a", "--owners", "ci-a-*", "--role", "client", "--file", creds)
	add.Stdin = strings.NewReader("s3cret-a\n")
	out, err := add.CombinedOutput()
	require.NoError(t, err, "boskos credentials add:\n%s", out)
	pwFile, wrongFile = filepath.Join(dir, "pw"), filepath.Join(dir, "wrong")
	require.NoError(t, os.WriteFile(pwFile, []byte("s3cret-a\n"), 0o600))
	require.NoError(t, os.WriteFile(wrongFile, []byte("guess\n"), 0o600))
	return startBoskos(t, bin, "--config", cfg, "--in_memory", "--credentials", creds), pwFile, wrongFile
}

// TestUpstreamClientWithCredentials: the upstream Go client with a
// username and password file works against a server with credentials;
// with a wrong password it fails; bound to ci-a-*, it cannot acquire,
// update or release as ci-b-1.
func TestUpstreamClientWithCredentials(t *testing.T) {
	bin := buildBoskos(t)
	p, pw, wrong := startAuthBoskos(t, bin)
	suiteMu.Lock()
	defer suiteMu.Unlock()
	saved := client.SleepFunc
	client.SleepFunc = func(time.Duration) {} // the client retries refusals 4 times
	defer func() { client.SleepFunc = saved }()

	newClient := func(owner, pwFile string) *client.Client {
		c, err := client.NewClient(owner, p.URL, "ci-a", pwFile)
		require.NoError(t, err)
		return c
	}
	a := newClient("ci-a-1", pw)
	res, err := a.Acquire("aws-account", common.Free, common.Busy)
	require.NoError(t, err)
	require.NoError(t, a.UpdateOne(res.Name, common.Busy, nil))
	m, err := a.Metric("aws-account")
	require.NoError(t, err)
	assert.Equal(t, 1, m.Current[common.Busy])

	_, err = newClient("ci-a-1", wrong).Acquire("aws-account", common.Free, common.Busy)
	require.Error(t, err, "a wrong password fails")
	_, err = newClient("ci-a-1", wrong).Metric("aws-account")
	require.Error(t, err, "a wrong password fails")

	b := newClient("ci-b-1", pw)
	_, err = b.Acquire("aws-account", common.Free, common.Busy)
	require.Error(t, err, "acquire as ci-b-1")
	assert.Contains(t, err.Error(), "403")
	require.Error(t, b.Release(res.Name, common.Dirty), "release as ci-b-1")
	require.Error(t, b.Update(res.Name, common.Busy, nil), "update as ci-b-1")

	m, err = a.Metric("aws-account")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{common.Busy: 1, common.Free: 2}, m.Current, "the refusals changed nothing")
	assert.Equal(t, map[string]int{"ci-a-1": 1, "": 2}, m.Owners)
	require.NoError(t, a.ReleaseOne(res.Name, common.Dirty))
	assert.NotContains(t, p.logs(), "s3cret-a", "a password reached the log")
}

// TestUpstreamBoskosctlWithCredentials: upstream's boskosctl with
// --username/--password-file acquires, reads metrics and releases; with a
// wrong password, or as an owner it is not bound to, it fails.
func TestUpstreamBoskosctlWithCredentials(t *testing.T) {
	t.Parallel()
	bin := buildBoskos(t)
	ctl := buildUpstream(t, "boskosctl")
	p, pw, wrong := startAuthBoskos(t, bin)
	run := func(owner, pwFile string, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		full := append(args, "--server-url", p.URL, "--owner-name", owner, "--username", "ci-a", "--password-file", pwFile)
		out, err := exec.CommandContext(ctx, ctl, full...).CombinedOutput()
		return string(out), err
	}
	out, err := run("ci-a-1", pw, "acquire", "--type", "aws-account", "--state", "free", "--target-state", "busy")
	require.NoError(t, err, out)
	assert.Contains(t, out, `"owner":"ci-a-1"`)
	name := out[strings.Index(out, `"name":"`)+len(`"name":"`):]
	name = name[:strings.Index(name, `"`)]
	out, err = run("ci-a-1", pw, "metrics", "--type", "aws-account")
	require.NoError(t, err, out)
	assert.Contains(t, out, `"busy":1`)

	out, err = run("ci-a-1", wrong, "acquire", "--type", "aws-account", "--state", "free", "--target-state", "busy")
	require.Error(t, err, "a wrong password fails:\n%s", out)
	out, err = run("ci-b-1", pw, "release", "--name", name, "--target-state", "dirty")
	require.Error(t, err, "release as ci-b-1:\n%s", out)
	assert.Contains(t, out, "403")

	out, err = run("ci-a-1", pw, "release", "--name", name, "--target-state", "dirty")
	require.NoError(t, err, out)
	out, err = run("ci-a-1", pw, "metrics", "--type", "aws-account")
	require.NoError(t, err, out)
	assert.Contains(t, out, `"dirty":1`)
}
