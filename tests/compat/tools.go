//go:build tools

// This file keeps the modules of upstream's boskosctl (cobra) in go.mod:
// the tests build sigs.k8s.io/boskos/cmd/boskosctl, which no package of
// this module imports.
package compat

import _ "github.com/spf13/cobra"
