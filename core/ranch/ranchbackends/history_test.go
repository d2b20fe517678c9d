package ranchbackends_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/streams"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// historyEnv is a store of one backend with its history feed.
type historyEnv struct {
	st store.Store
	// flush makes every transition so far visible in the history: nothing
	// to do with a hook; on DynamoDB, one pass of the stream reader into
	// WriteHistory.
	flush func(t *testing.T)
	// feed, on DynamoDB, returns a fresh stream reader on the checkpoint
	// store cps whose handler fails the batches fail says (nil: none).
	feed func(cps store.Store, fail func(batch int) bool) *streams.Reader
	// reopen, on boltstore, closes the file and opens it again (a crash
	// and restart of the process that holds it).
	reopen func(t *testing.T) store.Store
}

func openHistory(t *testing.T, b testkit.Backend, c *clock) historyEnv {
	t.Helper()
	hook := ranch.HistoryHook(ranch.HistoryOptions{Now: c.Now})
	switch {
	case b.Name == "boltstore":
		path := filepath.Join(t.TempDir(), "boskos.db")
		s := testkit.OpenBolt(t, path, hook)
		env := historyEnv{st: s, flush: func(*testing.T) {}}
		env.reopen = func(t *testing.T) store.Store {
			require.NoError(t, s.Close())
			s = testkit.OpenBolt(t, path, hook)
			return s
		}
		return env
	case b.OpenHooked != nil:
		return historyEnv{st: b.OpenHooked(t, hook), flush: func(*testing.T) {}}
	}
	client, table := dynamotest.NewTable(t)
	st := dynamostore.New(client, table, dynamostore.Options{})
	sc, err := streams.NewClientFromConfig(aws.Config{}, dynamostore.ClientConfig{
		Region: dynamotest.Region, Endpoint: dynamotest.Endpoint(t),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}), error(nil)
	require.NoError(t, err)
	env := historyEnv{st: st}
	env.feed = func(cps store.Store, fail func(int) bool) *streams.Reader {
		var batches atomic.Int64
		h := func(ctx context.Context, ch []store.Change) error {
			if fail != nil && fail(int(batches.Add(1))) {
				return errors.New("history writer killed")
			}
			// The stream dates changes by the wall clock; the test's
			// clock runs in 2100 (see testkit.T0).
			for i := range ch {
				ch[i].At = c.Now()
			}
			_, err := ranch.WriteHistory(ctx, st, ch, ranch.HistoryOptions{Now: c.Now})
			return err
		}
		return streams.New(sc, client, table, h, streams.Options{Checkpoints: cps, BatchSize: 25})
	}
	cps := memstore.New()
	env.flush = func(t *testing.T) {
		_, err := env.feed(cps, nil).Pass(t.Context())
		require.NoError(t, err)
	}
	return env
}

// allHistory reads the whole history of name through pages of limit.
func allHistory(t *testing.T, r *ranch.Ranch, name string, limit int) []boskos.HistoryRecord {
	t.Helper()
	var out []boskos.HistoryRecord
	cursor := ""
	for {
		p, err := r.ResourceHistory(t.Context(), name, limit, cursor)
		require.NoError(t, err)
		out = append(out, p.Items...)
		if p.Cursor == "" {
			return out
		}
		cursor = p.Cursor
	}
}

// transition is one lease step a worker made.
type transition struct {
	name, owner, event string
	epoch              int64
}

// TestHistoryConcurrent is the quality bar: 10 workers make 200 lease
// transitions (100 acquires, 100 releases, heartbeats between) on 10
// resources at once; each resource's history holds exactly its
// transitions, in order, on every backend: on DynamoDB through the change
// stream, with the writer killed after two batches and restarted, and the
// whole stream delivered a second time (at least once, deduplicated).
func TestHistoryConcurrent(t *testing.T) {
	for _, b := range testkit.Backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			c := testkit.NewClock()
			env := openHistory(t, b, c)
			r := ranch.New(env.st, ranch.Options{Now: c.Now, Logger: testkit.Quiet()})
			names := make([]string, 10)
			for i := range names {
				names[i] = fmt.Sprintf("h-%d", i)
			}
			require.NoError(t, r.SyncConfig(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "h", Names: names}}}))

			var mu sync.Mutex
			var done []transition
			var wg sync.WaitGroup
			for w := range 10 {
				wg.Go(func() {
					owner := fmt.Sprintf("w%d", w)
					for range 10 {
						var res boskos.Resource
						for {
							var err error
							res, err = r.Acquire(ctx, "h", boskos.Free, boskos.Busy, owner, "")
							if err == nil {
								break
							}
							if boskos.ErrorCode(err) != boskos.ENotFound {
								t.Errorf("acquire: %v", err)
								return
							}
						}
						if err := r.Update(ctx, res.Name, owner, boskos.Busy, nil, &res.Epoch); err != nil {
							t.Errorf("heartbeat: %v", err)
						}
						if err := r.Release(ctx, res.Name, boskos.Free, owner, &res.Epoch); err != nil {
							t.Errorf("release: %v", err)
						}
						mu.Lock()
						done = append(done,
							transition{res.Name, owner, boskos.EventAcquire, res.Epoch},
							transition{res.Name, owner, boskos.EventRelease, res.Epoch})
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			require.Len(t, done, 200)

			switch {
			case env.feed != nil:
				cps := memstore.New()
				_, err := env.feed(cps, func(batch int) bool { return batch == 3 }).Pass(ctx)
				require.Error(t, err, "the writer dies at its third batch")
				_, err = env.feed(cps, nil).Pass(ctx)
				require.NoError(t, err, "restarted, it resumes after its checkpoint")
				_, err = env.feed(memstore.New(), nil).Pass(ctx)
				require.NoError(t, err, "every record delivered again")
			case env.reopen != nil:
				r = ranch.New(env.reopen(t), ranch.Options{Now: c.Now, Logger: testkit.Quiet()})
			}

			total := 0
			for _, n := range names {
				var want []transition
				for _, tr := range done {
					if tr.name == n {
						want = append(want, tr)
					}
				}
				sort.SliceStable(want, func(i, j int) bool { return want[i].epoch < want[j].epoch })
				recs := allHistory(t, r, n, 7)
				require.NotEmpty(t, recs)
				slices.Reverse(recs) // oldest first
				assert.Equal(t, boskos.EventCreate, recs[0].Event, "%s: first the creation", n)
				var got []transition
				versions := map[int64]bool{}
				for _, rec := range recs[1:] {
					assert.False(t, versions[rec.Version], "%s: version %d recorded twice", n, rec.Version)
					versions[rec.Version] = true
					owner := rec.Owner
					if rec.Event == boskos.EventRelease {
						owner = rec.PrevOwner
					}
					got = append(got, transition{rec.Name, owner, rec.Event, rec.Epoch})
				}
				assert.Equal(t, want, got, "%s: its transitions, in order", n)
				total += len(got)
			}
			assert.Equal(t, 200, total)
		})
	}
}

// TestHistoryEvents walks the use cases that change a resource, one after
// the other, and checks the records each leaves (fields, time, versions),
// then the time-range reads and the usage computed from them, on every
// backend.
func TestHistoryEvents(t *testing.T) {
	for _, b := range testkit.Backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			c := testkit.NewClock()
			env := openHistory(t, b, c)
			r := ranch.New(env.st, ranch.Options{Now: c.Now, Logger: testkit.Quiet(), DRLCCacheTTL: -1})
			cost := 2.0
			sync := func(t *testing.T, names ...string) {
				_, err := r.Sync(ctx, &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "e", Names: names, CostPerHour: &cost}}}, ranch.Origin{})
				require.NoError(t, err)
			}
			t0 := c.Now()
			at := func(d time.Duration) time.Time { return t0.Add(d) }
			sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
			var epoch int64
			steps := []struct {
				name string
				do   func(t *testing.T)
				want []boskos.HistoryRecord // newest first; Name and Type are e-1 and e
			}{
				{"create", func(t *testing.T) { sync(t, "e-1") },
					[]boskos.HistoryRecord{{Time: at(0), Event: boskos.EventCreate, ToState: boskos.Free}}},
				{"acquire", func(t *testing.T) {
					c.Add(sec(1))
					res, err := r.Acquire(ctx, "e", boskos.Free, boskos.Busy, "x", "")
					require.NoError(t, err)
					epoch = res.Epoch
				}, []boskos.HistoryRecord{{Time: at(sec(1)), Event: boskos.EventAcquire, FromState: boskos.Free, ToState: boskos.Busy, Owner: "x", Epoch: 1}}},
				{"a request waits; a release", func(t *testing.T) {
					c.Add(sec(10))
					_, err := r.Acquire(ctx, "e", boskos.Free, boskos.Busy, "o", "rid-1")
					require.Equal(t, boskos.ENotFound, boskos.ErrorCode(err), "queued: %v", err)
					c.Add(sec(20))
					require.NoError(t, r.Release(ctx, "e-1", boskos.Free, "x", &epoch))
				}, []boskos.HistoryRecord{{Time: at(sec(31)), Event: boskos.EventRelease, FromState: boskos.Busy, ToState: boskos.Free, PrevOwner: "x", Epoch: 1, HeldSeconds: 30}}},
				{"the waiting request's acquire", func(t *testing.T) {
					c.Add(sec(5))
					res, err := r.Acquire(ctx, "e", boskos.Free, boskos.Busy, "o", "rid-1")
					require.NoError(t, err)
					epoch = res.Epoch
				}, []boskos.HistoryRecord{{Time: at(sec(36)), Event: boskos.EventAcquire, FromState: boskos.Free, ToState: boskos.Busy, Owner: "o", Epoch: 2, RequestID: "rid-1", WaitedSeconds: 25}}},
				{"heartbeat: no record", func(t *testing.T) {
					c.Add(sec(1))
					require.NoError(t, r.Update(ctx, "e-1", "o", boskos.Busy, nil, &epoch))
				}, nil},
				{"userdata", func(t *testing.T) {
					c.Add(sec(1))
					require.NoError(t, r.Update(ctx, "e-1", "o", boskos.Busy, boskos.UserData{"k": "secret"}, &epoch))
				}, []boskos.HistoryRecord{{Time: at(sec(38)), Event: boskos.EventUpdate, FromState: boskos.Busy, ToState: boskos.Busy, Owner: "o", PrevOwner: "o", Epoch: 2, Keys: []string{"k"}}}},
				{"reset", func(t *testing.T) {
					c.Add(time.Hour)
					got, err := r.Reset(ctx, "e", boskos.Busy, 30*time.Minute, boskos.Dirty)
					require.NoError(t, err)
					require.Equal(t, map[string]string{"e-1": "o"}, got)
				}, []boskos.HistoryRecord{{Time: at(sec(3638)), Event: boskos.EventReset, FromState: boskos.Busy, ToState: boskos.Dirty, PrevOwner: "o", Epoch: 2, HeldSeconds: 3602, IdleSeconds: 3600}}},
				{"claim and fail", func(t *testing.T) {
					c.Add(sec(1))
					res, err := r.Acquire(ctx, "e", boskos.Dirty, boskos.Cleaning, "janitor", "")
					require.NoError(t, err)
					c.Add(sec(1))
					require.NoError(t, r.Release(ctx, "e-1", boskos.Dirty, "janitor", &res.Epoch))
				}, []boskos.HistoryRecord{
					{Time: at(sec(3640)), Event: boskos.EventFail, FromState: boskos.Cleaning, ToState: boskos.Dirty, PrevOwner: "janitor", Epoch: 3, HeldSeconds: 1},
					{Time: at(sec(3639)), Event: boskos.EventClaim, FromState: boskos.Dirty, ToState: boskos.Cleaning, Owner: "janitor", Epoch: 3},
				}},
				{"claim, reason, quarantine", func(t *testing.T) {
					c.Add(sec(1))
					res, err := r.Acquire(ctx, "e", boskos.Dirty, boskos.Cleaning, "janitor", "")
					require.NoError(t, err)
					c.Add(sec(1))
					require.NoError(t, r.Update(ctx, "e-1", "janitor", boskos.Cleaning, boskos.UserData{"quarantineReason": "boom"}, &res.Epoch))
					c.Add(sec(1))
					require.NoError(t, r.Release(ctx, "e-1", boskos.Quarantined, "janitor", &res.Epoch))
				}, []boskos.HistoryRecord{
					{Time: at(sec(3643)), Event: boskos.EventQuarantine, FromState: boskos.Cleaning, ToState: boskos.Quarantined, PrevOwner: "janitor", Epoch: 4, HeldSeconds: 2, Reason: "boom"},
					{Time: at(sec(3642)), Event: boskos.EventUpdate, FromState: boskos.Cleaning, ToState: boskos.Cleaning, Owner: "janitor", PrevOwner: "janitor", Epoch: 4, Keys: []string{"quarantineReason"}, Reason: "boom"},
					{Time: at(sec(3641)), Event: boskos.EventClaim, FromState: boskos.Dirty, ToState: boskos.Cleaning, Owner: "janitor", Epoch: 4},
				}},
				{"left the config", func(t *testing.T) {
					c.Add(sec(1))
					sync(t, "e-2")
				}, []boskos.HistoryRecord{{Time: at(sec(3644)), Event: boskos.EventDelete, FromState: boskos.Quarantined, Epoch: 4}}},
			}
			var want []boskos.HistoryRecord // every record of e-1, newest first
			for _, st := range steps {
				t.Run(st.name, func(t *testing.T) {
					st.do(t)
					env.flush(t)
					for i := range st.want {
						st.want[i].Name, st.want[i].Type = "e-1", "e"
					}
					want = append(slices.Clone(st.want), want...)
					got := allHistory(t, r, "e-1", 3)
					require.Len(t, got, len(want))
					for i := range got {
						assert.True(t, want[i].Time.Equal(got[i].Time), "record %d: time %v, want %v", i, got[i].Time, want[i].Time)
						got[i].Time = want[i].Time
						if i > 0 {
							assert.Greater(t, got[i-1].Version, got[i].Version, "versions newest first")
						}
						want[i].Version = got[i].Version
					}
					assert.Equal(t, want, got)
				})
			}

			t.Run("history by type", func(t *testing.T) {
				e2 := allHistory(t, r, "e-2", 10)
				require.Len(t, e2, 1)
				// e-2 was created as e-1 was deleted: ties go by key.
				all := append([]boskos.HistoryRecord{want[0], e2[0]}, want[1:]...)
				tests := []struct {
					name string
					q    boskos.HistoryQuery
					want []boskos.HistoryRecord
				}{
					{"all types of the config", boskos.HistoryQuery{}, all},
					{"one type, small pages", boskos.HistoryQuery{Type: "e", Limit: 2}, all},
					{"unknown type", boskos.HistoryQuery{Type: "nope"}, nil},
					{"owner", boskos.HistoryQuery{Owner: "o", Limit: 1}, []boskos.HistoryRecord{want[6], want[7], want[8]}},
					{"since", boskos.HistoryQuery{Since: at(sec(3641))}, all[:5]},
					{"until", boskos.HistoryQuery{Until: at(sec(31)), Limit: 1}, want[len(want)-3:]},
					{"since and until", boskos.HistoryQuery{Since: at(sec(36)), Until: at(sec(38))}, want[7:9]},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						var got []boskos.HistoryRecord
						q := tc.q
						for pages := 0; ; pages++ {
							require.Less(t, pages, 30)
							p, err := r.History(ctx, q)
							require.NoError(t, err)
							got = append(got, p.Items...)
							if p.Cursor == "" {
								break
							}
							q.Cursor = p.Cursor
						}
						assert.Equal(t, tc.want, got)
					})
				}
			})

			t.Run("usage", func(t *testing.T) {
				h := func(s float64) float64 { return s / 3600 }
				row := func(owner string, leases int, seconds float64) boskos.UsageRow {
					hours := roundMicro(h(seconds))
					c := roundMicro(h(seconds) * cost)
					return boskos.UsageRow{Owner: owner, Type: "e", Leases: leases, ResourceHours: hours, CostPerHour: &cost, Cost: &c}
				}
				tests := []struct {
					name         string
					since, until time.Time
					want         []boskos.UsageRow
				}{
					{"everything", at(0), at(sec(4000)), []boskos.UsageRow{row("janitor", 2, 3), row("o", 1, 3602), row("x", 1, 30)}},
					{"a lease begun before the range", at(sec(11)), at(sec(4000)), []boskos.UsageRow{row("janitor", 2, 3), row("o", 1, 3602), row("x", 1, 20)}},
					{"leases cut at the end", at(0), at(sec(40)), []boskos.UsageRow{row("o", 1, 4), row("x", 1, 30)}},
					{"nothing", at(sec(5000)), at(sec(6000)), []boskos.UsageRow{}},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						got, err := r.Usage(ctx, boskos.UsageQuery{Since: tc.since, Until: tc.until})
						require.NoError(t, err)
						assert.Equal(t, tc.want, got.Items)
						assert.True(t, got.Since.Equal(tc.since) && got.Until.Equal(tc.until))
					})
				}
			})
		})
	}
}

func roundMicro(x float64) float64 { return math.Round(x*1e6) / 1e6 }
