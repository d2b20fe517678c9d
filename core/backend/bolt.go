package backend

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
)

// openBolt opens the bbolt file at path, creating its directory if needed.
func openBolt(path string, o boltstore.Options) (store.Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("bolt store: %w", err)
		}
	}
	return boltstore.Open(path, o)
}
