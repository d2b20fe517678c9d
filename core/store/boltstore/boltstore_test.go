package boltstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/storetest"
)

func open(t testing.TB, path string, opts boltstore.Options) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "boskos.db"), boltstore.Options{NoSync: true})
	})
}

func TestWriteHook(t *testing.T) {
	storetest.RunWriteHook(t, func(t *testing.T, hook store.WriteHook) store.Store {
		return open(t, filepath.Join(t.TempDir(), "boskos.db"), boltstore.Options{NoSync: true, OnWrite: hook})
	})
}

// TestConformanceSynced runs the suite with fsync on, as in production, so
// the batched write path is the one under test.
func TestConformanceSynced(t *testing.T) {
	if testing.Short() {
		t.Skip("fsync-heavy; skipped with -short")
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "boskos.db"), boltstore.Options{})
	})
}

func TestDurability(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "boskos.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	require.NoError(t, err)
	var want []store.Item
	for i := range 5 {
		it, err := s.Create(ctx, store.Item{Key: fmt.Sprintf("r/%d", i),
			Str: map[string]string{store.IndexPartition: "free", store.IndexSort: fmt.Sprintf("t%d", 9-i), "name": "ü"},
			Num: map[string]int64{"n": int64(-i)}, Map: map[string]map[string]string{"ud": {"a.b": "c"}}})
		require.NoError(t, err)
		want = append(want, it)
	}
	want[2], err = s.Update(ctx, store.Update{Key: "r/2", Set: map[string]string{store.IndexPartition: "busy"}})
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, "r/4"))
	require.NoError(t, s.Transact(ctx, []store.Op{{Create: &store.Item{Key: "r/5", Str: map[string]string{"x": "y"}}}}))
	require.NoError(t, s.Close())

	s = open(t, path, boltstore.Options{})
	page, err := s.List(ctx, "r/", "", 0)
	require.NoError(t, err)
	require.Len(t, page.Items, 5)
	for i, k := range []int{0, 1, 2, 3} {
		require.Equal(t, want[k], page.Items[i])
	}
	require.Equal(t, "r/5", page.Items[4].Key)
	free, err := s.Query(ctx, store.Query{Partition: "free"})
	require.NoError(t, err)
	require.Equal(t, []store.Item{want[3], want[1], want[0]}, free.Items)
	busy, err := s.Query(ctx, store.Query{Partition: "busy"})
	require.NoError(t, err)
	require.Equal(t, []store.Item{want[2]}, busy.Items)
	// Writes continue from the stored versions.
	it, err := s.Update(ctx, store.Update{Key: "r/2", Cond: []store.Cond{store.VersionIs(2)}})
	require.NoError(t, err)
	require.Equal(t, int64(3), it.Version)
}

func TestOpenLockedInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "boskos.db")
	open(t, path, boltstore.Options{})
	_, err := boltstore.Open(path, boltstore.Options{OpenTimeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, boltstore.ErrLocked)
	require.Contains(t, err.Error(), path)
	require.Contains(t, err.Error(), "in use by another process")
}

// TestOpenLockedByOtherProcess opens the file here, then runs this test
// binary again as a second process that tries to open it too.
func TestOpenLockedByOtherProcess(t *testing.T) {
	if path := os.Getenv("BOLTSTORE_TEST_OPEN"); path != "" {
		_, err := boltstore.Open(path, boltstore.Options{OpenTimeout: 100 * time.Millisecond})
		fmt.Printf("open error: %v\n", err)
		return
	}
	path := filepath.Join(t.TempDir(), "boskos.db")
	s := open(t, path, boltstore.Options{})
	run := func() string {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestOpenLockedByOtherProcess$", "-test.v")
		cmd.Env = append(os.Environ(), "BOLTSTORE_TEST_OPEN="+path)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	require.Contains(t, run(), "open error: boltstore: open "+path+": gave up after 100ms: database file is in use by another process")
	require.NoError(t, s.Close())
	require.Contains(t, run(), "open error: <nil>")
}

func TestOpenRejectsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	require.NoError(t, os.WriteFile(garbage, []byte("this is not a bbolt file, not at all, no, it is much too short"), 0o600))
	_, err := boltstore.Open(garbage, boltstore.Options{})
	require.Error(t, err)
	_, err = boltstore.Open(filepath.Join(dir, "missing-dir", "x.db"), boltstore.Options{})
	require.Error(t, err)
}

func TestClosedStoreFails(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "boskos.db"), boltstore.Options{NoSync: true})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.Get(context.Background(), "a/b")
	require.Error(t, err)
	_, err = s.Create(context.Background(), store.Item{Key: "a/b"})
	require.Error(t, err)
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "boskos.db"), boltstore.Options{NoSync: true})
	_, err := s.Create(ctx, store.Item{Key: "p/a", Str: map[string]string{store.IndexPartition: "p", store.IndexSort: "a"}})
	require.NoError(t, err)
	for _, cursor := range []string{"!!!", "AAAA", "cA"} {
		_, err = s.Query(ctx, store.Query{Partition: "p", Cursor: cursor})
		require.Error(t, err, "cursor %q", cursor)
	}
	_, err = s.List(ctx, "p/", "q/x", 0)
	require.Error(t, err)
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Get(ctx2, "p/a")
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.BatchGet(ctx, make([]string, store.MaxTransactItems+1))
	require.Error(t, err)
}

// TestIndexKeysWithZeroBytes checks that the escaping keeps (partition,
// sort, key) order and separation when values contain 0x00 and 0x01.
func TestIndexKeysWithZeroBytes(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "boskos.db"), boltstore.Options{NoSync: true})
	entries := []struct{ key, part, sort string }{
		{"k/1", "p", "a"},
		{"k/2", "p", "a\x00"},
		{"k/3", "p", "a\x00b"},
		{"k/4", "p", "a\x01"},
		{"k/5", "p", "ab"},
		{"k/6", "p\x00", "a"},
		{"k/7", "p\x01", "a"},
		{"k/8\x00", "p", "a"},
	}
	for _, e := range entries {
		_, err := s.Create(ctx, store.Item{Key: e.key, Str: map[string]string{store.IndexPartition: e.part, store.IndexSort: e.sort}})
		require.NoError(t, err)
	}
	keys := func(q store.Query) []string {
		var out []string
		for {
			page, err := s.Query(ctx, q)
			require.NoError(t, err)
			for _, it := range page.Items {
				out = append(out, it.Key)
			}
			if page.Next == "" {
				return out
			}
			q.Cursor = page.Next
		}
	}
	want := []string{"k/1", "k/8\x00", "k/2", "k/3", "k/4", "k/5"}
	require.Equal(t, want, keys(store.Query{Partition: "p"}))
	require.Equal(t, want, keys(store.Query{Partition: "p", Limit: 1}))
	require.Equal(t, []string{"k/2", "k/3"}, keys(store.Query{Partition: "p", From: "a\x00", To: "a\x00b"}))
	require.Equal(t, []string{"k/6"}, keys(store.Query{Partition: "p\x00"}))
	require.Equal(t, []string{"k/7"}, keys(store.Query{Partition: "p\x01"}))
}

// BenchmarkUpdate measures single Update throughput with fsync on, with
// 1 and 16 goroutines, each updating its own key.
func BenchmarkUpdate(b *testing.B) {
	for _, sync := range []bool{true, false} {
		for _, workers := range []int{1, 16} {
			b.Run(fmt.Sprintf("sync=%v/goroutines=%d", sync, workers), func(b *testing.B) {
				benchUpdate(b, workers, !sync)
			})
		}
	}
}

func benchUpdate(b *testing.B, workers int, noSync bool) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "boskos.db"), boltstore.Options{NoSync: noSync})
	for w := range workers {
		_, err := s.Create(ctx, store.Item{Key: fmt.Sprintf("b/%02d", w),
			Str: map[string]string{store.IndexPartition: "p", store.IndexSort: "0", "state": "free"}})
		require.NoError(b, err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("b/%02d", w)
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				_, err := s.Update(ctx, store.Update{Key: key, Cond: []store.Cond{store.Eq("state", "free")},
					Set: map[string]string{store.IndexSort: fmt.Sprintf("%012d", i)}})
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}
