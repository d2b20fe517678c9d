package lambdaapp

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/s3config"
)

func TestJobFromEnv(t *testing.T) {
	base := Config{Table: "boskos", RequestTTL: 30 * time.Second, SpreadWindow: 500 * time.Millisecond, LogLevel: slog.LevelInfo}
	tests := []struct {
		name    string
		job     string
		env     map[string]string
		want    JobConfig
		wantErr []string // every line must appear, one line each
	}{
		{
			name: "reaper defaults",
			job:  "reaper",
			env:  map[string]string{"BOSKOS_TABLE": "boskos"},
			want: JobConfig{Config: base, Job: "reaper", Reaper: maintenance.ReaperOptions{Expire: 30 * time.Minute, TargetState: "dirty"}},
		},
		{
			name: "reaper set",
			job:  "reaper",
			env: map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_REAPER_EXPIRE": "1s", "BOSKOS_REAPER_TARGET_STATE": "free",
				"BOSKOS_REAPER_EXTRA_STATES": "leased-2, warm"},
			want: JobConfig{Config: base, Job: "reaper", Reaper: maintenance.ReaperOptions{Expire: time.Second, TargetState: "free", ExtraStates: []string{"leased-2", "warm"}}},
		},
		{
			name: "reconciler",
			job:  "reconciler",
			env:  map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_CONFIG_URI": "s3://cfg/boskos.yaml", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"},
			want: JobConfig{Config: base, Job: "reconciler", ConfigURI: s3config.URI{Bucket: "cfg", Key: "boskos.yaml"}, S3Endpoint: "http://127.0.0.1:9000"},
		},
		{
			name: "cleaner ignores the other jobs' variables",
			job:  "cleaner",
			env:  map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_CONFIG_URI": "nope", "BOSKOS_REAPER_EXPIRE": "x", "BOSKOS_JANITOR_TARGETS": "="},
			want: JobConfig{Config: base, Job: "cleaner"},
		},
		{
			name: "janitor",
			job:  "janitor",
			env: map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_JANITOR_TARGETS": "gce-project=https://clean.example.com/gce, aws-account=arn:aws:lambda:us-east-1:123456789012:function:clean-aws:live,kind=clean-kind",
				"BOSKOS_JANITOR_MAX_FAILURES": "5"},
			want: JobConfig{Config: base, Job: "janitor", JanitorMaxFailures: 5, JanitorTargets: []JanitorTarget{
				{Type: "gce-project", Webhook: "https://clean.example.com/gce"},
				{Type: "aws-account", Function: "arn:aws:lambda:us-east-1:123456789012:function:clean-aws:live"},
				{Type: "kind", Function: "clean-kind"},
			}},
		},
		{
			name: "janitor default max failures",
			job:  "janitor",
			env:  map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_JANITOR_TARGETS": "a=http://127.0.0.1:8081/"},
			want: JobConfig{Config: base, Job: "janitor", JanitorMaxFailures: 3, JanitorTargets: []JanitorTarget{{Type: "a", Webhook: "http://127.0.0.1:8081/"}}},
		},
		{
			name: "reaper: every error at once",
			job:  "reaper",
			env:  map[string]string{"BOSKOS_LOG_LEVEL": "loud", "BOSKOS_REAPER_EXPIRE": "-1m", "BOSKOS_REAPER_TARGET_STATE": "a\tb", "BOSKOS_REAPER_EXTRA_STATES": "a,,b"},
			wantErr: []string{
				"BOSKOS_TABLE: must be set",
				`BOSKOS_LOG_LEVEL: "loud" is not a level`,
				`BOSKOS_REAPER_EXPIRE: "-1m" must be positive`,
				"BOSKOS_REAPER_TARGET_STATE: invalid state",
				`BOSKOS_REAPER_EXTRA_STATES: state 2 of "a,,b" is empty`,
			},
		},
		{
			name:    "reaper: not a duration",
			job:     "reaper",
			env:     map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_REAPER_EXPIRE": "30"},
			wantErr: []string{`BOSKOS_REAPER_EXPIRE: "30" is not a duration`},
		},
		{
			name:    "reconciler: URI required",
			job:     "reconciler",
			env:     map[string]string{"BOSKOS_TABLE": "boskos"},
			wantErr: []string{"BOSKOS_CONFIG_URI: must be set for the reconciler"},
		},
		{
			name: "reconciler: an S3 URI that is not one, and a bad endpoint",
			job:  "reconciler",
			env:  map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_CONFIG_URI": "https://cfg/boskos.yaml", "AWS_ENDPOINT_URL_S3": "localhost:9000"},
			wantErr: []string{
				`BOSKOS_CONFIG_URI: "https://cfg/boskos.yaml" is not an S3 URI (s3://bucket/key): the scheme is "https", not s3`,
				`AWS_ENDPOINT_URL_S3: "localhost:9000" is not an http(s) URL`,
			},
		},
		{
			name:    "janitor: targets required",
			job:     "janitor",
			env:     map[string]string{"BOSKOS_TABLE": "boskos"},
			wantErr: []string{"BOSKOS_JANITOR_TARGETS: must be set for the janitor"},
		},
		{
			name: "janitor: every bad entry at once",
			job:  "janitor",
			env:  map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_JANITOR_TARGETS": "a=ftp://x,b,c=not a function,a=f2,,d=http://", "BOSKOS_JANITOR_MAX_FAILURES": "0"},
			wantErr: []string{
				`BOSKOS_JANITOR_TARGETS: entry 1 "a=ftp://x": "ftp://x" is not an http(s) URL`,
				`BOSKOS_JANITOR_TARGETS: entry 2 "b" is not TYPE=TARGET`,
				`BOSKOS_JANITOR_TARGETS: entry 3 "c=not a function": "not a function" is neither an http(s):// URL nor a Lambda function name`,
				`BOSKOS_JANITOR_TARGETS: entry 4 "a=f2": type "a" is given twice`,
				"BOSKOS_JANITOR_TARGETS: entry 5 is empty",
				`BOSKOS_JANITOR_TARGETS: entry 6 "d=http://": "http://" is not an http(s) URL`,
				`BOSKOS_JANITOR_MAX_FAILURES: "0" must be at least 1`,
			},
		},
		{
			name:    "janitor: max failures not a number",
			job:     "janitor",
			env:     map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_JANITOR_TARGETS": "a=f", "BOSKOS_JANITOR_MAX_FAILURES": "three"},
			wantErr: []string{`BOSKOS_JANITOR_MAX_FAILURES: "three" is not a whole number`},
		},
		{
			name:    "unknown job",
			job:     "gardener",
			env:     map[string]string{"BOSKOS_TABLE": "boskos"},
			wantErr: []string{`"gardener" is not a scheduled job (cleaner, janitor, reaper, reconciler)`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JobFromEnv(tc.job, env(tc.env))
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

func TestParseJanitorTargets(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []JanitorTarget
		errs int
	}{
		{name: "function name", in: "t=clean", want: []JanitorTarget{{Type: "t", Function: "clean"}}},
		{name: "function with alias", in: "t=clean:prod", want: []JanitorTarget{{Type: "t", Function: "clean:prod"}}},
		{name: "partial ARN", in: "t=123456789012:function:clean", want: []JanitorTarget{{Type: "t", Function: "123456789012:function:clean"}}},
		{name: "GovCloud ARN", in: "t=arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:clean", want: []JanitorTarget{{Type: "t", Function: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:clean"}}},
		{name: "webhook with query", in: "t=https://h.example/c?x=1", want: []JanitorTarget{{Type: "t", Webhook: "https://h.example/c?x=1"}}},
		{name: "blanks around", in: " a = http://h/ , b = f ", want: []JanitorTarget{{Type: "a", Webhook: "http://h/"}, {Type: "b", Function: "f"}}},
		{name: "function name too long", in: "t=" + strings.Repeat("f", 65), errs: 1},
		{name: "not a lambda ARN", in: "t=arn:aws:sqs:us-east-1:123456789012:q", errs: 1},
		{name: "empty type", in: "=f", errs: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ParseJanitorTargets(tc.in)
			assert.Len(t, errs, tc.errs, "%v", errs)
			if tc.errs == 0 {
				assert.Equal(t, tc.want, got)
			}
		})
	}
}
