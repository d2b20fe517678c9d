package maintenance

import (
	"context"

	"github.com/boskos-serverless/boskos/core/ranch"
)

// Cleaner is upstream's cleaner (v2 semantics, ../shared/boskos-api.md
// §5.6): each pass moves the unowned toBeDeleted resources of dynamic types
// to tombstone, releasing the physical resources they list in
// leasedResources as dirty (see ranch.CleanToBeDeleted).
type Cleaner struct{ ranch *ranch.Ranch }

// NewCleaner returns a Cleaner over r.
func NewCleaner(r *ranch.Ranch) *Cleaner { return &Cleaner{ranch: r} }

// Name implements Job.
func (c *Cleaner) Name() string { return "cleaner" }

// RunOnce implements Job.
func (c *Cleaner) RunOnce(ctx context.Context) (any, error) { return c.ranch.CleanToBeDeleted(ctx) }
