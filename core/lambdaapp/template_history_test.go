package lambdaapp_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

// TestSAMTemplateHistoryWriter: template.yaml's history writer reads the
// table's stream as the CDK app's does (infra/stack checkHistoryWriter):
// resource records only, in order, partial failures, bisection, bounded
// retries, an on-failure queue, and the retention the function reads.
func TestSAMTemplateHistoryWriter(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				CodeUri     string
				Environment struct{ Variables map[string]any }
				Events      map[string]struct {
					Type       string
					Properties map[string]any
				}
			}
		}
	}
	require.NoError(t, yaml.Unmarshal(raw, &tpl)) // tags (!Ref, !GetAtt) read as their plain values
	fn, ok := tpl.Resources["HistoryWriterFunction"]
	require.True(t, ok)
	assert.Equal(t, "build/historywriter/", fn.Properties.CodeUri)
	assert.Equal(t, "HistoryRetention", fn.Properties.Environment.Variables[lambdaapp.EnvHistoryRetention])
	ev := fn.Properties.Events["Stream"]
	assert.Equal(t, "DynamoDB", ev.Type)
	p := ev.Properties
	assert.Equal(t, "Table.StreamArn", p["Stream"])
	assert.Equal(t, "TRIM_HORIZON", p["StartingPosition"])
	assert.EqualValues(t, 100, p["BatchSize"])
	assert.Equal(t, true, p["BisectBatchOnFunctionError"])
	assert.EqualValues(t, 10, p["MaximumRetryAttempts"])
	assert.EqualValues(t, 1, p["ParallelizationFactor"])
	assert.Equal(t, []any{"ReportBatchItemFailures"}, p["FunctionResponseTypes"])
	assert.Equal(t, map[string]any{"Filters": []any{map[string]any{"Pattern": `{"dynamodb":{"Keys":{"pk":{"S":["resource"]}}}}`}}}, p["FilterCriteria"])
	assert.Equal(t, map[string]any{"OnFailure": map[string]any{"Type": "SQS", "Destination": "HistoryWriterFailureQueue.Arn"}}, p["DestinationConfig"])
	assert.Equal(t, "AWS::SQS::Queue", tpl.Resources["HistoryWriterFailureQueue"].Type)
}
