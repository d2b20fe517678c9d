package lambdaapp

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/ranch"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string // every line must appear
	}{
		{
			name: "defaults",
			env:  map[string]string{"BOSKOS_TABLE": "boskos"},
			want: Config{Table: "boskos", RequestTTL: ranch.DefaultRequestTTL, SpreadWindow: ranch.DefaultSpreadWindow, LogLevel: slog.LevelInfo},
		},
		{
			name: "everything set",
			env: map[string]string{
				"BOSKOS_TABLE": "arn:aws:dynamodb:us-east-1:123456789012:table/boskos", "BOSKOS_REQUEST_TTL": "2m", "BOSKOS_LOG_LEVEL": "DEBUG", "BOSKOS_SPREAD_WINDOW": "0",
				"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
			},
			want: Config{Table: "arn:aws:dynamodb:us-east-1:123456789012:table/boskos", RequestTTL: 2 * time.Minute, SpreadWindow: 0, LogLevel: slog.LevelDebug, Endpoint: "http://127.0.0.1:8000"},
		},
		{
			name: "blank values count as unset",
			env:  map[string]string{"BOSKOS_TABLE": " boskos ", "BOSKOS_REQUEST_TTL": "", "BOSKOS_LOG_LEVEL": " "},
			want: Config{Table: "boskos", RequestTTL: ranch.DefaultRequestTTL, SpreadWindow: ranch.DefaultSpreadWindow, LogLevel: slog.LevelInfo},
		},
		{
			name:    "missing table",
			env:     map[string]string{},
			wantErr: []string{"BOSKOS_TABLE: must be set"},
		},
		{
			name: "every error at once",
			env: map[string]string{
				"BOSKOS_REQUEST_TTL": "10", "BOSKOS_LOG_LEVEL": "loud", "BOSKOS_SPREAD_WINDOW": "fast",
				"AWS_ENDPOINT_URL_DYNAMODB": "localhost:8000",
			},
			wantErr: []string{
				"BOSKOS_TABLE: must be set",
				`BOSKOS_REQUEST_TTL: "10" is not a duration`,
				`BOSKOS_LOG_LEVEL: "loud" is not a level`,
				`BOSKOS_SPREAD_WINDOW: "fast" is not a duration`,
				`AWS_ENDPOINT_URL_DYNAMODB: "localhost:8000" is not an http(s) URL`,
			},
		},
		{
			name:    "bad table name",
			env:     map[string]string{"BOSKOS_TABLE": "my table", "BOSKOS_LOG_LEVEL": "x"},
			wantErr: []string{`BOSKOS_TABLE: "my table" is not a DynamoDB table name`, `BOSKOS_LOG_LEVEL: "x" is not a level`},
		},
		{
			name:    "table name too short",
			env:     map[string]string{"BOSKOS_TABLE": "ab"},
			wantErr: []string{`BOSKOS_TABLE: "ab" is not a DynamoDB table name`},
		},
		{
			name:    "negative ttl",
			env:     map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_REQUEST_TTL": "-1s"},
			wantErr: []string{`BOSKOS_REQUEST_TTL: "-1s" must be positive`},
		},
		{
			name:    "negative spread window",
			env:     map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_SPREAD_WINDOW": "-1ms"},
			wantErr: []string{`BOSKOS_SPREAD_WINDOW: "-1ms" must not be negative`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromEnv(env(tc.env))
			if len(tc.wantErr) > 0 {
				require.Error(t, err)
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				assert.Len(t, strings.Split(err.Error(), "\n"), len(tc.wantErr), "one line per error: %q", err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
