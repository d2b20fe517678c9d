package stack_test

import (
	"github.com/stretchr/testify/assert"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/infra/stack"
)

// checkHistoryWriter: the history writer reads the table's stream through
// one event source mapping: the resource items' records only, in order
// (one batch per shard at a time), partial batch failures, bisection,
// bounded retries, then the encrypted on-failure queue; its retention is
// set.
func checkHistoryWriter(t assert.TestingT, s *synthesized) {
	fnID, ok := s.fnIDs[deploy.FnHistoryWriter]
	if !assert.True(t, ok, "no history writer") {
		return
	}
	vars := s.props(fnID)["Environment"].(map[string]any)["Variables"].(map[string]any)
	assert.Equal(t, "720h0m0s", vars[deploy.EnvHistoryRetention], "retention")
	esms := s.ofType("AWS::Lambda::EventSourceMapping")
	if !assert.Len(t, esms, 1, "event source mappings") {
		return
	}
	p := s.props(esms[0])
	assert.True(t, same(ref(fnID), p["FunctionName"]), "the mapping's function")
	assert.True(t, same(getAtt(s.tableID, "StreamArn"), p["EventSourceArn"]), "the table's stream")
	assert.Equal(t, "TRIM_HORIZON", p["StartingPosition"])
	assert.EqualValues(t, stack.HistoryBatchSize, p["BatchSize"])
	assert.Equal(t, true, p["BisectBatchOnFunctionError"])
	assert.EqualValues(t, stack.HistoryRetries, p["MaximumRetryAttempts"])
	assert.EqualValues(t, 1, p["ParallelizationFactor"], "one batch per shard at a time: a resource's records in order")
	assert.Equal(t, []string{"ReportBatchItemFailures"}, strs(p["FunctionResponseTypes"]))
	assert.Equal(t, jsonOf(map[string]any{"Filters": []any{map[string]any{"Pattern": stack.HistoryFilter}}}), jsonOf(p["FilterCriteria"]))
	assert.Equal(t, `{"dynamodb":{"Keys":{"pk":{"S":["resource"]}}}}`, stack.HistoryFilter)
	dest := p["DestinationConfig"].(map[string]any)["OnFailure"].(map[string]any)["Destination"]
	assert.True(t, same(getAtt(s.historyQueueID, "Arn"), dest), "on-failure queue")
	assert.Equal(t, true, s.props(s.historyQueueID)["SqsManagedSseEnabled"], "queue encryption")
}
