package compat

import (
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/boskos/client"
)

// runCompat drives a server at baseURL (host root) with the upstream client.
func runCompat(t *testing.T, baseURL string) {
	t.Helper()
	c, err := client.NewClient("compat", baseURL, "", "")
	require.NoError(t, err)
	_ = c
}
