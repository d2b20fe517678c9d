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
			want: JobConfig{Config: base, Job: "janitor", JanitorMaxFailures: 5,
				JanitorTargets: "gce-project=https://clean.example.com/gce, aws-account=arn:aws:lambda:us-east-1:123456789012:function:clean-aws:live,kind=clean-kind"},
		},
		{
			name: "janitor default max failures",
			job:  "janitor",
			env:  map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_JANITOR_TARGETS": "a=http://127.0.0.1:8081/"},
			want: JobConfig{Config: base, Job: "janitor", JanitorTargets: "a=http://127.0.0.1:8081/"},
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
			env:  map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_JANITOR_TARGETS": "a=ftp://x,b,c=not a function,e=f1,e=f2,,d=http://", "BOSKOS_JANITOR_MAX_FAILURES": "0"},
			wantErr: []string{
				`BOSKOS_JANITOR_TARGETS: entry "a=ftp://x": invalid URL "ftp://x": the scheme must be http or https`,
				`BOSKOS_JANITOR_TARGETS: entry "b": want TYPE=TARGET`,
				`BOSKOS_JANITOR_TARGETS: entry "c=not a function": "not a function" is not a Lambda function name or ARN`,
				`BOSKOS_JANITOR_TARGETS: entry "e=f2": type "e" has a target already`,
				`BOSKOS_JANITOR_TARGETS: entry "d=http://": invalid URL "http://": no host`,
				`BOSKOS_JANITOR_MAX_FAILURES: "0" must be positive`,
			},
		},
		{
			name:    "janitor: max failures not a number",
			job:     "janitor",
			env:     map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_JANITOR_TARGETS": "a=f", "BOSKOS_JANITOR_MAX_FAILURES": "three"},
			wantErr: []string{`BOSKOS_JANITOR_MAX_FAILURES: "three" is not an integer`},
		},
		{
			name:    "unknown job",
			job:     "gardener",
			env:     map[string]string{"BOSKOS_TABLE": "boskos"},
			wantErr: []string{`"gardener" is not a scheduled job (cleaner, janitor, mason-dispatch, reaper, reconciler)`},
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

func TestJobFromEnvJanitorTargets(t *testing.T) {
	tests := []struct {
		name, in string
		err      string
	}{
		{name: "function name", in: "t=clean"},
		{name: "function with alias", in: "t=clean:prod"},
		{name: "partial ARN", in: "t=123456789012:function:clean"},
		{name: "GovCloud ARN", in: "t=arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:clean"},
		{name: "webhook with query", in: "t=https://h.example/c?x=1"},
		{name: "blanks around", in: " a = http://h/ , b = f "},
		{name: "every type", in: "*=https://h.example/c"},
		{name: "not a lambda ARN", in: "t=arn:aws:sqs:us-east-1:123456789012:q", err: "BOSKOS_JANITOR_TARGETS"},
		{name: "empty type", in: "=f", err: "no type before '='"},
		{name: "no target", in: "t=", err: `no target for type "t"`},
		{name: "twice", in: "t=f,t=g", err: `type "t" has a target already`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"BOSKOS_TABLE": "boskos", "BOSKOS_JANITOR_TARGETS": tc.in}
			jc, err := JobFromEnv("janitor", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, strings.TrimSpace(tc.in), jc.JanitorTargets)
		})
	}
}
