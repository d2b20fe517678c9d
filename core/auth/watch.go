package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher reloads a credentials file into a Holder when it changes, as
// `boskos serve` reloads its resources file: it watches the file's
// directory (so rename-over-replace, which `boskos credentials add` does,
// and symlink swaps are seen), waits Delay after the last event, and
// compares contents, so touching the file does nothing. A file that does
// not parse or validate is logged and the credentials in force are kept.
type Watcher struct {
	// Path is the credentials file.
	Path string
	// Holder receives each valid new version.
	Holder *Holder
	// Log receives reloads and refusals (never the file's content).
	Log *slog.Logger
	// Delay debounces file events.
	Delay time.Duration
	// Hook, if set, is called after each reload attempt: nil when the new
	// credentials are in force (tests wait on it).
	Hook func(error)

	last [sha256.Size]byte // content last handled (applied or refused)
}

// NewWatcher returns a watcher of path whose current content, data, is
// already in h.
func NewWatcher(path string, data []byte, h *Holder, log *slog.Logger, delay time.Duration, hook func(error)) *Watcher {
	return &Watcher{Path: path, Holder: h, Log: log, Delay: delay, Hook: hook, last: sha256.Sum256(data)}
}

// Start watches until ctx ends, in a goroutine counted by wg.
func (w *Watcher) Start(ctx context.Context, wg *sync.WaitGroup) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	dir := filepath.Dir(w.Path)
	if err := fw.Add(dir); err != nil {
		fw.Close()
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	wg.Go(func() {
		defer fw.Close()
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-fw.Events:
				if !ok {
					return
				}
				if ev.Op != fsnotify.Chmod {
					timer.Reset(w.Delay)
				}
			case err, ok := <-fw.Errors:
				if !ok {
					return
				}
				w.Log.Warn("credentials watch", "err", err)
			case <-timer.C:
				w.Reload()
			}
		}
	})
	return nil
}

// Reload reads the file and, if its content changed and is valid, puts it
// in force.
func (w *Watcher) Reload() {
	data, err := os.ReadFile(w.Path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return // mid rename-replace, or removed: keep the current ones
		}
		w.Log.Error("credentials reload: keeping the current credentials", "path", w.Path, "err", err)
		w.done(err)
		return
	}
	sum := sha256.Sum256(data)
	if bytes.Equal(sum[:], w.last[:]) {
		return
	}
	w.last = sum
	c, err := Parse(data)
	if err != nil {
		w.Log.Error("credentials reload: keeping the current credentials", "path", w.Path, "err", err)
		w.done(err)
		return
	}
	w.Holder.Store(c)
	w.Log.Info("credentials reloaded", "path", w.Path, "principals", len(c.file.Principals))
	w.done(nil)
}

func (w *Watcher) done(err error) {
	if w.Hook != nil {
		w.Hook(err)
	}
}
