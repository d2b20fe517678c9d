package maintenance

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigTypesLeaveVirtualTypesToMason: the janitor cleans the static
// and plain dynamic types of the config in force, never a dynamic type
// whose config.type names a Mason converter.
func TestConfigTypesLeaveVirtualTypesToMason(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		r := w.ranch()
		types := ConfigTypes(r)
		got, err := types(w.ctx)
		require.NoError(t, err)
		assert.Empty(t, got, "no config applied yet")
		require.NoError(t, r.SyncConfig(w.ctx, mustConfig(t, `
resources:
- {type: aws-account, state: free, names: [a1]}
- {type: vm, state: free, min-count: 1, max-count: 2}
- {type: cluster, state: dirty, min-count: 1, max-count: 1, needs: {aws-account: 1}, config: {type: Command, content: "x"}}
`)))
		got, err = types(w.ctx)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"aws-account", "vm"}, got)
	})
}
