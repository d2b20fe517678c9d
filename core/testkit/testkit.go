// Package testkit holds what the project's tests share: a settable clock
// that starts in the future, a goroutine-safe buffer for logs, a silent
// logger, and the list of store backends every job and use case is tested
// on (memory, memory with injected conflicts, bbolt, DynamoDB Local). It is
// imported by tests only.
package testkit

import (
	"bytes"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

// T0 is where test clocks start. It lies in the future on purpose:
// DynamoDB Local's Time to Live sweeper deletes, by the wall clock, items
// whose ttl attribute has passed, so a clock in the past would see its
// request-queue entries vanish at random (a CI flake, once).
var T0 = time.Date(2100, 1, 2, 15, 4, 5, 0, time.UTC)

// Clock is an injected clock that moves only when told; safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at T0.
func NewClock() *Clock { return &Clock{now: T0} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (loggers,
// process output).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Quiet returns a logger that discards everything.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Backend opens a fresh, empty store of one kind for a test; it is closed
// when the test ends.
type Backend struct {
	Name string
	Open func(tb testing.TB) store.Store
	// OpenHooked opens the same kind of store with a write hook (the
	// embedded stores' history feed, store.WriteHook); nil for DynamoDB,
	// whose change feed is its stream.
	OpenHooked func(tb testing.TB, hook store.WriteHook) store.Store
}

// Backends are the stores every job and use case runs on: memstore;
// memstore behind a faultstore that fails the first write of every key (so
// each test also walks the retry paths); boltstore in a temporary file; and
// dynamostore on a fresh DynamoDB Local table (a test binary that uses it
// calls dynamotest.Main from its TestMain).
var Backends = []Backend{
	{"memstore", func(testing.TB) store.Store { return memstore.New() }, func(_ testing.TB, h store.WriteHook) store.Store {
		return memstore.NewWithOptions(memstore.Options{OnWrite: h})
	}},
	{"faults", func(testing.TB) store.Store { return faultstore.New(memstore.New(), faultstore.FirstWriteConflict()) }, func(_ testing.TB, h store.WriteHook) store.Store {
		return faultstore.New(memstore.NewWithOptions(memstore.Options{OnWrite: h}), faultstore.FirstWriteConflict())
	}},
	{"boltstore", func(tb testing.TB) store.Store { return OpenBolt(tb, filepath.Join(tb.TempDir(), "boskos.db"), nil) },
		func(tb testing.TB, h store.WriteHook) store.Store {
			return OpenBolt(tb, filepath.Join(tb.TempDir(), "boskos.db"), h)
		}},
	{"dynamostore", func(tb testing.TB) store.Store { return dynamotest.NewStore(tb, dynamostore.Options{}) }, nil},
}

// OpenBolt opens the bbolt file at path with hook (nil: none), closed when
// the test ends (closing it earlier is fine).
func OpenBolt(tb testing.TB, path string, hook store.WriteHook) *boltstore.Store {
	s, err := boltstore.Open(path, boltstore.Options{OnWrite: hook})
	if err != nil {
		tb.Fatalf("testkit: open bolt: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Imports parses the Go files of the current directory (a test's package)
// that match pattern, leaving out tests, and returns each file's import
// paths. It fails the test when none matches: an imports rule that checks
// nothing must not pass.
func Imports(tb testing.TB, pattern string) map[string][]string {
	tb.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		tb.Fatalf("testkit: imports: %v", err)
	}
	out := map[string][]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			tb.Fatalf("testkit: imports: %v", err)
		}
		paths := []string{}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				tb.Fatalf("testkit: imports of %s: %v", name, err)
			}
			paths = append(paths, p)
		}
		out[name] = paths
	}
	if len(out) == 0 {
		tb.Fatalf("testkit: imports: no source files match %s", pattern)
	}
	return out
}
