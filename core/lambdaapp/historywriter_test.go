package lambdaapp_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
)

func TestHistoryWriterBatch(t *testing.T) {
	now := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	ok := historyEvent(now)
	second := historyEvent(now.Add(time.Second))
	second.Records[0].Change.SequenceNumber = "200"
	second.Records[0].Change.OldImage["v"] = events.NewNumberAttribute("2")
	second.Records[0].Change.NewImage["v"] = events.NewNumberAttribute("3")
	second.Records[0].Change.NewImage["userdata"] = events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"k": events.NewStringAttribute("v")})
	malformed := historyEvent(now)
	malformed.Records[0].Change.SequenceNumber = "300"
	malformed.Records[0].Change.NewImage["v"] = events.NewStringAttribute("not a number")
	queue := historyEvent(now)
	queue.Records[0].Change.OldImage["pk"] = events.NewStringAttribute("queue")
	queue.Records[0].Change.NewImage["pk"] = events.NewStringAttribute("queue")
	two := events.DynamoDBEvent{Records: append(append([]events.DynamoDBEventRecord{}, ok.Records...), second.Records...)}

	failCreates := func(c faultstore.Call) error {
		if c.Method == faultstore.Create && strings.HasSuffix(c.Keys[0], "9223372036854775804") { // version 3
			return errors.New("throttled")
		}
		return nil
	}
	tests := []struct {
		name     string
		ev       events.DynamoDBEvent
		rules    []faultstore.Rule
		failure  string // the first record reported, "" for none
		recorded int
	}{
		{"one transition", ok, nil, "", 1},
		{"two, the second's write fails", two, []faultstore.Rule{failCreates}, "200", 1},
		{"a malformed record", malformed, nil, "300", 0},
		{"not a resource", queue, nil, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memstore.New()
			h := lambdaapp.HistoryWriter(faultstore.New(mem, tc.rules...), ranch.HistoryOptions{}, slog.New(slog.DiscardHandler))
			resp, err := h(context.Background(), tc.ev)
			require.NoError(t, err)
			if tc.failure == "" {
				assert.Empty(t, resp.BatchItemFailures)
			} else {
				require.Len(t, resp.BatchItemFailures, 1)
				assert.Equal(t, tc.failure, resp.BatchItemFailures[0].ItemIdentifier)
			}
			page, err := mem.List(context.Background(), "history/", "", 100)
			require.NoError(t, err)
			assert.Len(t, page.Items, tc.recorded)
		})
	}
}

func TestHistoryWriterFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	hc, err := lambdaapp.HistoryWriterFromEnv(env("BOSKOS_TABLE", "boskos"))
	require.NoError(t, err)
	assert.Equal(t, ranch.DefaultHistoryRetention, hc.Retention)
	hc, err = lambdaapp.HistoryWriterFromEnv(env("BOSKOS_TABLE", "boskos", "BOSKOS_HISTORY_RETENTION", "48h"))
	require.NoError(t, err)
	assert.Equal(t, 48*time.Hour, hc.Retention)
	_, err = lambdaapp.HistoryWriterFromEnv(env("BOSKOS_HISTORY_RETENTION", "-1h"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "BOSKOS_TABLE")
	assert.Contains(t, err.Error(), `BOSKOS_HISTORY_RETENTION="-1h"`)
}
