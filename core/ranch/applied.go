package ranch

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// ErrNoConfig means no config was ever applied to the store (no SyncConfig
// has run on it yet).
var ErrNoConfig = errors.New("ranch: no config has been applied to this store yet")

// Origin says where an applied config came from, so that a later reader
// (the reconciler function) can tell whether its source changed.
type Origin struct {
	// Source names the document: "file:/path/config.yaml",
	// "s3://bucket/key", "" when unknown.
	Source string
	// Version is the source's version of the document (an S3 ETag), "" when
	// the source has none.
	Version string
}

// Applied describes the config in force: the one the last sync applied.
type Applied struct {
	Origin
	// Hash is the SHA-256 (hex) of the config's canonical JSON form: equal
	// hashes mean equal configs, whatever the file's layout.
	Hash string
	// Types are the resource types the config names (static and dynamic),
	// sorted.
	Types []string
	// Pending is set when the sync left work for a later one: a leased
	// resource left the config or changed type, and is deleted or
	// recreated by a sync after its release (ResyncPending).
	Pending bool
	// At is when the sync ran.
	At time.Time
}

// SyncReport says what a sync did.
type SyncReport struct {
	// Applied is the config in force after the sync.
	Applied Applied
	// Deferred lists the leased resources whose deletion or type change
	// waits for their release (Applied.Pending is len(Deferred) > 0).
	Deferred []string
}

// Storage of the config in force: a header item and the canonical JSON of
// the config, gzipped, base64-encoded and cut into body items (an item holds
// at most store.MaxItemBytes), under a generation of their own, so the
// header switches from one complete body to another in one write.
const (
	appliedKey    = "config/applied"
	bodyPrefix    = "config/body/"
	attrHash      = "hash"
	attrSource    = "source"
	attrVersion   = "version"
	attrTypes     = "types"
	attrPending   = "pending"
	attrAt        = "at"
	attrGen       = "gen"
	attrChunks    = "chunks"
	attrData      = "data"
	bodyChunkSize = 256 << 10
)

func bodyKey(gen string, i int) string { return fmt.Sprintf("%s%s/%06d", bodyPrefix, gen, i) }

// configHash returns the hash and canonical JSON of cfg.
func configHash(cfg *boskos.Config) (string, []byte, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), b, nil
}

// ConfigHash returns the hash that Applied.Hash holds for cfg.
func ConfigHash(cfg *boskos.Config) (string, error) {
	h, _, err := configHash(cfg)
	return h, err
}

// configTypes returns the sorted types cfg names.
func configTypes(cfg *boskos.Config) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range cfg.Resources {
		if !seen[e.Type] {
			seen[e.Type] = true
			out = append(out, e.Type)
		}
	}
	sort.Strings(out)
	return out
}

// Sync is SyncConfig that also records where cfg came from and reports what
// it did. The config in force (AppliedConfig, ConfigInForce) is recorded in
// the store after the resources are synced, so any process can re-sync
// deferred work without the file.
func (r *Ranch) Sync(ctx context.Context, cfg *boskos.Config, origin Origin) (SyncReport, error) {
	if err := cfg.Validate(); err != nil {
		return SyncReport{}, err
	}
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	defer r.invalidateCaches()
	return r.syncLocked(ctx, cfg, origin)
}

func (r *Ranch) syncLocked(ctx context.Context, cfg *boskos.Config, origin Origin) (SyncReport, error) {
	deferred, err := r.syncConfig(ctx, cfg)
	if err != nil {
		return SyncReport{}, err
	}
	a, err := r.recordApplied(ctx, cfg, origin, len(deferred) > 0)
	if err != nil {
		return SyncReport{}, internal("sync: record the config in force: %w", err)
	}
	return SyncReport{Applied: a, Deferred: deferred}, nil
}

// recordApplied stores cfg as the config in force: a new body generation
// first, then the header (conditional on the version read, so that of two
// concurrent syncs one wins whole), then the old body is deleted.
func (r *Ranch) recordApplied(ctx context.Context, cfg *boskos.Config, origin Origin, pending bool) (Applied, error) {
	hash, canon, err := configHash(cfg)
	if err != nil {
		return Applied{}, err
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	if _, err := zw.Write(canon); err != nil {
		return Applied{}, err
	}
	if err := zw.Close(); err != nil {
		return Applied{}, err
	}
	enc := base64.StdEncoding.EncodeToString(zb.Bytes())
	gen := uuid.NewString()
	chunks := 0
	for off := 0; off < len(enc) || chunks == 0; off += bodyChunkSize {
		part := enc[off:min(off+bodyChunkSize, len(enc))]
		key := bodyKey(gen, chunks)
		err := r.retry(ctx, "write config body", key, func(int) (bool, error) {
			_, err := r.store.Create(ctx, store.Item{Key: key, Str: map[string]string{attrData: part}})
			switch {
			case err == nil, errors.Is(err, store.ErrExists):
				// Exists: an earlier attempt of ours went through (the
				// generation is ours alone).
				return true, nil
			case errors.Is(err, store.ErrConflict):
				return false, nil
			}
			return true, err
		})
		if err != nil {
			r.deleteBody(ctx, gen, int64(chunks))
			return Applied{}, err
		}
		chunks++
	}
	now := r.now()
	a := Applied{Origin: origin, Hash: hash, Types: configTypes(cfg), Pending: pending, At: now.UTC()}
	types, _ := json.Marshal(a.Types)
	pend := ""
	if pending {
		pend = "1"
	}
	var oldGen string
	var oldChunks int64
	err = r.retry(ctx, "record config", appliedKey, func(int) (bool, error) {
		u := store.Update{
			Key: appliedKey, Upsert: true,
			Set: map[string]string{
				attrHash: hash, attrSource: origin.Source, attrVersion: origin.Version,
				attrTypes: string(types), attrPending: pend, attrAt: fmtTime(now), attrGen: gen,
			},
			SetNum: map[string]int64{attrChunks: int64(chunks)},
		}
		cur, err := r.store.Get(ctx, appliedKey)
		switch {
		case errors.Is(err, store.ErrNotFound):
			u.Cond = []store.Cond{store.VersionIs(0)}
			oldGen, oldChunks = "", 0
		case err != nil:
			return true, err
		default:
			u.Cond = []store.Cond{store.VersionIs(cur.Version)}
			oldGen, oldChunks = cur.S(attrGen), cur.N(attrChunks)
		}
		_, err = r.store.Update(ctx, u)
		if err == nil {
			return true, nil
		}
		return !isRetryable(err), err
	})
	if err != nil {
		r.deleteBody(ctx, gen, int64(chunks))
		return Applied{}, err
	}
	r.deleteBody(ctx, oldGen, oldChunks)
	return a, nil
}

// deleteBody removes the body items of gen; a failure only leaves garbage
// that nothing reads (logged).
func (r *Ranch) deleteBody(ctx context.Context, gen string, chunks int64) {
	if gen == "" {
		return
	}
	for i := range int(chunks) {
		if err := r.store.Delete(ctx, bodyKey(gen, i)); err != nil && !errors.Is(err, store.ErrNotFound) {
			r.log.Warn("ranch: could not delete an old config body", "key", bodyKey(gen, i), "err", err)
		}
	}
}

// AppliedConfig returns the description of the config in force (one read),
// or ErrNoConfig.
func (r *Ranch) AppliedConfig(ctx context.Context) (Applied, error) {
	a, _, err := r.readApplied(ctx)
	return a, err
}

func (r *Ranch) readApplied(ctx context.Context) (Applied, store.Item, error) {
	it, err := r.store.Get(ctx, appliedKey)
	if errors.Is(err, store.ErrNotFound) {
		return Applied{}, store.Item{}, ErrNoConfig
	}
	if err != nil {
		return Applied{}, store.Item{}, internal("read the config in force: %w", err)
	}
	a := Applied{
		Origin:  Origin{Source: it.S(attrSource), Version: it.S(attrVersion)},
		Hash:    it.S(attrHash),
		Pending: it.S(attrPending) != "",
	}
	if s := it.S(attrTypes); s != "" {
		if err := json.Unmarshal([]byte(s), &a.Types); err != nil {
			return Applied{}, store.Item{}, internal("read the config in force: types: %w", err)
		}
	}
	if s := it.S(attrAt); s != "" {
		if a.At, err = parseTime(s); err != nil {
			return Applied{}, store.Item{}, internal("read the config in force: at: %w", err)
		}
	}
	return a, it, nil
}

// ConfigInForce returns the config the last sync applied, with its
// description, or ErrNoConfig.
func (r *Ranch) ConfigInForce(ctx context.Context) (*boskos.Config, Applied, error) {
	var cfg *boskos.Config
	var a Applied
	// A concurrent sync may delete the body between the two reads: read
	// the header again then.
	err := r.retry(ctx, "read config", appliedKey, func(int) (bool, error) {
		var hdr store.Item
		var err error
		a, hdr, err = r.readApplied(ctx)
		if err != nil {
			return true, err
		}
		cfg, err = r.readBody(ctx, hdr.S(attrGen), int(hdr.N(attrChunks)))
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return nil, Applied{}, err
	}
	return cfg, a, nil
}

func (r *Ranch) readBody(ctx context.Context, gen string, chunks int) (*boskos.Config, error) {
	var sb strings.Builder
	for i := range chunks {
		it, err := r.store.Get(ctx, bodyKey(gen, i))
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			return nil, internal("read the config in force: %w", err)
		}
		sb.WriteString(it.S(attrData))
	}
	zb, err := base64.StdEncoding.DecodeString(sb.String())
	if err != nil {
		return nil, internal("read the config in force: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zb))
	if err != nil {
		return nil, internal("read the config in force: %w", err)
	}
	canon, err := io.ReadAll(zr)
	if err != nil {
		return nil, internal("read the config in force: %w", err)
	}
	var cfg boskos.Config
	if err := json.Unmarshal(canon, &cfg); err != nil {
		return nil, internal("read the config in force: %w", err)
	}
	return &cfg, nil
}

// RecordVersion notes that the config in force is also what origin holds
// now (its content hash is unchanged, only the source's version moved, as
// after re-uploading the same file): the next Fetch can be conditional on
// the new version. It writes only when the header has hash.
func (r *Ranch) RecordVersion(ctx context.Context, hash string, origin Origin) error {
	return r.retry(ctx, "record config version", appliedKey, func(int) (bool, error) {
		_, err := r.store.Update(ctx, store.Update{
			Key:  appliedKey,
			Cond: []store.Cond{store.Eq(attrHash, hash)},
			Set:  map[string]string{attrSource: origin.Source, attrVersion: origin.Version},
		})
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			return true, nil // another config was applied meanwhile: nothing to note
		}
		return true, internal("record config version: %w", err)
	})
}

// ResyncPending syncs the config in force again when the last sync left work
// for later (Applied.Pending); otherwise it only reads the header. ran says
// whether it synced.
func (r *Ranch) ResyncPending(ctx context.Context) (rep SyncReport, ran bool, err error) {
	a, err := r.AppliedConfig(ctx)
	if errors.Is(err, ErrNoConfig) || (err == nil && !a.Pending) {
		return SyncReport{Applied: a}, false, nil
	}
	if err != nil {
		return SyncReport{}, false, err
	}
	cfg, a, err := r.ConfigInForce(ctx)
	if err != nil {
		return SyncReport{}, false, err
	}
	rep, err = r.Sync(ctx, cfg, a.Origin)
	return rep, err == nil, err
}
