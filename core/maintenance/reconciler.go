package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// Source is where a resources file lives (an S3 object in AWS).
type Source interface {
	// Name names the document, e.g. "s3://bucket/key"; it is recorded with
	// the config in force.
	Name() string
	// Fetch returns the document, or NotModified when its current version
	// equals version (a conditional read: one cheap request when nothing
	// changed). version "" always fetches.
	Fetch(ctx context.Context, version string) (Document, error)
}

// Document is what a Source returned.
type Document struct {
	// Data is the file's content (unset when NotModified).
	Data []byte
	// Version identifies this content at the source (an S3 ETag).
	Version string
	// NotModified: the document still has the version asked for.
	NotModified bool
}

// ReconcilerOptions tune a Reconciler.
type ReconcilerOptions struct {
	// Source, if set, is read every pass and applied when it changed. Without
	// it the config in force is only re-synced for deferred work (the local
	// server applies its file itself when the file changes).
	Source Source
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Reconciler is the config-sync and dynamic-resource job (§5.2-§5.5): each
// pass applies the Source's document when it changed (a document that does
// not validate is logged with every error, and the config in force is
// kept), re-syncs the config in force while its last sync left work for
// later, reconciles the dynamic resource life cycles (min-count, max-count,
// lifespans, tombstones, adoption, wind-down) and collects stale request
// queue entries. With an unchanged document a pass costs one conditional
// read of the source and reads the store independently of the number of
// static resources.
type Reconciler struct {
	ranch *ranch.Ranch
	src   Source
	log   *slog.Logger

	// badVersion is the version of the last document that did not
	// validate: it is fetched conditionally on it, so an unchanged bad
	// document is not parsed again.
	badVersion string
}

// NewReconciler returns a Reconciler over r.
func NewReconciler(r *ranch.Ranch, o ReconcilerOptions) *Reconciler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Reconciler{ranch: r, src: o.Source, log: o.Logger}
}

// Name implements Job.
func (c *Reconciler) Name() string { return "reconciler" }

// ReconcileReport says what one reconciler pass did.
type ReconcileReport struct {
	// Fetched: the source's document was read (it changed, or no version
	// of it was known).
	Fetched bool
	// Invalid holds the validation errors of a document that was refused.
	Invalid string
	// Synced: a config was applied (a new document, or deferred work).
	Synced bool
	// Deferred lists the resources whose change still waits for their
	// release.
	Deferred []string
	// QueueGC is how many stale request-queue entries were deleted.
	QueueGC int
}

// RunOnce implements Job.
func (c *Reconciler) RunOnce(ctx context.Context) (any, error) { return c.Reconcile(ctx) }

// Reconcile makes one pass. A failure of one step (the source unreachable,
// say) is reported, and the later steps still run.
func (c *Reconciler) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	var errs []error
	a, err := c.ranch.AppliedConfig(ctx)
	noConfig := errors.Is(err, ranch.ErrNoConfig)
	if err != nil && !noConfig {
		// The store is failing: the later steps would fail the same way.
		return rep, fmt.Errorf("reconciler: %w", err)
	}
	synced := false
	if c.src != nil {
		s, err := c.fromSource(ctx, a, noConfig, &rep)
		if err != nil {
			errs = append(errs, err)
		}
		synced = s
	}
	if !synced && !noConfig && a.Pending {
		sr, ran, err := c.ranch.ResyncPending(ctx)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("reconciler: re-sync deferred work: %w", err))
		case ran:
			synced = true
			rep.Deferred = sr.Deferred
			if !sr.Applied.Pending {
				c.log.Info("reconciler: deferred config changes applied")
			}
		}
	}
	rep.Synced = synced
	if !synced {
		// A sync reconciles already.
		if err := c.ranch.Reconcile(ctx); err != nil {
			errs = append(errs, fmt.Errorf("reconciler: %w", err))
		}
	}
	n, err := c.ranch.GCRequestQueue(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("reconciler: %w", err))
	}
	rep.QueueGC = n
	return rep, errors.Join(errs...)
}

// fromSource applies the source's document if it changed; synced says
// whether a sync ran.
func (c *Reconciler) fromSource(ctx context.Context, a ranch.Applied, noConfig bool, rep *ReconcileReport) (synced bool, err error) {
	version := ""
	if !noConfig && a.Source == c.src.Name() {
		version = a.Version
	}
	if c.badVersion != "" {
		version = c.badVersion
	}
	doc, err := c.src.Fetch(ctx, version)
	if err != nil {
		return false, fmt.Errorf("reconciler: fetch %s (keeping the config in force): %w", c.src.Name(), err)
	}
	if doc.NotModified {
		if c.badVersion != "" {
			rep.Invalid = "unchanged since it was refused"
			c.log.Warn("reconciler: the config document is still invalid; keeping the config in force",
				"source", c.src.Name(), "version", c.badVersion)
		}
		return false, nil
	}
	rep.Fetched = true
	cfg, err := boskos.ParseValidConfig(doc.Data)
	if err != nil {
		c.badVersion = doc.Version
		rep.Invalid = err.Error()
		c.log.Error("reconciler: refused an invalid config document; keeping the config in force",
			"source", c.src.Name(), "version", doc.Version, "errors", err.Error())
		return false, nil
	}
	c.badVersion = ""
	origin := ranch.Origin{Source: c.src.Name(), Version: doc.Version}
	hash, err := ranch.ConfigHash(cfg)
	if err != nil {
		return false, fmt.Errorf("reconciler: %w", err)
	}
	if !noConfig && hash == a.Hash && !a.Pending {
		// Same content under a new version (re-uploaded): only note it.
		if err := c.ranch.RecordVersion(ctx, hash, origin); err != nil {
			return false, fmt.Errorf("reconciler: %w", err)
		}
		return false, nil
	}
	sr, err := c.ranch.Sync(ctx, cfg, origin)
	if err != nil {
		return false, fmt.Errorf("reconciler: apply %s version %s: %w", c.src.Name(), doc.Version, err)
	}
	rep.Deferred = sr.Deferred
	c.log.Info("reconciler: applied the config document", "source", c.src.Name(), "version", doc.Version,
		"entries", len(cfg.Resources), "deferred", len(sr.Deferred))
	return true, nil
}

// ApplyReport says what Apply did.
type ApplyReport struct {
	// Sync is the sync's own report.
	Sync ranch.SyncReport
	// QueueGC is how many stale request-queue entries were deleted.
	QueueGC int
}

// Apply is the one-shot sequence of `boskos config apply` and of a config
// change in the local server: sync the store to cfg (recorded with origin as
// the config in force), then collect stale request-queue entries.
func Apply(ctx context.Context, r *ranch.Ranch, cfg *boskos.Config, origin ranch.Origin) (ApplyReport, error) {
	sr, err := r.Sync(ctx, cfg, origin)
	if err != nil {
		return ApplyReport{}, err
	}
	n, err := r.GCRequestQueue(ctx)
	if err != nil {
		return ApplyReport{Sync: sr}, err
	}
	return ApplyReport{Sync: sr, QueueGC: n}, nil
}
