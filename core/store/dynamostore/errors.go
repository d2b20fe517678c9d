package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/boskos-serverless/boskos/core/store"
)

// ErrNoTable is matched (errors.Is) by the error of any operation on a
// table that does not exist: DynamoDB's ResourceNotFoundException, the one
// place that code is read. The error itself is an *Error, wrapped with the
// operation and key like every error of the Store.
var ErrNoTable = errors.New("dynamostore: table does not exist")

// codeNoTable is DynamoDB's error code for a missing table (or index).
const codeNoTable = "ResourceNotFoundException"

// translate turns an error of the AWS SDK into one that carries no SDK type:
// store.ErrConflict for a transaction conflict, the context's error when the
// call was canceled, otherwise a plain error with DynamoDB's code and
// message. Conditional-check failures are handled by the callers, which know
// the operation. translate is the only place SDK errors leave this package.
func translate(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	var conflict *types.TransactionConflictException
	if errors.As(err, &conflict) {
		return fmt.Errorf("%w: transaction conflict", store.ErrConflict)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return apiError(api.ErrorCode(), api.ErrorMessage())
	}
	// Transport errors (connection refused, ...): keep the text only.
	return errors.New(err.Error())
}

// Translate is translate for the sibling packages that call DynamoDB's
// other APIs (package streams): the one translation of SDK errors.
func Translate(err error) error { return translate(err) }

// apiError is the error of DynamoDB's code and message: store.ErrTooLarge for
// an item over DynamoDB's size limit ("Item size has exceeded the maximum
// allowed size", "Item size to update has exceeded ..."; a ValidationException
// of single writes, a ValidationError reason in a canceled transaction),
// otherwise an *Error.
func apiError(code, msg string) error {
	if (code == "ValidationException" || code == "ValidationError") &&
		strings.Contains(msg, "Item size") && strings.Contains(msg, "exceeded") {
		return fmt.Errorf("%w: %s", store.ErrTooLarge, msg)
	}
	return &Error{Code: code, Message: msg}
}

// Error is a DynamoDB error that has no store meaning (validation, throttling
// after every retry, missing table, ...). Code is DynamoDB's error code, for
// example "ValidationException" or "ResourceNotFoundException".
type Error struct {
	Code    string
	Message string
	// MayHaveApplied is set on the final error of a transaction an earlier
	// attempt of which may have been applied (its answer was lost): even a
	// throttling error then does not mean that nothing was applied.
	MayHaveApplied bool
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "dynamodb: " + e.Code
	}
	return "dynamodb: " + e.Code + ": " + e.Message
}

// Is reports whether e is target: ErrNoTable for DynamoDB's
// ResourceNotFoundException, store.ErrUnavailable for throttling (after the
// SDK's retries) when no attempt may have been applied.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNoTable:
		return e.Code == codeNoTable
	case store.ErrUnavailable:
		return e.Throttled() && !e.MayHaveApplied
	}
	return false
}

// Throttled reports whether the error means DynamoDB refused the request for
// lack of capacity (after the SDK's retries).
func (e *Error) Throttled() bool {
	switch e.Code {
	case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded":
		return true
	}
	return false
}

// wrap formats the error of operation op on key.
func wrap(op, key string, err error) error {
	if key == "" {
		return fmt.Errorf("dynamostore: %s: %w", op, err)
	}
	return fmt.Errorf("dynamostore: %s %s: %w", op, key, err)
}
