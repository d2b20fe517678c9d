package ranch

import (
	"context"
	"errors"
)

// ErrGaveUp is wrapped by the error of an operation whose conflict retries
// ran out (Options.MaxRetries): the store kept refusing its conditional
// writes because other writers changed the items first. It is a 500.
var ErrGaveUp = errors.New("still conflicting")

// step is one attempt of a conditional write; attempt counts from 0, and
// the last one retry makes is Options.MaxRetries. It returns done when the
// operation is over (err is then its result, nil for success) and !done to
// be called again after a conflict it has already looked into (typically: it
// re-read the item and the write still makes sense); err is ignored then.
type step func(attempt int) (done bool, err error)

// retry is the one loop of the package for "retry a conditional write on
// conflict": it calls try until it is done, at most Options.MaxRetries + 1
// times, and then fails with ErrGaveUp, naming op and subject. A canceled
// context ends it with the context's error.
func (r *Ranch) retry(ctx context.Context, op, subject string, try step) error {
	for attempt := 0; attempt <= r.opts.MaxRetries; attempt++ {
		if attempt > 0 {
			if err := ctx.Err(); err != nil {
				return internal("%s %s: %w", op, subject, err)
			}
		}
		done, err := try(attempt)
		if done {
			return err
		}
	}
	return r.gaveUp(op, subject)
}

// gaveUp is the error of an operation whose retries ran out.
func (r *Ranch) gaveUp(op, subject string) error {
	return internal("%s %s: %w after %d retries", op, subject, ErrGaveUp, r.opts.MaxRetries)
}
