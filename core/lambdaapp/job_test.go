package lambdaapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/s3config"
	"github.com/boskos-serverless/boskos/core/s3config/s3test"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// fakeJob runs its function as a pass.
type fakeJob func(ctx context.Context) (any, error)

func (f fakeJob) Name() string                             { return "fake" }
func (f fakeJob) RunOnce(ctx context.Context) (any, error) { return f(ctx) }

// TestJobHandler: one pass per event, bounded a safety margin before the
// invocation's deadline, reported, logged as JSON, and failing the
// invocation only when the pass failed.
func TestJobHandler(t *testing.T) {
	ev := events.EventBridgeEvent{ID: "ev-1", DetailType: "Scheduled Event", Time: time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)}
	tests := []struct {
		name        string
		timeout     time.Duration // of the invocation; 0 = no deadline
		margin      time.Duration
		pass        fakeJob
		wantErr     string
		wantStopped bool
		wantLog     string
	}{
		{
			name: "pass done", pass: func(context.Context) (any, error) { return map[string]int{"reset": 2}, nil },
			wantLog: `"msg":"job: pass done"`,
		},
		{
			name: "pass failed", pass: func(context.Context) (any, error) { return nil, errors.New("table gone") },
			wantErr: "fake: table gone", wantLog: `"level":"ERROR"`,
		},
		{
			name: "pass gets a deadline a margin before the invocation's", timeout: 10 * time.Second, margin: time.Second,
			pass: func(ctx context.Context) (any, error) {
				dl, ok := ctx.Deadline()
				if !ok {
					return nil, errors.New("no deadline")
				}
				if left := time.Until(dl); left > 9*time.Second || left < 8*time.Second {
					return nil, errors.New("deadline " + left.String() + " away, want about 9s")
				}
				return "ok", nil
			},
			wantLog: `"msg":"job: pass done"`,
		},
		{
			name: "margin at most a fifth of the time left", timeout: 10 * time.Second, margin: time.Minute,
			pass: func(ctx context.Context) (any, error) {
				dl, _ := ctx.Deadline()
				if left := time.Until(dl); left > 8*time.Second || left < 7*time.Second {
					return nil, errors.New("deadline " + left.String() + " away, want about 8s")
				}
				return "ok", nil
			},
			wantLog: `"msg":"job: pass done"`,
		},
		{
			name: "pass stopped by the margin is not a failure", timeout: 500 * time.Millisecond,
			pass: func(ctx context.Context) (any, error) {
				<-ctx.Done()
				return "partial", ctx.Err()
			},
			wantStopped: true, wantLog: `"stopped_at_deadline":true`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			rep, err := JobHandler(tc.pass, log, tc.margin, nil)(ctx, ev)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				assert.Equal(t, "table gone", rep.Error)
			} else {
				require.NoError(t, err, "report %+v", rep)
			}
			assert.Equal(t, "fake", rep.Job)
			assert.Equal(t, "ev-1", rep.EventID)
			assert.Equal(t, ev.Time, rep.EventTime)
			assert.Equal(t, tc.wantStopped, rep.StoppedAtDeadline)
			assert.Contains(t, logs.String(), tc.wantLog)
			assert.Contains(t, logs.String(), `"event_id":"ev-1"`, "the report is logged")
			var line map[string]any
			require.NoError(t, json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line), "one JSON line: %s", logs.String())
		})
	}
}

// noStarts is a mason.Starter that is never called (nothing to build).
type noStarts struct{}

func (noStarts) Start(context.Context, string, []byte) error {
	return errors.New("no execution expected")
}

// TestScheduledEvents: every events/<job>/*.json is an EventBridge
// scheduled event (decoded strictly), and each is served by its job's
// handler built as the function builds it, on a DynamoDB Local table
// (the janitor is not wired yet: NewJob refuses it).
func TestScheduledEvents(t *testing.T) {
	srv := s3test.NewServer(t)
	srv.CreateBucket(t, "cfg")
	uri := s3config.URI{Bucket: "cfg", Key: "boskos.yaml"}
	_, err := s3config.New(srv.Client(t), uri).Put(context.Background(), []byte("resources:\n- {type: proj, names: [p-1]}\n"))
	require.NoError(t, err)
	n := 0
	for _, job := range Jobs() {
		files, err := filepath.Glob(filepath.Join(eventsDir, job, "*.json"))
		require.NoError(t, err)
		require.NotEmpty(t, files, "events/%s has no sample event", job)
		for _, f := range files {
			n++
			t.Run(job+"-"+strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
				raw, err := os.ReadFile(f)
				require.NoError(t, err)
				var ev events.EventBridgeEvent
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.DisallowUnknownFields()
				require.NoError(t, dec.Decode(&ev), "%s is not an EventBridge event", f)
				assert.Equal(t, "Scheduled Event", ev.DetailType)
				assert.Equal(t, "aws.events", ev.Source)
				assert.NotEmpty(t, ev.ID)
				assert.False(t, ev.Time.IsZero())
				require.Len(t, ev.Resources, 1)
				assert.Contains(t, ev.Resources[0], ":rule/")
				assert.JSONEq(t, "{}", string(ev.Detail))

				client, table := dynamotest.NewTable(t)
				log := slog.New(slog.DiscardHandler)
				jc := JobConfig{
					Config: Config{Table: table, RequestTTL: ranch.DefaultRequestTTL, Client: client, Logger: log},
					Job:    job, ConfigURI: uri, S3Client: srv.Client(t),
					Reaper:         maintenance.ReaperOptions{Expire: time.Minute},
					JanitorTargets: "proj=http://127.0.0.1:1/", JanitorMaxFailures: 3,
					MasonJob: MasonDispatcher, MasonStarter: noStarts{},
				}
				j, err := NewJob(context.Background(), jc)
				require.NoError(t, err)
				rep, err := JobHandler(j, log, 0, nil)(context.Background(), ev)
				require.NoError(t, err)
				assert.Equal(t, job, rep.Job)
				assert.Equal(t, ev.ID, rep.EventID)
				_, err = json.Marshal(rep)
				require.NoError(t, err)
			})
		}
	}
	assert.GreaterOrEqual(t, n, 4)
}
