package boskos

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error; each code maps to one HTTP status (the table is
// core/httpapi's HTTPStatus; the statuses below are for reference).
type Code string

// The error codes.
const (
	EOwnerMismatch Code = "owner_mismatch" // 401
	ENotFound      Code = "not_found"      // 404
	ETypeNotFound  Code = "type_not_found" // 404
	EStateMismatch Code = "state_mismatch" // 409
	EStaleEpoch    Code = "stale_epoch"    // 409
	EOverQuota     Code = "over_quota"     // 429
	EInvalid       Code = "invalid"        // 400
	ETooLarge      Code = "too_large"      // 413
	EMethod        Code = "method"         // 405
	EInternal      Code = "internal"       // 500
	EUnavailable   Code = "unavailable"    // 503
)

// Codes returns every Code, in the order declared above.
func Codes() []Code {
	return []Code{EOwnerMismatch, ENotFound, ETypeNotFound, EStateMismatch, EStaleEpoch, EOverQuota, EInvalid, ETooLarge, EMethod, EInternal, EUnavailable}
}

// Error is the one error type of the domain. Its message is API: clients
// parse some of them (for example `resource type "t" does not exist`).
type Error struct {
	Code    Code
	Message string
	Err     error // optional cause, for logs
	// Queue, on the ResourceNotFound of an acquire with a request_id, is
	// where that request_id now waits (nil otherwise). It is not part of
	// Message: the message stays upstream's.
	Queue *QueuePlace
}

// ErrContended is the cause (Error.Err) of an acquire's ResourceNotFound
// when resources were free but concurrent acquires took every candidate
// the caller saw first: looking again at once may find one, unlike after a
// plain ResourceNotFound (nothing free). The answer on the wire is the
// same 404 with upstream's message.
var ErrContended = errors.New("concurrent acquires took every free candidate first")

// QueuePlace is where a request_id waits in the request queue of its
// (type, state), as the acquire that refused it saw the queue.
type QueuePlace struct {
	// Position is its rank among the waiting request_ids that count for
	// others (live, not refused for a quota): 1 is next in line.
	Position int
	// Length is how many such request_ids wait, itself included.
	Length int
	// EstimatedWait is the time until its turn, estimated from the recent
	// hold times of the type (Position times their mean over the type's
	// resources) where its lease history allows, else from the queue's
	// recent service (Position times the average interval between the
	// last grants to waiting request_ids); 0 when there is no estimate.
	EstimatedWait time.Duration
}

// WithQueue returns a copy of e that carries the queue place p.
func (e *Error) WithQueue(p QueuePlace) *Error {
	c := *e
	c.Queue = &p
	return &c
}

// QueueOf returns the queue place carried by the first *Error in err's
// chain, if any.
func QueueOf(err error) (QueuePlace, bool) {
	var e *Error
	if errors.As(err, &e) && e.Queue != nil {
		return *e.Queue, true
	}
	return QueuePlace{}, false
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// when there is none, and "" for a nil err.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// OwnerMismatch is upstream's OwnerNotMatch (401).
func OwnerMismatch(request, current string) *Error {
	return &Error{Code: EOwnerMismatch, Message: fmt.Sprintf("owner mismatch request by %s, currently owned by %s", request, current)}
}

// ResourceNotFound is upstream's ResourceNotFound (404); x is a type, a name
// or a state depending on the caller.
func ResourceNotFound(x string) *Error {
	return &Error{Code: ENotFound, Message: fmt.Sprintf("no available resource %s, try again later.", x)}
}

// TypeNotFound is upstream's ResourceTypeNotFound (404). Its text is parsed
// by the Go client: keep it byte for byte.
func TypeNotFound(rtype string) *Error {
	return &Error{Code: ETypeNotFound, Message: fmt.Sprintf("resource type %q does not exist", rtype)}
}

// StateMismatch is upstream's StateNotMatch (409). Upstream swaps the words:
// "expected" is followed by the resource's actual state and "current" by the
// requested one. Kept as is.
func StateMismatch(actual, requested string) *Error {
	return &Error{Code: EStateMismatch, Message: fmt.Sprintf("state mismatch - expected %s, current %s", actual, requested)}
}

// StaleEpoch says a fenced request carried an epoch that is no longer the
// resource's (409).
func StaleEpoch(name string, requested, current int64) *Error {
	return &Error{Code: EStaleEpoch, Message: fmt.Sprintf("stale epoch for %s: request has %d, resource is at %d", name, requested, current)}
}

// OverQuota says an acquire would make owner hold more than max resources
// of rtype at once (429): the quota of the owners matching pattern (the
// owner itself when pattern is its exact name) is used up. The lease can
// be asked for again after a release.
func OverQuota(owner, rtype, pattern string, max int64) *Error {
	noun := "resources"
	if max == 1 {
		noun = "resource"
	}
	msg := fmt.Sprintf("quota exceeded: owner %q may hold at most %d %s of type %q at once", owner, max, noun, rtype)
	if pattern != owner {
		msg += fmt.Sprintf(", together with every owner matching %q", pattern)
	}
	return &Error{Code: EOverQuota, Message: msg + "; try again after a release."}
}

// Invalid is a bad-request error (400).
func Invalid(format string, args ...any) *Error {
	return &Error{Code: EInvalid, Message: fmt.Sprintf(format, args...)}
}

// TooLarge is a request whose payload exceeds a limit (413).
func TooLarge(format string, args ...any) *Error {
	return &Error{Code: ETooLarge, Message: fmt.Sprintf(format, args...)}
}

// Unavailable wraps a storage refusal for lack of capacity (503): the
// store throttled the request after its own retries, and nothing was
// applied; the client may retry later.
func Unavailable(err error) *Error {
	return &Error{Code: EUnavailable, Message: err.Error(), Err: err}
}

// Internal wraps an unexpected error (500).
func Internal(err error) *Error {
	return &Error{Code: EInternal, Message: err.Error(), Err: err}
}
