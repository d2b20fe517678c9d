package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/boskos-serverless/boskos/core/store"
)

// API is the part of *dynamodb.Client that Store calls.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var (
	_ API         = (*dynamodb.Client)(nil)
	_ store.Store = (*Store)(nil)
)

// Defaults of Options.
const (
	DefaultPageLimit = 100
	// DefaultBatchGetAttempts bounds the BatchGetItem calls of one BatchGet
	// while DynamoDB leaves keys unprocessed.
	DefaultBatchGetAttempts = 8
)

// maxShapeRetries bounds the retries of an update whose belief about the
// presence of its map attributes was wrong (each retry uses the item that
// DynamoDB returned, so one is enough unless the item keeps changing).
const maxShapeRetries = 4

// Options tune a Store. The zero value of each field means its default.
type Options struct {
	// PageLimit is the page size of List and Query when the caller gives
	// none (default DefaultPageLimit).
	PageLimit int
	// BatchGetAttempts bounds the BatchGetItem calls of one BatchGet
	// (default DefaultBatchGetAttempts).
	BatchGetAttempts int
	// BatchGetBackoff is the first wait before retrying unprocessed keys; it
	// doubles up to one second, with jitter (default 20ms).
	BatchGetBackoff time.Duration
}

// Store is a store.Store on one DynamoDB table (see the package comment for
// its design). It is safe for concurrent use.
type Store struct {
	api   API
	table string
	opts  Options
}

// New returns a Store on the table named table, which must exist with the
// schema of CreateTableInput.
func New(api API, table string, opts Options) *Store {
	if opts.PageLimit <= 0 {
		opts.PageLimit = DefaultPageLimit
	}
	if opts.BatchGetAttempts <= 0 {
		opts.BatchGetAttempts = DefaultBatchGetAttempts
	}
	if opts.BatchGetBackoff <= 0 {
		opts.BatchGetBackoff = 20 * time.Millisecond
	}
	return &Store{api: api, table: table, opts: opts}
}

// Table returns the name of the table.
func (s *Store) Table() string { return s.table }

// Get implements store.Store with a strongly consistent GetItem.
func (s *Store) Get(ctx context.Context, key string) (store.Item, error) {
	k, err := keyAttrs(key)
	if err != nil {
		return store.Item{}, wrap("get", key, err)
	}
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            k,
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Item{}, wrap("get", key, translate(err))
	}
	if len(out.Item) == 0 {
		return store.Item{}, wrap("get", key, store.ErrNotFound)
	}
	it, err := decodeItem(out.Item)
	if err != nil {
		return store.Item{}, wrap("get", key, err)
	}
	return it, nil
}

// BatchGet implements store.Store with strongly consistent BatchGetItem
// calls, retrying unprocessed keys with capped, jittered backoff.
func (s *Store) BatchGet(ctx context.Context, keys []string) ([]store.Item, error) {
	if len(keys) > store.MaxTransactItems {
		return nil, fmt.Errorf("dynamostore: batch get of %d keys exceeds %d", len(keys), store.MaxTransactItems)
	}
	seen := make(map[string]bool, len(keys))
	var ks []map[string]av
	for _, key := range keys {
		if seen[key] {
			continue // DynamoDB refuses duplicate keys
		}
		seen[key] = true
		k, err := keyAttrs(key)
		if err != nil {
			return nil, wrap("batch get", key, err)
		}
		ks = append(ks, k)
	}
	items := make([]store.Item, 0, len(ks))
	if len(ks) == 0 {
		return items, nil
	}
	req := map[string]types.KeysAndAttributes{s.table: {Keys: ks, ConsistentRead: aws.Bool(true)}}
	delay := s.opts.BatchGetBackoff
	for attempt := 1; ; attempt++ {
		out, err := s.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, wrap("batch get", "", translate(err))
		}
		for _, m := range out.Responses[s.table] {
			it, err := decodeItem(m)
			if err != nil {
				return nil, wrap("batch get", "", err)
			}
			items = append(items, it)
		}
		left, ok := out.UnprocessedKeys[s.table]
		if !ok || len(left.Keys) == 0 {
			return items, nil
		}
		if attempt >= s.opts.BatchGetAttempts {
			return nil, wrap("batch get", "", fmt.Errorf("%d keys still unprocessed after %d attempts", len(left.Keys), attempt))
		}
		req = map[string]types.KeysAndAttributes{s.table: left}
		if err := sleep(ctx, jitter(delay)); err != nil {
			return nil, wrap("batch get", "", err)
		}
		delay = min(2*delay, time.Second)
	}
}

// jitter returns a duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// Create implements store.Store with a PutItem conditioned on the key being
// free. It returns the item as Get will read it.
func (s *Store) Create(ctx context.Context, it store.Item) (store.Item, error) {
	in, err := s.putInput(it)
	if err != nil {
		return store.Item{}, wrap("create", it.Key, err)
	}
	_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 in.TableName,
		Item:                      in.Item,
		ConditionExpression:       in.ConditionExpression,
		ExpressionAttributeNames:  in.ExpressionAttributeNames,
		ExpressionAttributeValues: in.ExpressionAttributeValues,
	}, noRetryAfterCommit)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return store.Item{}, wrap("create", it.Key, store.ErrExists)
	}
	if err != nil {
		return store.Item{}, wrap("create", it.Key, translate(err))
	}
	out, err := decodeItem(in.Item)
	if err != nil {
		return store.Item{}, wrap("create", it.Key, err)
	}
	return out, nil
}

// putInput is the conditional put of a new item. An item over
// store.MaxItemBytes is refused here, without a request.
func (s *Store) putInput(it store.Item) (*types.Put, error) {
	if err := store.CheckSize(it); err != nil {
		return nil, err
	}
	m, err := encodeItem(it, 1)
	if err != nil {
		return nil, err
	}
	b, err := buildCond([]expression.ConditionBuilder{expression.AttributeNotExists(tableName(AttrPK))})
	if err != nil {
		return nil, err
	}
	return &types.Put{
		TableName:                 aws.String(s.table),
		Item:                      m,
		ConditionExpression:       b.cond,
		ExpressionAttributeNames:  b.names,
		ExpressionAttributeValues: b.values,
	}, nil
}

// Update implements store.Store with one UpdateItem (two when a map
// attribute changed key by key turns out to be absent).
func (s *Store) Update(ctx context.Context, u store.Update) (store.Item, error) {
	p, err := planUpdate(u)
	if err != nil {
		return store.Item{}, wrap("update", u.Key, err)
	}
	k, _ := keyAttrs(u.Key)
	absent := map[string]bool{}
	for attempt := 0; ; attempt++ {
		b, err := p.build(absent)
		if err != nil {
			return store.Item{}, wrap("update", u.Key, err)
		}
		out, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                           aws.String(s.table),
			Key:                                 k,
			UpdateExpression:                    b.update,
			ConditionExpression:                 b.cond,
			ExpressionAttributeNames:            b.names,
			ExpressionAttributeValues:           b.values,
			ReturnValues:                        types.ReturnValueAllNew,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}, noRetryAfterCommit)
		if err == nil {
			it, err := decodeItem(out.Attributes)
			if err != nil {
				return store.Item{}, wrap("update", u.Key, err)
			}
			return it, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return store.Item{}, wrap("update", u.Key, translate(err))
		}
		retry, err := updateFailure(p, ccf.Item, absent, attempt)
		if !retry {
			return store.Item{}, wrap("update", u.Key, err)
		}
		absent = p.absentMaps(decodedOrEmpty(u.Key, ccf.Item))
	}
}

func decodedOrEmpty(key string, m map[string]av) store.Item {
	it, ok, _ := decodeOld(m)
	if !ok {
		return store.Item{Key: key}
	}
	return it
}

// updateFailure explains a failed update condition from the old item: the
// caller's conditions (a *store.ConditionError), a missing item
// (store.ErrNotFound), or else a wrong belief about its map attributes
// (retry is true).
func updateFailure(p updatePlan, oldItem map[string]av, absent map[string]bool, attempt int) (retry bool, err error) {
	old, has, derr := decodeOld(oldItem)
	if derr != nil {
		return false, derr
	}
	if !has && !p.u.Upsert {
		return false, store.ErrNotFound
	}
	cur := old
	if !has {
		cur = store.Item{Key: p.u.Key}
	}
	if !store.CondsHold(cur, p.u.Cond) {
		return false, &store.ConditionError{Current: cur, HasCurrent: has}
	}
	next := p.absentMaps(cur)
	if sameSet(next, absent) || attempt >= maxShapeRetries {
		// The conditions hold on the old item and the belief matched it:
		// only a concurrent change can explain the failure.
		return false, &store.ConditionError{Current: cur, HasCurrent: has}
	}
	return true, nil
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// Delete implements store.Store with a conditional DeleteItem.
func (s *Store) Delete(ctx context.Context, key string, conds ...store.Cond) error {
	k, err := keyAttrs(key)
	if err != nil {
		return wrap("delete", key, err)
	}
	b, err := existingCond(conds)
	if err != nil {
		return wrap("delete", key, err)
	}
	_, err = s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 k,
		ConditionExpression:                 b.cond,
		ExpressionAttributeNames:            b.names,
		ExpressionAttributeValues:           b.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, noRetryAfterCommit)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return wrap("delete", key, existingFailure(ccf.Item))
	}
	if err != nil {
		return wrap("delete", key, translate(err))
	}
	return nil
}

// existingCond is "the item exists and conds hold".
func existingCond(conds []store.Cond) (built, error) {
	cs, err := conditions([]expression.ConditionBuilder{exists()}, conds)
	if err != nil {
		return built{}, err
	}
	return buildCond(cs)
}

// checkCond builds the condition of a transaction's Check: the item exists
// and conds hold, or with AllowMissing only conds (a missing item has no
// attributes, which the conditions already read as absent); a check
// without any condition is given one that always holds, since DynamoDB's
// ConditionCheck needs one.
func checkCond(c store.Check) (built, error) {
	if !c.AllowMissing {
		return existingCond(c.Cond)
	}
	cs, err := conditions(nil, c.Cond)
	if err != nil {
		return built{}, err
	}
	if len(cs) == 0 {
		cs = []expression.ConditionBuilder{exists().Or(expression.AttributeNotExists(tableName(AttrPK)))}
	}
	return buildCond(cs)
}

// existingFailure explains the failed condition of a delete or check.
func existingFailure(oldItem map[string]av) error {
	old, has, err := decodeOld(oldItem)
	if err != nil {
		return err
	}
	if !has {
		return store.ErrNotFound
	}
	return &store.ConditionError{Current: old, HasCurrent: true}
}

// Transact implements store.Store with one TransactWriteItems.
func (s *Store) Transact(ctx context.Context, ops []store.Op) error {
	if err := store.ValidateOps(ops); err != nil {
		return err
	}
	plans := make([]updatePlan, len(ops))
	absent := make([]map[string]bool, len(ops))
	for i, o := range ops {
		if o.Update != nil {
			p, err := planUpdate(*o.Update)
			if err != nil {
				return &store.TxError{Index: i, Err: wrap("update", o.Update.Key, err)}
			}
			plans[i] = p
			absent[i] = map[string]bool{}
		}
	}
	for attempt := 0; ; attempt++ {
		items := make([]types.TransactWriteItem, len(ops))
		for i, o := range ops {
			ti, err := s.transactItem(o, plans[i], absent[i])
			if err != nil {
				return &store.TxError{Index: i, Err: wrap(opName(o), o.Key(), err)}
			}
			items[i] = ti
		}
		var ambiguous atomic.Bool
		_, err := s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}, noteAmbiguous(&ambiguous))
		if err == nil {
			return nil
		}
		var canceled *types.TransactionCanceledException
		if !errors.As(err, &canceled) {
			err = translate(err)
			var de *Error
			if errors.As(err, &de) && ambiguous.Load() {
				de.MayHaveApplied = true
			}
			return &store.TxError{Index: -1, Err: wrap("transact", "", err)}
		}
		retry, txErr := s.cancellation(ops, plans, absent, canceled.CancellationReasons, attempt)
		if txErr != nil {
			return txErr
		}
		if !retry {
			return &store.TxError{Index: -1, Err: wrap("transact", "", translate(err))}
		}
	}
}

func opName(o store.Op) string {
	switch {
	case o.Create != nil:
		return "create"
	case o.Update != nil:
		return "update"
	case o.Delete != nil:
		return "delete"
	}
	return "check"
}

// cancellation maps the reasons of a canceled transaction to the error of
// the first failing operation. When the only failures are wrong beliefs
// about map attributes, it corrects them in absent and asks for a retry.
func (s *Store) cancellation(ops []store.Op, plans []updatePlan, absent []map[string]bool, reasons []types.CancellationReason, attempt int) (retry bool, txErr *store.TxError) {
	next := make(map[int]map[string]bool)
	for i, r := range reasons {
		if i >= len(ops) {
			break
		}
		o := ops[i]
		fail := func(err error) *store.TxError {
			return &store.TxError{Index: i, Err: wrap(opName(o), o.Key(), err)}
		}
		switch code := aws.ToString(r.Code); code {
		case "", "None":
			continue
		case "ConditionalCheckFailed":
			switch {
			case o.Create != nil:
				return false, fail(store.ErrExists)
			case o.Update != nil:
				again, err := updateFailure(plans[i], r.Item, absent[i], attempt)
				if !again {
					return false, fail(err)
				}
				next[i] = plans[i].absentMaps(decodedOrEmpty(o.Key(), r.Item))
			case o.Check != nil && o.Check.AllowMissing:
				err := existingFailure(r.Item)
				if errors.Is(err, store.ErrNotFound) {
					// Checked as an empty item, which failed the conditions.
					err = &store.ConditionError{}
				}
				return false, fail(err)
			default:
				return false, fail(existingFailure(r.Item))
			}
		case "TransactionConflict":
			return false, fail(fmt.Errorf("%w: transaction conflict", store.ErrConflict))
		default:
			return false, fail(apiError(code, aws.ToString(r.Message)))
		}
	}
	if len(next) == 0 {
		return false, nil
	}
	for i, a := range next {
		absent[i] = a
	}
	return true, nil
}

// transactItem is the TransactWriteItem of one operation.
func (s *Store) transactItem(o store.Op, p updatePlan, absent map[string]bool) (types.TransactWriteItem, error) {
	table := aws.String(s.table)
	allOld := types.ReturnValuesOnConditionCheckFailureAllOld
	switch {
	case o.Create != nil:
		put, err := s.putInput(*o.Create)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		return types.TransactWriteItem{Put: put}, nil
	case o.Update != nil:
		b, err := p.build(absent)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		k, _ := keyAttrs(o.Update.Key)
		return types.TransactWriteItem{Update: &types.Update{
			TableName:                           table,
			Key:                                 k,
			UpdateExpression:                    b.update,
			ConditionExpression:                 b.cond,
			ExpressionAttributeNames:            b.names,
			ExpressionAttributeValues:           b.values,
			ReturnValuesOnConditionCheckFailure: allOld,
		}}, nil
	case o.Delete != nil:
		b, err := existingCond(o.Delete.Cond)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		k, _ := keyAttrs(o.Delete.Key)
		return types.TransactWriteItem{Delete: &types.Delete{
			TableName:                           table,
			Key:                                 k,
			ConditionExpression:                 b.cond,
			ExpressionAttributeNames:            b.names,
			ExpressionAttributeValues:           b.values,
			ReturnValuesOnConditionCheckFailure: allOld,
		}}, nil
	default:
		b, err := checkCond(*o.Check)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		k, _ := keyAttrs(o.Check.Key)
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName:                           table,
			Key:                                 k,
			ConditionExpression:                 b.cond,
			ExpressionAttributeNames:            b.names,
			ExpressionAttributeValues:           b.values,
			ReturnValuesOnConditionCheckFailure: allOld,
		}}, nil
	}
}

// List implements store.Store with Query on the table: pk = namespace and
// begins_with(sk, the rest of prefix).
func (s *Store) List(ctx context.Context, prefix, cursor string, limit int) (store.Page, error) {
	ns, rest, ok := strings.Cut(prefix, "/")
	if !ok || ns == "" {
		return store.Page{}, wrap("list", prefix, fmt.Errorf("prefix %q must start with <namespace>/", prefix))
	}
	kc := expression.Key(AttrPK).Equal(expression.Value(ns))
	if rest != "" {
		kc = kc.And(expression.Key(AttrSK).BeginsWith(rest))
	}
	var start map[string]av
	if cursor != "" {
		var err error
		start, err = decodeCursor(cursor, []string{AttrPK, AttrSK}, map[string]string{AttrPK: ns})
		if err != nil {
			return store.Page{}, wrap("list", prefix, err)
		}
		if sk := start[AttrSK].(*types.AttributeValueMemberS).Value; !strings.HasPrefix(sk, rest) {
			return store.Page{}, wrap("list", prefix, fmt.Errorf("cursor belongs to another listing"))
		}
	}
	page, err := s.page(ctx, nil, kc, start, limit, true)
	if err != nil {
		return store.Page{}, wrap("list", prefix, err)
	}
	return page, nil
}

// Query implements store.Store with Query on IndexPool (eventually
// consistent).
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if q.Partition == "" || (q.To != "" && q.To < q.From) {
		return store.Page{}, nil // no item can match
	}
	// The index sort key is ixs + NUL + key (see AttrIndexSortKey), so
	// ixs >= From iff ixsk >= From, and ixs <= To iff ixsk < To + "\x01"
	// (for sort values without NUL or \x01 bytes): no stored ixsk equals
	// To + "\x01", so the inclusive BETWEEN is exact.
	kc := expression.Key(AttrIndexPartition).Equal(expression.Value(q.Partition))
	sk := expression.Key(AttrIndexSortKey)
	switch {
	case q.From != "" && q.To != "":
		kc = kc.And(sk.Between(expression.Value(q.From), expression.Value(q.To+"\x01")))
	case q.From != "":
		kc = kc.And(sk.GreaterThanEqual(expression.Value(q.From)))
	case q.To != "":
		kc = kc.And(sk.LessThan(expression.Value(q.To + "\x01")))
	}
	var start map[string]av
	if q.Cursor != "" {
		var err error
		start, err = decodeCursor(q.Cursor, []string{AttrPK, AttrSK, AttrIndexPartition, AttrIndexSortKey},
			map[string]string{AttrIndexPartition: q.Partition})
		if err != nil {
			return store.Page{}, wrap("query", q.Partition, err)
		}
	}
	page, err := s.page(ctx, aws.String(IndexPool), kc, start, q.Limit, false)
	if err != nil {
		return store.Page{}, wrap("query", q.Partition, err)
	}
	return page, nil
}

// page reads one page of at most limit items. It asks for one item more than
// it returns, so that Next is empty exactly on the last page, and goes on
// reading while DynamoDB stops early (1 MB pages).
func (s *Store) page(ctx context.Context, index *string, kc expression.KeyConditionBuilder, start map[string]av, limit int, consistent bool) (store.Page, error) {
	if limit <= 0 {
		limit = s.opts.PageLimit
	}
	e, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return store.Page{}, err
	}
	var page store.Page
	for {
		want := limit + 1 - len(page.Items)
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 index,
			KeyConditionExpression:    e.KeyCondition(),
			ExpressionAttributeNames:  e.Names(),
			ExpressionAttributeValues: e.Values(),
			ExclusiveStartKey:         start,
			Limit:                     aws.Int32(int32(min(want, 1<<20))),
		}
		if consistent {
			in.ConsistentRead = aws.Bool(true)
		}
		out, err := s.api.Query(ctx, in)
		if err != nil {
			return store.Page{}, translate(err)
		}
		for _, m := range out.Items {
			it, err := decodeItem(m)
			if err != nil {
				return store.Page{}, err
			}
			page.Items = append(page.Items, it)
		}
		if len(page.Items) > limit {
			page.Items = page.Items[:limit]
			k, err := itemCursorKey(page.Items[limit-1], index != nil)
			if err != nil {
				return store.Page{}, err
			}
			if page.Next, err = encodeCursor(k); err != nil {
				return store.Page{}, err
			}
			return page, nil
		}
		if len(out.LastEvaluatedKey) == 0 {
			return page, nil
		}
		start = out.LastEvaluatedKey
	}
}

// Close implements store.Store; the client needs no closing.
func (s *Store) Close() error { return nil }
