package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/client"
)

// lease is one grant seen by a client: from the acquire's answer to just
// before its release was sent. The server's lease covers at least this span,
// so two overlapping spans for one resource prove a double lease.
type lease struct {
	name   string
	epoch  int64
	owner  string
	tStart time.Time
	tEnd   time.Time
}

// TestContention: 64 clients cycle acquire → heartbeat → release over 8
// resources through HTTP; no resource is ever held by two owners.
func TestContention(t *testing.T) {
	const (
		clients   = 64
		resources = 8
		perClient = 8 // successful cycles each
	)
	names := ""
	for i := range resources {
		names += fmt.Sprintf("  - res-%d\n", i)
	}
	for _, st := range storeSpecs(t) {
		t.Run(st.name, func(t *testing.T) {
			cfg := writeFile(t, t.TempDir(), "config.yaml", "resources:\n- type: pool\n  state: free\n  names:\n"+names)
			srv := startServe(t, "--config", cfg, "--store", st.spec)
			hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()

			var mu sync.Mutex
			var leases []lease
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for i := range clients {
				c, err := client.New(srv.URL, fmt.Sprintf("client-%d", i), client.Options{HTTPClient: hc})
				require.NoError(t, err)
				wg.Go(func() {
					for done := 0; done < perClient; {
						if ctx.Err() != nil {
							errs <- fmt.Errorf("%s: %w", c.Owner(), ctx.Err())
							return
						}
						res, err := c.Acquire(ctx, "pool", "free", "busy", "")
						if isStatus(err, http.StatusNotFound) {
							time.Sleep(time.Millisecond)
							continue
						}
						if err != nil {
							errs <- fmt.Errorf("%s: acquire: %w", c.Owner(), err)
							return
						}
						l := lease{name: res.Name, epoch: res.Epoch, owner: res.Owner, tStart: time.Now()}
						if res.Owner != c.Owner() || res.State != "busy" {
							errs <- fmt.Errorf("%s: acquire returned owner %q state %q", c.Owner(), res.Owner, res.State)
							return
						}
						if err := c.Update(ctx, res.Name, "busy", map[string]string{"holder": c.Owner()}, 0); err != nil {
							errs <- fmt.Errorf("%s: heartbeat %s: %w", c.Owner(), res.Name, err)
							return
						}
						l.tEnd = time.Now()
						if err := c.Release(ctx, res.Name, "free", 0); err != nil {
							errs <- fmt.Errorf("%s: release %s: %w", c.Owner(), res.Name, err)
							return
						}
						mu.Lock()
						leases = append(leases, l)
						mu.Unlock()
						done++
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			require.Len(t, leases, clients*perClient)

			byName := map[string][]lease{}
			for _, l := range leases {
				byName[l.name] = append(byName[l.name], l)
			}
			assert.Len(t, byName, resources, "every resource should have been leased")
			for name, ls := range byName {
				sort.Slice(ls, func(i, j int) bool { return ls[i].tStart.Before(ls[j].tStart) })
				epochs := map[int64]string{}
				for i, l := range ls {
					if prev, dup := epochs[l.epoch]; dup {
						t.Errorf("%s: epoch %d granted twice (to %s and %s)", name, l.epoch, prev, l.owner)
					}
					epochs[l.epoch] = l.owner
					if i == 0 {
						continue
					}
					p := ls[i-1]
					if !p.tEnd.Before(l.tStart) {
						t.Errorf("%s: held by %s [%s, %s] and %s [%s, %s] at once", name,
							p.owner, p.tStart.Format(time.StampMicro), p.tEnd.Format(time.StampMicro),
							l.owner, l.tStart.Format(time.StampMicro), l.tEnd.Format(time.StampMicro))
					}
					if l.epoch <= p.epoch {
						t.Errorf("%s: epoch went from %d to %d", name, p.epoch, l.epoch)
					}
				}
			}

			m, err := mustClient(t, srv.URL, "checker").Metric(ctx, "pool")
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"free": resources}, m.Current)
			assert.Equal(t, map[string]int{"": resources}, m.Owners)
		})
	}
}

func mustClient(t *testing.T, url, owner string) *client.Client {
	t.Helper()
	c, err := client.New(url, owner, client.Options{})
	require.NoError(t, err)
	return c
}
