package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of RefreshOptions.
const (
	// DefaultRefreshTTL is how long credentials read from a remote source
	// (AWS Secrets Manager) are used before the next
	// request reads them again.
	DefaultRefreshTTL = 60 * time.Second
	// DefaultRefreshTimeout bounds one read, the SDK's retries included.
	DefaultRefreshTimeout = 3 * time.Second
)

// Fetch reads the credentials document (the YAML of a credentials file)
// from its source. Its errors are the source's, translated by its adapter.
type Fetch func(ctx context.Context) ([]byte, error)

// RefreshOptions tune a Refresher. The zero value of each field means its
// default.
type RefreshOptions struct {
	// Source names the source in logs and errors ("secret arn:...").
	Source string
	// TTL is how long a read is used before a request reads again
	// (default DefaultRefreshTTL). A failed read waits a TTL as well.
	TTL time.Duration
	// Timeout bounds one read (default DefaultRefreshTimeout).
	Timeout time.Duration
	// Now is the clock of the TTL (default time.Now).
	Now func() time.Time
	// Logger receives reloads and failures (default slog.Default()); never
	// the document.
	Logger *slog.Logger
	// OnRefresh, if set, is called after each re-read (not after Load):
	// nil when the credentials in force are the source's (changed or not),
	// else why the previous ones were kept (a metric, tests).
	OnRefresh func(error)
}

// Refresher keeps a Holder filled from a remote source: Load reads it once
// (a cold start), and afterwards a request that finds the last read older
// than the TTL reads it again (Refresh, or the Wrap middleware). One read
// runs at a time: requests that find one running do not wait for it, they
// go on with the credentials in force. A read that fails, or a document
// that does not parse or validate, is logged and the credentials in force
// are kept; an unchanged document is not stored again, so the Guard's
// cache of verified headers survives it. It is safe for concurrent use.
type Refresher struct {
	holder *Holder
	fetch  Fetch
	o      RefreshOptions
	log    *slog.Logger

	running atomic.Bool  // a read is in flight
	reads   atomic.Int64 // reads done (tests)

	mu      sync.Mutex
	expires time.Time         // when the next request reads again
	last    [sha256.Size]byte // the document in force
}

// NewRefresher returns a refresher of h from fetch. It reads nothing
// before Load.
func NewRefresher(h *Holder, fetch Fetch, o RefreshOptions) *Refresher {
	if o.TTL <= 0 {
		o.TTL = DefaultRefreshTTL
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultRefreshTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Refresher{holder: h, fetch: fetch, o: o, log: o.Logger}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

// Load reads the source and puts its credentials in force; the first read
// of a process. An error (the source could not be read, or the document is
// not a valid credentials file) leaves the holder as it was: with no
// credentials in force the Guard would let every request through, so a
// caller must not serve after a failed Load.
func (r *Refresher) Load(ctx context.Context) error {
	data, err := r.read(ctx)
	r.mu.Lock()
	r.expires = r.o.Now().Add(r.o.TTL)
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("read credentials from %s: %w", r.o.Source, err)
	}
	c, err := Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", r.o.Source, err)
	}
	r.mu.Lock()
	r.last = sha256.Sum256(data)
	r.mu.Unlock()
	r.holder.Store(c)
	return nil
}

// Refresh reads the source again when the TTL since the last read has
// passed and no other read is running, and returns at once otherwise. It
// runs the read itself (the caller waits for it, at most Timeout): in
// Lambda, where an execution environment is frozen between invocations, a
// read left running in the background could not finish.
func (r *Refresher) Refresh(ctx context.Context) {
	if !r.due() || !r.running.CompareAndSwap(false, true) {
		return
	}
	defer r.running.Store(false)
	if !r.due() { // another read finished in between
		return
	}
	data, err := r.read(ctx)
	r.mu.Lock()
	r.expires = r.o.Now().Add(r.o.TTL)
	r.mu.Unlock()
	if err == nil {
		err = r.apply(data)
	} else {
		err = fmt.Errorf("read credentials from %s: %w", r.o.Source, err)
	}
	if err != nil {
		r.log.Error("credentials refresh: keeping the current credentials", "source", r.o.Source, "err", err)
	}
	if r.o.OnRefresh != nil {
		r.o.OnRefresh(err)
	}
}

// Wrap returns next with Refresh run before each request, so the guard
// behind it sees the credentials of the last read.
func (r *Refresher) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Refresh(req.Context())
		next.ServeHTTP(w, req)
	})
}

func (r *Refresher) due() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.o.Now().Before(r.expires)
}

// read runs fetch with the timeout, detached from the request's
// cancellation (a client that goes away does not waste the read).
func (r *Refresher) read(ctx context.Context) ([]byte, error) {
	r.reads.Add(1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.Timeout)
	defer cancel()
	data, err := r.fetch(ctx)
	if err == nil && len(data) == 0 {
		err = errors.New("empty document")
	}
	return data, err
}

// apply puts data in force unless it is the document in force already.
func (r *Refresher) apply(data []byte) error {
	sum := sha256.Sum256(data)
	r.mu.Lock()
	same := sum == r.last
	r.mu.Unlock()
	if same {
		return nil
	}
	c, err := Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", r.o.Source, err)
	}
	r.mu.Lock()
	r.last = sum
	r.mu.Unlock()
	r.holder.Store(c)
	r.log.Info("credentials reloaded", "source", r.o.Source, "principals", len(c.file.Principals))
	return nil
}
