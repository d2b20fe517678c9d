package lambdaapp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/callout/lambdacall/lambdacalltest"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/mason/lambdaconv"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// TestMasonConverterNames: the dispatcher claims exactly the types whose
// converters mason-construct can run: the built-in Command and Webhook,
// and Lambda (by name only in the dispatcher, with the Lambda client in
// mason-construct, as masonlambda.Converters registers it).
func TestMasonConverterNames(t *testing.T) {
	construct, err := masonRegistry(testkit.Quiet(), func(reg *mason.Registry) error {
		return lambdaconv.Register(reg, &lambdacalltest.API{})
	})
	require.NoError(t, err)
	dispatch, err := masonRegistry(testkit.Quiet(), nameOnly(mason.ConverterLambda))
	require.NoError(t, err)
	assert.Equal(t, []string{"Command", "Lambda", "Webhook"}, construct.Names())
	assert.Equal(t, construct.Names(), dispatch.Names())
	_, err = dispatch.Converter(boskos.ConfigType{Type: mason.ConverterLambda, Content: "fn"})
	assert.ErrorContains(t, err, "runs in the construct step", "the dispatcher never runs a converter")
}
