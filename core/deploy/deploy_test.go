package deploy_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// TestNoSDKImports: the package imports no AWS SDK, nothing of the main
// module but core/store, and core/store nothing outside the standard
// library, so infra/ can import names without the SDK.
func TestNoSDKImports(t *testing.T) {
	for name, paths := range testkit.Imports(t, "*.go") {
		for _, path := range paths {
			if strings.Contains(path, ".") {
				assert.Equal(t, "github.com/boskos-serverless/boskos/core/store", path, "%s imports %s", name, path)
			}
		}
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	assert.ElementsMatch(t, []string{"github.com/boskos-serverless/boskos/core/store", "github.com/boskos-serverless/boskos/core/deploy"}, deps)
}

// TestFunctions: names are unique, every route has one function, every
// action list is sorted, known and non-empty, and only API functions have
// routes.
func TestFunctions(t *testing.T) {
	known := []string{deploy.ActBatchGetItem, deploy.ActConditionCheckItem, deploy.ActDeleteItem, deploy.ActGetItem, deploy.ActPutItem, deploy.ActQuery, deploy.ActUpdateItem}
	seen := map[string]bool{}
	routes := map[string]string{}
	for _, f := range deploy.Functions {
		t.Run(f.Name, func(t *testing.T) {
			assert.False(t, seen[f.Name], "duplicate function")
			seen[f.Name] = true
			got, ok := deploy.Lookup(f.Name)
			require.True(t, ok)
			assert.Equal(t, f.Name, got.Name)
			assert.NotEmpty(t, f.DynamoDBActions)
			assert.True(t, slices.IsSorted(f.DynamoDBActions), "got %v, want sorted", f.DynamoDBActions)
			assert.Subset(t, known, f.DynamoDBActions)
			assert.Equal(t, f.Kind == deploy.Step, f.Step != "", "only Step functions run a step")
			if f.Kind != deploy.API {
				assert.Empty(t, f.Routes)
			} else {
				assert.NotEmpty(t, f.Routes)
			}
			for _, r := range f.Routes {
				assert.Empty(t, routes[r], "route %s also belongs to %s", r, routes[r])
				routes[r] = f.Name
				assert.True(t, r == deploy.CatchAll || strings.HasPrefix(r, "/"), "route %q", r)
			}
		})
	}
	assert.Equal(t, routes, deploy.RouteOwners())
	assert.Len(t, deploy.SortedRoutes(), len(routes))
	assert.Equal(t, []string{"acquire", "acquirebystate", "release", "update", "reset", "metric", "metrics", "history", "read"}, deploy.Names(deploy.API))
	assert.Equal(t, []string{"reaper", "reconciler", "cleaner", "janitor", "mason-dispatch"}, deploy.Names(deploy.Job))
	assert.Equal(t, []string{"historywriter"}, deploy.Names(deploy.Stream))
	assert.Equal(t, []string{"mason-recycle", "mason-fulfill", "mason-construct", "mason-free", "mason-gc"}, deploy.Names(deploy.Step))
	steps := deploy.StepFunctions()
	assert.Len(t, steps, 5, "one function per step")
	for step, f := range steps {
		assert.Equal(t, step, f.Step)
	}
	_, ok := deploy.Lookup("nope")
	assert.False(t, ok)
}

// TestKeyAttributes: the attribute definitions are the table's and the
// index's keys, each once.
func TestKeyAttributes(t *testing.T) {
	assert.Equal(t, []string{"pk", "sk", "ixp", "ixsk"}, deploy.KeyAttributes)
	assert.Equal(t, "ttl", deploy.AttrTTL)
	assert.Equal(t, "pool", deploy.IndexPool)
}
