package compat

import (
	"context"
	"fmt"
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

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/tests/compat/lambdarun"
)

// Environment of the e2e test against a deployed stack (make e2e URL=...).
const (
	// EnvE2EURL is the base URL of the stack's API (its ApiUrl output).
	EnvE2EURL = "BOSKOS_E2E_URL"
	// EnvE2EReaperExpire is the stack's BOSKOS_REAPER_EXPIRE (default
	// 30m, the reaper's default).
	EnvE2EReaperExpire = "BOSKOS_E2E_REAPER_EXPIRE"
	// EnvE2EReaperPeriod is the period of the stack's reaper schedule
	// (default 1m).
	EnvE2EReaperPeriod = "BOSKOS_E2E_REAPER_PERIOD"
	// EnvE2EMaxWait is the longest the reaping scenario may wait (default
	// 5m): when the expiry and two periods take longer, it is skipped.
	EnvE2EMaxWait = "BOSKOS_E2E_MAX_WAIT"
	// EnvE2EUsername and EnvE2EPasswordFile are the credentials of a
	// stack with credentials (auth mode basic): a principal with owners
	// '*' and role maintainer or admin (the suite resets).
	EnvE2EUsername     = "BOSKOS_E2E_USERNAME"
	EnvE2EPasswordFile = "BOSKOS_E2E_PASSWORD_FILE"
)

// e2eConfigPath is the resources file of a server under runE2E.
var e2eConfigPath = filepath.Join("testdata", "e2e.yaml")

// e2eReapType is the type of the reaping scenario (in testdata/e2e.yaml).
const e2eReapType = "e2e-reap"

// reaping says how the server under runE2E reaps: the scenario waits
// expire + 2 periods for a stale lease to be reset; tick (if set) is
// called while it waits (it runs a reaper pass where no schedule does).
type reaping struct {
	expire, period time.Duration
	tick           func(t *testing.T)
	// skip, if set, is why the scenario cannot run here.
	skip string
}

// runE2E runs the end-to-end checks against baseURL, a server (any: a
// deployed stack, the local server, the Lambda functions) started with
// testdata/e2e.yaml and nothing else done to it: the upstream-client
// suite (runCompat), then the maintenance scenario: a lease that stops
// heart-beating is reset to dirty by the reaper while a heart-beating one
// is kept, and the old holder's release then fails with 401.
func runE2E(t *testing.T, baseURL string, r reaping, as login) {
	t.Run("upstream client", func(t *testing.T) { runCompat(t, baseURL, as) })
	t.Run("stale lease reaped", func(t *testing.T) {
		if r.skip != "" {
			t.Skip(r.skip)
		}
		suiteMu.Lock()
		saved := client.SleepFunc
		client.SleepFunc = func(time.Duration) {}
		defer func() { client.SleepFunc = saved; suiteMu.Unlock() }()
		dead, err := client.NewClient("e2e-dead", baseURL, as.username, as.passwordFile)
		require.NoError(t, err)
		alive, err := client.NewClient("e2e-alive", baseURL, as.username, as.passwordFile)
		require.NoError(t, err)
		gone, err := dead.Acquire(e2eReapType, common.Free, common.Busy)
		require.NoError(t, err)
		kept, err := alive.Acquire(e2eReapType, common.Free, common.Busy)
		require.NoError(t, err)
		within := r.expire + 2*r.period + 30*time.Second
		poll(t, "the stale lease reaped", within, func() (bool, string) {
			if r.tick != nil {
				r.tick(t)
			}
			if err := alive.UpdateOne(kept.Name, common.Busy, nil); err != nil {
				return false, "heartbeat: " + err.Error()
			}
			m, err := alive.Metric(e2eReapType)
			if err != nil {
				return false, err.Error()
			}
			return m.Current[common.Dirty] == 1, fmt.Sprintf("%+v", m)
		})
		m, err := alive.Metric(e2eReapType)
		require.NoError(t, err)
		assert.Equal(t, 1, m.Owners["e2e-alive"], "the heart-beating lease is kept")
		err = dead.ReleaseOne(gone.Name, common.Free)
		require.Error(t, err, "the old holder's release")
		assert.Contains(t, err.Error(), "401")
		require.NoError(t, alive.ReleaseOne(kept.Name, common.Free))
	})
}

// durationEnv reads a duration variable, def when unset.
func durationEnv(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	require.NoError(t, err, "%s=%q", name, v)
	return d
}

// TestE2EConfig: the e2e resources file is valid and holds the suite's
// types (CompatConfig) and the reaping scenario's.
func TestE2EConfig(t *testing.T) {
	raw, err := os.ReadFile(e2eConfigPath)
	require.NoError(t, err)
	cfg, err := boskos.ParseConfig(raw)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	assert.Contains(t, string(raw), strings.TrimPrefix(CompatConfig, "resources:\n"), "the suite's types, unchanged")
	assert.Contains(t, string(raw), "- type: "+e2eReapType+"\n")
}

// TestE2EDeployed runs runE2E against the deployed stack at
// $BOSKOS_E2E_URL (make e2e URL=...); skipped without it. The stack must
// be fresh, with testdata/e2e.yaml as its config, and without IAM
// authorization; with credentials (basic), $BOSKOS_E2E_USERNAME and
// $BOSKOS_E2E_PASSWORD_FILE name a principal with owners '*'. The reaping part waits the stack's reaper expiry
// ($BOSKOS_E2E_REAPER_EXPIRE, default 30m) plus two schedule periods
// ($BOSKOS_E2E_REAPER_PERIOD, default 1m), and is skipped, saying so, when
// that exceeds $BOSKOS_E2E_MAX_WAIT (default 5m): deploy with a short
// BOSKOS_REAPER_EXPIRE to run it.
func TestE2EDeployed(t *testing.T) {
	url := strings.TrimRight(strings.TrimSpace(os.Getenv(EnvE2EURL)), "/")
	if url == "" {
		t.Skipf("%s is not set: make e2e URL=<the stack's ApiUrl> runs this test", EnvE2EURL)
	}
	r := reaping{
		expire: durationEnv(t, EnvE2EReaperExpire, 30*time.Minute),
		period: durationEnv(t, EnvE2EReaperPeriod, time.Minute),
	}
	if limit := durationEnv(t, EnvE2EMaxWait, 5*time.Minute); r.expire+2*r.period > limit {
		r.skip = fmt.Sprintf("the stack's reaper expiry %s (%s) and two periods of %s exceed %s=%s: "+
			"deploy with a short BOSKOS_REAPER_EXPIRE (e.g. 1m) and set %s to run the reaping scenario",
			r.expire, EnvE2EReaperExpire, r.period, EnvE2EMaxWait, limit, EnvE2EReaperExpire)
	}
	as := login{username: os.Getenv(EnvE2EUsername), passwordFile: os.Getenv(EnvE2EPasswordFile)}
	if (as.username == "") != (as.passwordFile == "") {
		t.Fatalf("set both %s and %s, or neither", EnvE2EUsername, EnvE2EPasswordFile)
	}
	runE2E(t, url, r, as)
}

// localServerExpire is the reaper expiry of the local server under
// e2eLocalServer: longer than the suite holds a lease without heartbeat.
const localServerExpire = 5 * time.Second

// e2eLocalServer runs runE2E against the real `boskos serve` binary bin
// (memory store) with a short reaper expiry and a 100ms period
// (TestCompatServer).
func e2eLocalServer(t *testing.T, bin string) {
	p := startBoskos(t, bin, "--config", e2eConfigPath, "--in_memory", "--gc-period", "100ms",
		"--reaper-expire", localServerExpire.String())
	runE2E(t, p.URL, reaping{expire: localServerExpire, period: 100 * time.Millisecond}, login{})
}

// e2eLocalServerWithCredentials is e2eLocalServer on a server with
// credentials (`boskos serve --credentials`), the suite's clients sending
// those of a principal with owners '*' (as `make e2e USERNAME=...` against
// a stack in auth mode basic).
func e2eLocalServerWithCredentials(t *testing.T, bin string) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.yaml")
	add := exec.Command(bin, "credentials", "add", "e2e", "--owners", "*", "--role", "admin", "--file", creds)
	add.Stdin = strings.NewReader("e2e-s3cret\n")
	out, err := add.CombinedOutput()
	require.NoError(t, err, "boskos credentials add:\n%s", out)
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("e2e-s3cret\n"), 0o600))
	p := startBoskos(t, bin, "--config", e2eConfigPath, "--in_memory", "--gc-period", "100ms",
		"--reaper-expire", localServerExpire.String(), "--credentials", creds)
	runE2E(t, p.URL, reaping{expire: localServerExpire, period: 100 * time.Millisecond}, login{username: "e2e", passwordFile: pw})
}

// e2eLambda runs runE2E against the real bootstraps bins under the fake
// Lambda Runtime API on a DynamoDB Local table (TestCompatLambda): the API
// functions behind the gateway, and the reaper function
// (BOSKOS_REAPER_EXPIRE=1s) invoked with its scheduled event while the
// scenario waits, as EventBridge would (not during the suite, so its
// leases are safe). The reaper's EMF line for the reaped lease is in its
// output.
func e2eLambda(t *testing.T, bins map[string]string) {
	endpoint := dynamotest.Endpoint(t)
	client, table := dynamotest.NewTable(t)
	raw, err := os.ReadFile(e2eConfigPath)
	require.NoError(t, err)
	seedTable(t, client, table, string(raw))
	url := startAPI(t, bins, table, endpoint, map[string]int{"acquire": 2, "release": 2})

	reaper, err := lambdarun.StartFunction(lambdaapp.JobReaper, bins[lambdaapp.JobReaper], lambdarun.Options{
		Env: []string{"BOSKOS_TABLE=" + table, "AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
			"BOSKOS_REAPER_EXPIRE=1s", "BOSKOS_LOG_LEVEL=warn"},
		Timeout: 30 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, reaper.Stop())
		if t.Failed() {
			t.Logf("logs of the reaper:\n%s", reaper.Logs())
		}
	})
	ev, err := os.ReadFile(filepath.Join("..", "..", "events", lambdaapp.JobReaper, "scheduled.json"))
	require.NoError(t, err)
	tick := func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := reaper.Invoke(ctx, ev)
		require.NoError(t, err, "reaper pass")
	}
	runE2E(t, url, reaping{expire: time.Second, period: 100 * time.Millisecond, tick: tick}, login{})
	assert.Contains(t, reaper.Logs(), `"Reaped":1,`, "the reaper's EMF line")
	assert.Contains(t, reaper.Logs(), `"function":"reaper"`)
}
