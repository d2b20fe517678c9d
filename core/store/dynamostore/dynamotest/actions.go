package dynamotest

import (
	"context"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Actions records the IAM actions that the requests of a DynamoDB client
// need ("dynamodb:GetItem", ...): one per operation, and for a
// TransactWriteItems the action of each of its items (dynamodb:PutItem,
// UpdateItem, DeleteItem, ConditionCheckItem), since IAM authorizes a
// transaction item by item. Tests compare them with a function's policy.
// The zero value is ready; it is safe for concurrent use.
type Actions struct {
	mu  sync.Mutex
	set map[string]bool
}

// Option installs the recorder on a client (see Counter.Option).
func (a *Actions) Option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, a.addMiddleware)
}

// addMiddleware records in the initialize step, which sees the typed input.
func (a *Actions) addMiddleware(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("dynamotestRecordActions",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			a.add(IAMActions(middleware.GetOperationName(ctx), in.Parameters)...)
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// IAMActions returns the IAM actions that the DynamoDB operation op with
// input params needs.
func IAMActions(op string, params any) []string {
	tx, ok := params.(*dynamodb.TransactWriteItemsInput)
	if !ok {
		return []string{"dynamodb:" + op}
	}
	var out []string
	for _, it := range tx.TransactItems {
		switch {
		case it.Put != nil:
			out = append(out, "dynamodb:PutItem")
		case it.Update != nil:
			out = append(out, "dynamodb:UpdateItem")
		case it.Delete != nil:
			out = append(out, "dynamodb:DeleteItem")
		case it.ConditionCheck != nil:
			out = append(out, "dynamodb:ConditionCheckItem")
		}
	}
	return out
}

func (a *Actions) add(acts ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.set == nil {
		a.set = map[string]bool{}
	}
	for _, x := range acts {
		a.set[x] = true
	}
}

// List returns the actions recorded since the last Reset, sorted.
func (a *Actions) List() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.set))
	for x := range a.set {
		out = append(out, x)
	}
	sort.Strings(out)
	return out
}

// Reset forgets every recorded action.
func (a *Actions) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.set = nil
}
