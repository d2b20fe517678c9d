package asl_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/boskos-serverless/boskos/core/testkit"
)

// TestImports: the runner is standard library only (no AWS SDK, nothing
// of the service), so every runner of the workflow can use it.
func TestImports(t *testing.T) {
	for name, paths := range testkit.Imports(t, "*.go") {
		for _, path := range paths {
			assert.NotContains(t, strings.SplitN(path, "/", 2)[0], ".", "%s imports %s: only the standard library", name, path)
		}
	}
}
