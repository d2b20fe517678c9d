package lambdaapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// historyWriterSamples are, for each events/historywriter/<case>.json, the
// writes on the seeded table whose stream records the event holds (one
// write per record, in order) and the history records the writer makes of
// them, newest first.
var historyWriterSamples = map[string]struct {
	writes []seedStep
	want   []boskos.HistoryRecord
}{
	"acquire-release": {
		writes: []seedStep{
			{time.Minute, func(ctx context.Context, r *ranch.Ranch) error {
				_, err := r.Acquire(ctx, "pair", boskos.Free, boskos.Busy, "carol", "")
				return err
			}},
			{31 * time.Minute, func(ctx context.Context, r *ranch.Ranch) error {
				return r.Release(ctx, "pair-1", boskos.Dirty, "carol", nil)
			}},
		},
		want: []boskos.HistoryRecord{
			{Name: "pair-1", Type: "pair", Version: 3, Time: seedTime.Add(31 * time.Minute), Event: boskos.EventRelease,
				FromState: boskos.Busy, ToState: boskos.Dirty, PrevOwner: "carol", Epoch: 1, HeldSeconds: 1800},
			{Name: "pair-1", Type: "pair", Version: 2, Time: seedTime.Add(time.Minute), Event: boskos.EventAcquire,
				FromState: boskos.Free, ToState: boskos.Busy, Owner: "carol", Epoch: 1},
		},
	},
}

// TestHistoryWriterEvents: every events/historywriter/*.json is a batch of
// the table's stream as Lambda delivers it (events.DynamoDBEvent, decoded
// strictly) and holds the images of the writes of its case
// (historyWriterSamples), made on a seeded table: each record's old image
// is the item before its write, its new image the item after. The real
// handler (NewHistoryWriter) writes exactly the case's records; the batch
// delivered again, and the table's own stream with the same writes, write
// nothing more.
func TestHistoryWriterEvents(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(eventsDir, deploy.FnHistoryWriter, "*.json"))
	require.NoError(t, err)
	var cases []string
	for _, f := range files {
		cases = append(cases, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	var want []string
	for c := range historyWriterSamples {
		want = append(want, c)
	}
	slices.Sort(want)
	require.Equal(t, want, cases, "events/historywriter/*.json and historyWriterSamples")

	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			sample := historyWriterSamples[name]
			raw, err := os.ReadFile(filepath.Join(eventsDir, deploy.FnHistoryWriter, name+".json"))
			require.NoError(t, err)
			var ev events.DynamoDBEvent
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&ev), "not a DynamoDB stream event")
			require.Len(t, ev.Records, len(sample.writes), "one record per write")
			checkStreamRecords(t, ev.Records)

			client, table := dynamotest.NewTable(t)
			log := slog.New(slog.DiscardHandler)
			var now time.Time
			clock := func() time.Time { return now }
			cfg := Config{Table: table, RequestTTL: ranch.DefaultRequestTTL, Client: client, Now: clock, Logger: log}
			seed(t, cfg)
			st := dynamostore.New(client, table, dynamostore.Options{})
			r := ranch.New(st, ranch.Options{Now: clock, Logger: log})

			for i, w := range sample.writes {
				rec := ev.Records[i]
				c, err := streamChange(rec)
				require.NoError(t, err, "record %d", i)
				key := "resource/" + rec.Change.Keys["sk"].String()
				assert.Equal(t, c.Old, currentItem(t, st, key), "record %d: the old image is %s before the write", i, key)
				now = seedTime.Add(w.at)
				require.NoError(t, w.do(ctx, r), "write %d", i)
				assert.Equal(t, c.New, currentItem(t, st, key), "record %d: the new image is %s after the write", i, key)
				assert.Equal(t, now, c.At.UTC(), "record %d: ApproximateCreationDateTime is the write's time", i)
			}

			before := countHistory(t, st)
			h := NewHistoryWriter(HistoryWriterConfig{Config: cfg, Retention: ranch.DefaultHistoryRetention})
			resp, err := h(ctx, ev)
			require.NoError(t, err)
			assert.Empty(t, resp.BatchItemFailures)
			assert.Equal(t, before+len(sample.want), countHistory(t, st), "history records written")
			page, err := r.ResourceHistory(ctx, sample.want[0].Name, len(sample.want), "")
			require.NoError(t, err)
			assert.Equal(t, sample.want, page.Items, "the newest records of %s", sample.want[0].Name)

			for _, again := range []struct {
				name    string
				deliver func() error
			}{
				{"the batch delivered again", func() error {
					resp, err := h(ctx, ev)
					assert.Empty(t, resp.BatchItemFailures)
					return err
				}},
				{"the table's own stream of the same writes", func() error {
					_, err := streamPass(t, cfg, func(ctx context.Context, ch []store.Change) error {
						_, err := ranch.WriteHistory(ctx, st, ch, ranch.HistoryOptions{Now: clock})
						return err
					})
					return err
				}},
			} {
				require.NoError(t, again.deliver(), again.name)
				assert.Equal(t, before+len(sample.want), countHistory(t, st), "%s writes nothing more", again.name)
			}
		})
	}
}

// checkStreamRecords checks records the way a table stream with
// NEW_AND_OLD_IMAGES delivers them to Lambda: from DynamoDB, the table's
// stream, with the images the event name says, keys that are the images'
// own, and sequence numbers that grow.
func checkStreamRecords(t *testing.T, records []events.DynamoDBEventRecord) {
	t.Helper()
	prev := ""
	for i, rec := range records {
		ch := rec.Change
		assert.Equal(t, "aws:dynamodb", rec.EventSource, "record %d: eventSource", i)
		assert.Equal(t, "1.1", rec.EventVersion, "record %d: eventVersion", i)
		assert.NotEmpty(t, rec.EventID, "record %d: eventID", i)
		assert.NotEmpty(t, rec.AWSRegion, "record %d: awsRegion", i)
		assert.Contains(t, rec.EventSourceArn, ":"+rec.AWSRegion+":", "record %d: eventSourceARN's region", i)
		assert.Contains(t, rec.EventSourceArn, "/stream/", "record %d: eventSourceARN is a table's stream", i)
		assert.Equal(t, deploy.StreamViewType, ch.StreamViewType, "record %d: StreamViewType", i)
		assert.False(t, ch.ApproximateCreationDateTime.IsZero(), "record %d: ApproximateCreationDateTime", i)
		assert.Positive(t, ch.SizeBytes, "record %d: SizeBytes", i)
		switch rec.EventName {
		case "INSERT":
			assert.Empty(t, ch.OldImage, "record %d: an INSERT has no old image", i)
			assert.NotEmpty(t, ch.NewImage, "record %d: new image", i)
		case "MODIFY":
			assert.NotEmpty(t, ch.OldImage, "record %d: old image", i)
			assert.NotEmpty(t, ch.NewImage, "record %d: new image", i)
		case "REMOVE":
			assert.NotEmpty(t, ch.OldImage, "record %d: old image", i)
			assert.Empty(t, ch.NewImage, "record %d: a REMOVE has no new image", i)
		default:
			t.Errorf("record %d: eventName %q, want INSERT, MODIFY or REMOVE", i, rec.EventName)
		}
		for _, img := range []map[string]events.DynamoDBAttributeValue{ch.OldImage, ch.NewImage} {
			if len(img) == 0 {
				continue
			}
			for _, k := range []string{dynamostore.AttrPK, dynamostore.AttrSK} {
				assert.Equal(t, ch.Keys[k], img[k], "record %d: Keys.%s is the image's", i, k)
			}
		}
		assert.Len(t, ch.Keys, 2, "record %d: Keys are pk and sk", i)
		seq := ch.SequenceNumber
		assert.NotEmpty(t, seq, "record %d: SequenceNumber", i)
		assert.True(t, len(seq) > len(prev) || (len(seq) == len(prev) && seq > prev),
			"record %d: SequenceNumber %s after %s", i, seq, prev)
		prev = seq
	}
}

// currentItem is the item under key, nil when there is none.
func currentItem(t *testing.T, st store.Store, key string) *store.Item {
	t.Helper()
	it, err := st.Get(context.Background(), key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	require.NoError(t, err)
	return &it
}

// countHistory counts the table's history records.
func countHistory(t *testing.T, st store.Store) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		p, err := st.List(context.Background(), "history/", cursor, 100)
		require.NoError(t, err)
		n += len(p.Items)
		if p.Next == "" {
			return n
		}
		cursor = p.Next
	}
}
