package boskos_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDomainImports: the domain imports no transport and no SDK (the HTTP
// status of an error code is core/httpapi's business).
func TestDomainImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	forbidden := []string{"net/http", "github.com/aws/", "github.com/boskos-serverless/boskos/core/store"}
	n := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		n++
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			for _, bad := range forbidden {
				assert.False(t, strings.HasPrefix(path, bad), "%s imports %s", name, path)
			}
		}
	}
	require.NotZero(t, n, "no source files found")
}
