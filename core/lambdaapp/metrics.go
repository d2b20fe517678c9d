package lambdaapp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
	"github.com/boskos-serverless/boskos/core/store"
)

// EnvFunctionName is the variable in which Lambda gives a function its
// deployed name: the metrics' function dimension (emf.DimFunction).
const EnvFunctionName = "AWS_LAMBDA_FUNCTION_NAME"

// functionName returns the deployed name of the function (EnvFunctionName),
// or name outside Lambda.
func functionName(name string, lookup func(string) (string, bool)) string {
	if v, ok := lookup(EnvFunctionName); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return name
}

// emitter returns the EMF emitter of c: lines on c.MetricsOut (default
// stdout, which Lambda sends to CloudWatch Logs), with c.Function (default
// "boskos") as the function dimension.
func (c Config) emitter() *emf.Emitter {
	var w io.Writer = os.Stdout
	if c.MetricsOut != nil {
		w = c.MetricsOut
	}
	fn := c.Function
	if fn == "" {
		fn = "boskos"
	}
	return emf.New(w, emf.Options{Function: fn, Now: c.Now})
}

// conflicts counts the failed conditional writes of the store it wraps
// (a condition or version that did not hold, a create of a key that
// exists: each a lease race lost or a retry) until the next flush. A Lambda
// execution environment serves one invocation at a time, so flushing after
// each invocation attributes the count to it.
type conflicts struct {
	n  atomic.Int64
	em *emf.Emitter
}

// flush emits the count since the last flush (nothing when 0).
func (c *conflicts) flush() { c.em.OnConflicts(int(c.n.Swap(0))) }

// wrap returns st counting its failed conditional writes into c.
func (c *conflicts) wrap(st store.Store) store.Store { return &countingStore{Store: st, c: c} }

// countingStore counts failed conditional writes; reads pass through.
type countingStore struct {
	store.Store
	c *conflicts
}

func (s *countingStore) count(err error) error {
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		s.c.n.Add(1)
	}
	return err
}

func (s *countingStore) Create(ctx context.Context, it store.Item) (store.Item, error) {
	out, err := s.Store.Create(ctx, it)
	return out, s.count(err)
}

func (s *countingStore) Update(ctx context.Context, u store.Update) (store.Item, error) {
	out, err := s.Store.Update(ctx, u)
	return out, s.count(err)
}

func (s *countingStore) Delete(ctx context.Context, key string, conds ...store.Cond) error {
	return s.count(s.Store.Delete(ctx, key, conds...))
}

func (s *countingStore) Transact(ctx context.Context, ops []store.Op) error {
	return s.count(s.Store.Transact(ctx, ops))
}

// flushing returns h flushing c after every request.
func flushing(h http.Handler, c *conflicts) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer c.flush()
		h.ServeHTTP(w, r)
	})
}

// meteredJob flushes the conflicts of each pass of its job.
type meteredJob struct {
	maintenance.Job
	c *conflicts
}

func (j meteredJob) RunOnce(ctx context.Context) (any, error) {
	defer j.c.flush()
	return j.Job.RunOnce(ctx)
}

// janitorResult records a janitor cleanup: cleaned, or failed (a failure
// that quarantined the resource included), as the local server's
// boskos_janitor_* counters do.
func janitorResult(em *emf.Emitter) func(janitor.Result) {
	return func(r janitor.Result) {
		switch r.Status {
		case janitor.StatusCleaned:
			em.OnCleanup(r.Type, true)
		case janitor.StatusFailed, janitor.StatusQuarantined:
			em.OnCleanup(r.Type, false)
		}
	}
}
