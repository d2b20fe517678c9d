package lambdaapp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// EnvHistoryRetention is how long the history writer keeps records (Go
// duration, default ranch.DefaultHistoryRetention): their ttl.
const EnvHistoryRetention = "BOSKOS_HISTORY_RETENTION"

// HistoryWriterConfig is the history writer's configuration: FromEnv's and
// the retention.
type HistoryWriterConfig struct {
	Config
	Retention time.Duration
}

// HistoryWriterFromEnv reads a HistoryWriterConfig through lookup, every
// error at once.
func HistoryWriterFromEnv(lookup func(string) (string, bool)) (HistoryWriterConfig, error) {
	var errs []string
	cfg, err := FromEnv(lookup)
	if err != nil {
		errs = append(errs, err.Error())
	}
	hc := HistoryWriterConfig{Config: cfg, Retention: ranch.DefaultHistoryRetention}
	if v, ok := lookup(EnvHistoryRetention); ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("%s=%q: want a positive Go duration such as 720h", EnvHistoryRetention, v))
		}
		hc.Retention = d
	}
	if len(errs) > 0 {
		return hc, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return hc, nil
}

// HistoryWriter returns the handler of the history writer function: one
// pass of ranch.WriteHistory over a batch of the table's stream records
// (events.DynamoDBEvent, from an event source mapping with
// ReportBatchItemFailures). Records already written count as written (a
// batch delivered again); after a failure the answer names the first record
// not written, and Lambda retries the batch from it (bisecting, then the
// on-failure queue). Records of other namespaces than the resources (the
// mapping filters them out) are skipped.
func HistoryWriter(st store.Store, o ranch.HistoryOptions, log *slog.Logger) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		changes := make([]store.Change, 0, len(ev.Records))
		seqs := make([]string, 0, len(ev.Records))
		var resp events.DynamoDBEventResponse
		for _, rec := range ev.Records {
			c, err := streamChange(rec)
			if err != nil {
				log.Error("history writer: malformed stream record", "sequence", rec.Change.SequenceNumber, "err", err)
				resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: rec.Change.SequenceNumber}}
				break
			}
			changes = append(changes, c)
			seqs = append(seqs, rec.Change.SequenceNumber)
		}
		done, err := ranch.WriteHistory(ctx, st, changes, o)
		if err != nil {
			log.Error("history writer: write failed; Lambda retries from the record", "sequence", seqs[done], "written", done, "err", err)
			resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: seqs[done]}}
		}
		log.Debug("history writer: batch", "records", len(ev.Records), "written", done)
		return resp, nil
	}
}

// streamChange converts one Lambda stream record.
func streamChange(rec events.DynamoDBEventRecord) (store.Change, error) {
	oldImg, err := lambdaImage(rec.Change.OldImage)
	if err != nil {
		return store.Change{}, fmt.Errorf("old image: %w", err)
	}
	newImg, err := lambdaImage(rec.Change.NewImage)
	if err != nil {
		return store.Change{}, fmt.Errorf("new image: %w", err)
	}
	return dynamostore.ChangeOf(oldImg, newImg, rec.Change.ApproximateCreationDateTime.Time)
}

// lambdaImage converts aws-lambda-go's attribute values into the SDK's.
func lambdaImage(m map[string]events.DynamoDBAttributeValue) (map[string]ddbtypes.AttributeValue, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]ddbtypes.AttributeValue, len(m))
	for k, v := range m {
		c, err := lambdaValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

func lambdaValue(v events.DynamoDBAttributeValue) (ddbtypes.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &ddbtypes.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &ddbtypes.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &ddbtypes.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &ddbtypes.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &ddbtypes.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &ddbtypes.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &ddbtypes.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &ddbtypes.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeMap:
		m, err := lambdaImage(v.Map())
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = map[string]ddbtypes.AttributeValue{}
		}
		return &ddbtypes.AttributeValueMemberM{Value: m}, nil
	case events.DataTypeList:
		l := make([]ddbtypes.AttributeValue, len(v.List()))
		for i, e := range v.List() {
			c, err := lambdaValue(e)
			if err != nil {
				return nil, err
			}
			l[i] = c
		}
		return &ddbtypes.AttributeValueMemberL{Value: l}, nil
	}
	return nil, fmt.Errorf("unsupported attribute type %v", v.DataType())
}

// MainHistoryWriter is the whole body of the history writer's main: it
// reads the configuration through lookup (HistoryWriterFromEnv), builds the
// store and serves stream batches until the Lambda runtime ends the
// process. It returns only when it cannot start: 2 for a bad
// configuration.
func MainHistoryWriter(lookup func(string) (string, bool), stderr io.Writer) int {
	const name = "historywriter"
	hc, err := HistoryWriterFromEnv(lookup)
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", name, err)
		return 2
	}
	hc.Function = functionName(name, lookup)
	hc.AWS = AWSFromEnv(lookup)
	lambda.Start(NewHistoryWriter(hc))
	return 0
}

// NewHistoryWriter builds the history writer's handler from hc (the
// DynamoDB client of hc.Client, or one from hc.AWS). It makes no request.
func NewHistoryWriter(hc HistoryWriterConfig) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	api := hc.Client
	if api == nil {
		api = dynamostore.NewClientFromConfig(hc.AWS.Config(), dynamostore.ClientConfig{Region: hc.Region, Endpoint: hc.Endpoint})
	}
	st := dynamostore.New(api, hc.Table, dynamostore.Options{})
	return HistoryWriter(st, ranch.HistoryOptions{Retention: hc.Retention, Now: hc.Now}, hc.Log())
}
