package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// codeStatus is the one table from error code to HTTP status.
var codeStatus = map[boskos.Code]int{
	boskos.EOwnerMismatch: http.StatusUnauthorized,
	boskos.ENotFound:      http.StatusNotFound,
	boskos.ETypeNotFound:  http.StatusNotFound,
	boskos.EStateMismatch: http.StatusConflict,
	boskos.EStaleEpoch:    http.StatusConflict,
	boskos.EOverQuota:     http.StatusTooManyRequests,
	boskos.EInvalid:       http.StatusBadRequest,
	boskos.ETooLarge:      http.StatusRequestEntityTooLarge,
	boskos.EMethod:        http.StatusMethodNotAllowed,
	boskos.EInternal:      http.StatusInternalServerError,
	boskos.EUnavailable:   http.StatusServiceUnavailable,
}

// retryAfterSeconds is the Retry-After of every 503: the storage refused
// the request for lack of capacity, nothing was applied, and a retry a
// moment later usually goes through.
const retryAfterSeconds = "1"

// HTTPStatus returns the HTTP status for err: that of the code of the first
// *boskos.Error in its chain (boskos.ErrorCode), 500 when it has none.
func HTTPStatus(err error) int {
	if s, ok := codeStatus[boskos.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// The headers of a refused /acquire with a request_id: where that
// request_id waits (boskos.QueuePlace). The body stays upstream's.
const (
	// HeaderQueuePosition is its rank, 1 = next in line.
	HeaderQueuePosition = "X-Boskos-Queue-Position"
	// HeaderQueueLength is how many request_ids wait, itself included.
	HeaderQueueLength = "X-Boskos-Queue-Length"
	// HeaderEstimatedWait is the estimated wait in whole seconds (rounded
	// up), present only when the queue has an estimate.
	HeaderEstimatedWait = "X-Boskos-Estimated-Wait"
)

// setQueueHeaders writes p as the queue headers.
func setQueueHeaders(h http.Header, p boskos.QueuePlace) {
	h.Set(HeaderQueuePosition, strconv.Itoa(p.Position))
	h.Set(HeaderQueueLength, strconv.Itoa(p.Length))
	if p.EstimatedWait > 0 {
		h.Set(HeaderEstimatedWait, strconv.FormatInt(int64((p.EstimatedWait+time.Second-1)/time.Second), 10))
	}
}
