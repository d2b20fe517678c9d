package mason_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/mason"
)

// TestDocumentTasks: the document's Task states are the steps, each with
// the placeholder Resource the deployment substitutes and a timeout.
func TestDocumentTasks(t *testing.T) {
	tasks, err := mason.DocumentTasks()
	require.NoError(t, err)
	got := map[string]mason.DocumentTask{}
	for _, tk := range tasks {
		got[tk.Name] = tk
	}
	tests := []struct {
		step, resource, variable string
		timeout                  int
	}{
		{mason.StepConstruct, "${ConstructFunctionArn}", "ConstructFunctionArn", 900},
		{mason.StepFree, "${FreeFunctionArn}", "FreeFunctionArn", 60},
		{mason.StepFulfill, "${FulfillFunctionArn}", "FulfillFunctionArn", 60},
		{mason.StepGarbageCollect, "${GarbageCollectFunctionArn}", "GarbageCollectFunctionArn", 60},
		{mason.StepRecycle, "${RecycleFunctionArn}", "RecycleFunctionArn", 60},
	}
	require.Len(t, tasks, len(tests))
	for _, tc := range tests {
		t.Run(tc.step, func(t *testing.T) {
			assert.Equal(t, tc.resource, mason.TaskResource(tc.step))
			assert.Equal(t, tc.variable, mason.TaskResourceVariable(tc.step))
			assert.Equal(t, tc.resource, got[tc.step].Resource)
			assert.Equal(t, tc.timeout, got[tc.step].TimeoutSeconds)
		})
	}
}
