package compat

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/boskos/client"
)

const quotaConfig = `resources:
- type: quota-t
  state: free
  names: [q-1, q-2, q-3]
quotas:
- {owner: ci, type: quota-t, max: 1}
`

// TestUpstreamClientOverQuota: the upstream Go client over its owner's
// quota gets the 429 (which it retries 4 times, as any status it does not
// know) and gives up cleanly: Acquire and AcquireWait return an error at
// once without holding anything more, and after a release it acquires
// again.
func TestUpstreamClientOverQuota(t *testing.T) {
	bin := buildBoskos(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(quotaConfig), 0o644))
	p := startBoskos(t, bin, "--config", cfg, "--in_memory", "--log-level", "debug")
	suiteMu.Lock()
	defer suiteMu.Unlock()
	saved := client.SleepFunc
	client.SleepFunc = func(time.Duration) {} // the client retries refusals 4 times
	defer func() { client.SleepFunc = saved }()

	c, err := client.NewClient("ci", p.URL, "", "")
	require.NoError(t, err)
	held, err := c.Acquire("quota-t", "free", "busy")
	require.NoError(t, err)

	refusals := func() int { return strings.Count(p.logs(), "path=/acquire status=429") }
	_, err = c.Acquire("quota-t", "free", "busy")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "status 429 Too Many Requests, status code 429")
	assert.NotErrorIs(t, err, client.ErrNotFound, "not a 404: AcquireWait must not wait on it")
	require.Eventually(t, func() bool { return refusals() == 4 }, 10*time.Second, 10*time.Millisecond, "4 attempts")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err = c.AcquireWait(ctx, "quota-t", "free", "busy")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "status code 429")
	assert.Less(t, time.Since(start), 30*time.Second, "gave up after its retries, not at the context's end")

	m, err := c.Metric("quota-t")
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"ci": 1, "": 2}, m.Owners, "nothing more is held")
	require.NoError(t, c.ReleaseOne(held.Name, "free"))
	_, err = c.Acquire("quota-t", "free", "busy")
	require.NoError(t, err, "room again after the release")
}
