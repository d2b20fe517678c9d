package httpapi

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// TestHTTPStatus: the status of each error, wrapped or not, is its code's;
// an error without a code is a 500.
func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"owner mismatch", boskos.OwnerMismatch("a", "b"), http.StatusUnauthorized},
		{"resource not found", boskos.ResourceNotFound("t"), http.StatusNotFound},
		{"type not found", boskos.TypeNotFound("t"), http.StatusNotFound},
		{"state mismatch", boskos.StateMismatch("busy", "free"), http.StatusConflict},
		{"stale epoch", boskos.StaleEpoch("r", 1, 2), http.StatusConflict},
		{"over quota", boskos.OverQuota("o", "t", "o-*", 3), http.StatusTooManyRequests},
		{"invalid", boskos.Invalid("bad %s", "x"), http.StatusBadRequest},
		{"invalid field", boskos.ValidateField("name", "a\x00b"), http.StatusBadRequest},
		{"too large", boskos.TooLarge("big %d", 3), http.StatusRequestEntityTooLarge},
		{"method", &boskos.Error{Code: boskos.EMethod, Message: "m"}, http.StatusMethodNotAllowed},
		{"internal", boskos.Internal(fmt.Errorf("disk")), http.StatusInternalServerError},
		{"unavailable", boskos.Unavailable(fmt.Errorf("throttled")), http.StatusServiceUnavailable},
		{"wrapped", fmt.Errorf("wrapped: %w", boskos.TypeNotFound("t")), http.StatusNotFound},
		{"plain error", fmt.Errorf("plain"), http.StatusInternalServerError},
		{"unknown code", &boskos.Error{Code: "nope", Message: "?"}, http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, HTTPStatus(tc.err), "got status for %v", tc.err)
		})
	}
}

// TestEveryCodeHasStatus: the table covers every boskos.Code, and only
// EInternal and EUnavailable are 5xx.
func TestEveryCodeHasStatus(t *testing.T) {
	for _, c := range boskos.Codes() {
		t.Run(string(c), func(t *testing.T) {
			s, ok := codeStatus[c]
			if !assert.True(t, ok, "code %q has no HTTP status", c) {
				return
			}
			assert.Equal(t, c == boskos.EInternal || c == boskos.EUnavailable, s >= 500, "code %q: got status %d", c, s)
		})
	}
	assert.Len(t, codeStatus, len(boskos.Codes()), "the table has only known codes")
}
