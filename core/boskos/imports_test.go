package boskos_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/boskos-serverless/boskos/core/testkit"
)

// TestDomainImports: the domain imports no transport and no SDK (the HTTP
// status of an error code is core/httpapi's business).
func TestDomainImports(t *testing.T) {
	forbidden := []string{"net/http", "github.com/aws/", "github.com/boskos-serverless/boskos/core/store"}
	for name, paths := range testkit.Imports(t, "*.go") {
		for _, path := range paths {
			for _, bad := range forbidden {
				assert.False(t, strings.HasPrefix(path, bad), "%s imports %s", name, path)
			}
		}
	}
}
