package maintenance

import (
	"context"
	"log/slog"
	"time"
)

// Job is one maintenance job: RunOnce makes one pass and returns what it did
// (a value that logs well) or an error.
type Job interface {
	// Name names the job in logs ("reaper", "reconciler", ...).
	Name() string
	// RunOnce makes one pass; it stops early when ctx ends.
	RunOnce(ctx context.Context) (any, error)
}

// Loop runs every job once per period, in order, until ctx ends. A failing
// pass is logged and the next period tries again. The first pass runs one
// period after the start (the caller has just synced). tick, when not nil,
// replaces the ticker (tests drive the loop without sleeping).
func Loop(ctx context.Context, every time.Duration, log *slog.Logger, tick <-chan time.Time, jobs ...Job) {
	if tick == nil {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		RunAll(ctx, log, jobs...)
	}
}

// RunAll runs one pass of every job, logging each result.
func RunAll(ctx context.Context, log *slog.Logger, jobs ...Job) {
	for _, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		res, err := j.RunOnce(ctx)
		if err != nil {
			log.Error("maintenance: pass failed", "job", j.Name(), "err", err)
			continue
		}
		log.Debug("maintenance: pass done", "job", j.Name(), "result", res)
	}
}
