package compat

import (
	"github.com/boskos-serverless/boskos/core/boskos"
)

// testConfig is the resources file the suite's servers start with.
var testConfig = boskos.Config{}
