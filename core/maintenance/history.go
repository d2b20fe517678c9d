package maintenance

import (
	"context"
	"time"

	"github.com/boskos-serverless/boskos/core/ranch"
)

// HistoryPruner deletes the history records older than its retention, for
// the stores that do not expire items themselves (memory, bbolt; DynamoDB's
// Time to Live removes them from the table).
type HistoryPruner struct {
	r         *ranch.Ranch
	retention time.Duration
}

// NewHistoryPruner returns the pruner of r's history (retention 0:
// ranch.DefaultHistoryRetention).
func NewHistoryPruner(r *ranch.Ranch, retention time.Duration) *HistoryPruner {
	return &HistoryPruner{r: r, retention: retention}
}

// Name implements Job.
func (p *HistoryPruner) Name() string { return "history-pruner" }

// PruneReport says what one pass deleted.
type PruneReport struct {
	Deleted int
}

// RunOnce implements Job: one ranch.PruneHistory.
func (p *HistoryPruner) RunOnce(ctx context.Context) (any, error) {
	n, err := p.r.PruneHistory(ctx, p.retention)
	return PruneReport{Deleted: n}, err
}
