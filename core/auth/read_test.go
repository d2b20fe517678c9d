package auth

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadRules: the read API (/v1/...) and the dashboard (/ui, /ui/...)
// are open to every authenticated role, never to anonymous callers (not
// even with AnonymousMetrics), and take no owner.
func TestReadRules(t *testing.T) {
	for _, path := range []string{"/v1/resources", "/v1/queue", "/v1/types", "/v1/history", "/v1/usage", "/v1/resources/x/history", "/v1/nope", "/ui", "/ui/", "/ui/app.js"} {
		r := RuleFor(path)
		assert.Equal(t, Rule{Role: RoleClient}, r, path)
		for _, role := range []Role{RoleClient, RoleMaintainer, RoleAdmin} {
			assert.NoError(t, Authorize(&Principal{Name: "p", Role: role, Owners: []string{"x"}}, path, "someone"), "%s as %s", path, role)
		}
	}
	for _, path := range []string{"/v1", "/uix", "/v2/resources", "/ui.js"} {
		assert.Equal(t, otherPaths, RuleFor(path), path)
		err := Authorize(&Principal{Name: "c", Role: RoleClient, Owners: []string{"x"}}, path, "")
		require.Error(t, err, path)
		assert.Contains(t, err.Error(), "needs role admin")
	}
}
