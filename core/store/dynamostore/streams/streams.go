// Package streams reads the DynamoDB stream of a dynamostore table with the
// DynamoDB Streams API (DescribeStream, GetShardIterator, GetRecords) and
// hands its records, as store.Change values, to a handler: the change feed
// of `boskos serve --store dynamodb:TABLE` (in AWS, Lambda's event source
// mapping reads the stream instead).
//
// A Reader walks every shard of the stream, parents before children (a
// key's records move to a child shard when its parent closes, so the order
// of one item's changes is kept), and after each batch the handler
// accepted it checkpoints the shard's last sequence number in a store
// (namespace "streamfeed/", one item per shard). A restarted Reader
// resumes after the checkpoint: delivery is at least once (a batch handled
// but not checkpointed when the process died is delivered again), so the
// handler must be idempotent. A closed shard read to its end is marked
// done. Checkpoints carry a ttl a week after their last write; shards live
// 24 hours in a stream.
package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// API is the part of *dynamodbstreams.Client that a Reader calls.
type API interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// TableAPI is the part of *dynamodb.Client that finds the table's stream.
type TableAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

var (
	_ API      = (*dynamodbstreams.Client)(nil)
	_ TableAPI = (*dynamodb.Client)(nil)
)

// Handler receives one batch of changes of one shard, in stream order. An
// error stops the pass; the batch is delivered again by the next one.
type Handler func(ctx context.Context, changes []store.Change) error

// Defaults of Options.
const (
	DefaultBatchSize    = 100
	DefaultPollInterval = time.Second
	checkpointPrefix    = "streamfeed/"
	checkpointTTL       = 7 * 24 * time.Hour
	attrSeq             = "seq"
	attrDone            = "done"
)

// Options tune a Reader. The zero value of each field means its default.
type Options struct {
	// Checkpoints keeps the shards' positions (required): usually the
	// table's own store.
	Checkpoints store.Store
	// BatchSize is GetRecords' Limit (default DefaultBatchSize, at most
	// 1000).
	BatchSize int
	// PollInterval is Run's wait between passes (default
	// DefaultPollInterval).
	PollInterval time.Duration
	// Now is the clock of the checkpoints' ttl (default time.Now).
	Now func() time.Time
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Reader reads one table's stream. It is not safe for concurrent use: run
// one Pass (or Run) at a time; two Readers on one checkpoint store deliver
// the same records twice, which an idempotent handler tolerates.
type Reader struct {
	api    API
	tables TableAPI
	table  string
	handle Handler
	o      Options
	arn    string
}

// New returns a Reader of table's stream that passes its records to h.
func New(api API, tables TableAPI, table string, h Handler, o Options) *Reader {
	if o.BatchSize <= 0 || o.BatchSize > 1000 {
		o.BatchSize = DefaultBatchSize
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Reader{api: api, tables: tables, table: table, handle: h, o: o}
}

// NewClientFromConfig returns a DynamoDB Streams client configured by cfg
// (endpoint, retries) over the AWS configuration the caller built
// (core/awsload loads the SDK's default one). cfg's Region and Credentials,
// when set, replace awsCfg's.
func NewClientFromConfig(awsCfg aws.Config, cfg dynamostore.ClientConfig) *dynamodbstreams.Client {
	if cfg.Region != "" {
		awsCfg.Region = cfg.Region
	}
	if cfg.Credentials != nil {
		awsCfg.Credentials = cfg.Credentials
	}
	awsCfg.Retryer = func() aws.Retryer { return dynamostore.NewRetryer(cfg.MaxAttempts, cfg.MaxBackoff) }
	return dynamodbstreams.NewFromConfig(awsCfg, func(o *dynamodbstreams.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
}

func wrap(op string, err error) error {
	return fmt.Errorf("streams: %s: %w", op, dynamostore.Translate(err))
}

// streamARN returns the table's latest stream (cached).
func (r *Reader) streamARN(ctx context.Context) (string, error) {
	if r.arn != "" {
		return r.arn, nil
	}
	out, err := r.tables.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.table)})
	if err != nil {
		return "", wrap("describe table "+r.table, err)
	}
	if out.Table == nil || aws.ToString(out.Table.LatestStreamArn) == "" {
		return "", fmt.Errorf("streams: table %s has no stream (create it with boskos table create)", r.table)
	}
	r.arn = aws.ToString(out.Table.LatestStreamArn)
	return r.arn, nil
}

// shards lists the stream's shards, parents before children.
func (r *Reader) shards(ctx context.Context, arn string) ([]types.Shard, error) {
	var all []types.Shard
	var start *string
	for {
		out, err := r.api.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn), ExclusiveStartShardId: start})
		if err != nil {
			return nil, wrap("describe stream", err)
		}
		if out.StreamDescription == nil {
			break
		}
		all = append(all, out.StreamDescription.Shards...)
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			break
		}
	}
	byID := map[string]types.Shard{}
	for _, s := range all {
		byID[aws.ToString(s.ShardId)] = s
	}
	depth := func(s types.Shard) int {
		d := 0
		for p := aws.ToString(s.ParentShardId); p != "" && d < len(all); d++ {
			ps, ok := byID[p]
			if !ok {
				break
			}
			p = aws.ToString(ps.ParentShardId)
		}
		return d
	}
	sort.SliceStable(all, func(i, j int) bool { return depth(all[i]) < depth(all[j]) })
	return all, nil
}

type checkpoint struct {
	seq  string
	done bool
}

func (r *Reader) checkpoint(ctx context.Context, shard string) (checkpoint, error) {
	it, err := r.o.Checkpoints.Get(ctx, checkpointPrefix+shard)
	if errors.Is(err, store.ErrNotFound) {
		return checkpoint{}, nil
	}
	if err != nil {
		return checkpoint{}, fmt.Errorf("streams: read checkpoint of %s: %w", shard, err)
	}
	return checkpoint{seq: it.S(attrSeq), done: it.S(attrDone) != ""}, nil
}

func (r *Reader) save(ctx context.Context, shard string, cp checkpoint) error {
	done := ""
	if cp.done {
		done = "1"
	}
	_, err := r.o.Checkpoints.Update(ctx, store.Update{
		Key:    checkpointPrefix + shard,
		Upsert: true,
		Set:    map[string]string{attrSeq: cp.seq, attrDone: done},
		SetNum: map[string]int64{store.TTLAttr: r.o.Now().Add(checkpointTTL).Unix()},
	})
	if err != nil {
		return fmt.Errorf("streams: checkpoint %s: %w", shard, err)
	}
	return nil
}

// Pass reads every shard from its checkpoint to its current end, handing
// each batch to the handler and checkpointing after it. It returns how
// many records it delivered. A shard whose parent is still open waits
// for a later pass.
func (r *Reader) Pass(ctx context.Context) (int, error) {
	arn, err := r.streamARN(ctx)
	if err != nil {
		return 0, err
	}
	shards, err := r.shards(ctx, arn)
	if err != nil {
		return 0, err
	}
	listed := map[string]bool{}
	for _, s := range shards {
		listed[aws.ToString(s.ShardId)] = true
	}
	done := map[string]bool{}
	n := 0
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		if p := aws.ToString(s.ParentShardId); p != "" && listed[p] && !done[p] {
			continue // its parent is not read to its end yet
		}
		cp, err := r.checkpoint(ctx, id)
		if err != nil {
			return n, err
		}
		if cp.done {
			done[id] = true
			continue
		}
		got, closed, err := r.readShard(ctx, arn, id, cp)
		n += got
		if err != nil {
			return n, err
		}
		done[id] = closed
	}
	return n, nil
}

// readShard reads one shard from cp; closed is true when it is read to its
// end and will have no more records.
func (r *Reader) readShard(ctx context.Context, arn, shard string, cp checkpoint) (n int, closed bool, err error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
	if cp.seq != "" {
		in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(cp.seq)
	}
	itOut, err := r.api.GetShardIterator(ctx, in)
	if err != nil && cp.seq != "" && strings.Contains(dynamostore.Translate(err).Error(), "TrimmedDataAccessException") {
		r.o.Logger.Warn("streams: the checkpoint is older than the stream's retention; reading the shard from its oldest record", "shard", shard)
		in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeTrimHorizon, nil
		itOut, err = r.api.GetShardIterator(ctx, in)
	}
	if err != nil {
		return 0, false, wrap("get shard iterator "+shard, err)
	}
	iter := itOut.ShardIterator
	for calls := 0; iter != nil && calls < maxCallsPerShard; calls++ {
		out, err := r.api.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(int32(r.o.BatchSize))})
		if err != nil {
			return n, false, wrap("get records "+shard, err)
		}
		changes, last, err := changesOf(out.Records)
		if err != nil {
			return n, false, err
		}
		if len(changes) > 0 {
			if err := r.handle(ctx, changes); err != nil {
				return n, false, err
			}
			n += len(changes)
			cp.seq = last
			if err := r.save(ctx, shard, cp); err != nil {
				return n, false, err
			}
		}
		// A batch of nothing but checkpoint writes (the previous save's
		// own record, when the checkpoints live in this table) is not
		// checkpointed: saving it would write a record to read again,
		// forever. The next pass reads it again and skips it again.
		if out.NextShardIterator == nil {
			cp.done = true
			return n, true, r.save(ctx, shard, cp)
		}
		if len(out.Records) == 0 {
			return n, false, nil // caught up with an open shard
		}
		iter = out.NextShardIterator
	}
	return n, false, nil // the next pass goes on
}

// maxCallsPerShard bounds the GetRecords calls of one shard in one pass,
// so that a pass ends under a steady stream of writes.
const maxCallsPerShard = 100

// checkpointNamespace is the partition key value of the checkpoint items.
var checkpointNamespace = strings.TrimSuffix(checkpointPrefix, "/")

// changesOf converts stream records, leaving out the checkpoints' own;
// last is the sequence number of the last change kept.
func changesOf(recs []types.Record) ([]store.Change, string, error) {
	out := make([]store.Change, 0, len(recs))
	last := ""
	for _, rec := range recs {
		if rec.Dynamodb == nil {
			continue
		}
		if pk, ok := rec.Dynamodb.Keys[dynamostore.AttrPK].(*types.AttributeValueMemberS); ok && pk.Value == checkpointNamespace {
			continue
		}
		last = aws.ToString(rec.Dynamodb.SequenceNumber)
		oldImg, err := Image(rec.Dynamodb.OldImage)
		if err != nil {
			return nil, "", err
		}
		newImg, err := Image(rec.Dynamodb.NewImage)
		if err != nil {
			return nil, "", err
		}
		c, err := dynamostore.ChangeOf(oldImg, newImg, aws.ToTime(rec.Dynamodb.ApproximateCreationDateTime))
		if err != nil {
			return nil, "", err
		}
		out = append(out, c)
	}
	return out, last, nil
}

// Image converts a stream image into DynamoDB's own attribute values (the
// two APIs have separate, identical types).
func Image(m map[string]types.AttributeValue) (map[string]ddbtypes.AttributeValue, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]ddbtypes.AttributeValue, len(m))
	for k, v := range m {
		c, err := value(v)
		if err != nil {
			return nil, fmt.Errorf("streams: attribute %s: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

func value(v types.AttributeValue) (ddbtypes.AttributeValue, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return &ddbtypes.AttributeValueMemberS{Value: v.Value}, nil
	case *types.AttributeValueMemberN:
		return &ddbtypes.AttributeValueMemberN{Value: v.Value}, nil
	case *types.AttributeValueMemberBOOL:
		return &ddbtypes.AttributeValueMemberBOOL{Value: v.Value}, nil
	case *types.AttributeValueMemberNULL:
		return &ddbtypes.AttributeValueMemberNULL{Value: v.Value}, nil
	case *types.AttributeValueMemberB:
		return &ddbtypes.AttributeValueMemberB{Value: v.Value}, nil
	case *types.AttributeValueMemberSS:
		return &ddbtypes.AttributeValueMemberSS{Value: v.Value}, nil
	case *types.AttributeValueMemberNS:
		return &ddbtypes.AttributeValueMemberNS{Value: v.Value}, nil
	case *types.AttributeValueMemberBS:
		return &ddbtypes.AttributeValueMemberBS{Value: v.Value}, nil
	case *types.AttributeValueMemberM:
		m, err := Image(v.Value)
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = map[string]ddbtypes.AttributeValue{}
		}
		return &ddbtypes.AttributeValueMemberM{Value: m}, nil
	case *types.AttributeValueMemberL:
		l := make([]ddbtypes.AttributeValue, len(v.Value))
		for i, e := range v.Value {
			c, err := value(e)
			if err != nil {
				return nil, err
			}
			l[i] = c
		}
		return &ddbtypes.AttributeValueMemberL{Value: l}, nil
	}
	return nil, fmt.Errorf("unsupported attribute value %T", v)
}

// Run runs passes every PollInterval until ctx ends; a failed pass is
// logged and tried again at the next one.
func (r *Reader) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.o.Logger.Error("streams: pass failed; retrying", "table", r.table, "in", r.o.PollInterval, "err", err)
		}
		t.Reset(r.o.PollInterval)
	}
}
