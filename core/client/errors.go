package client

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is matched (errors.Is) by a 404 from /acquire or
// /acquirebystate: nothing free, the caller's turn in the queue not come,
// or a named resource missing, in another state or owned. Its text is the
// upstream client's.
var ErrNotFound = errors.New("resources not found")

// ErrTypeNotFound is matched, besides ErrNotFound, by a 404 from /acquire
// whose body says the type does not exist (`resource type "<t>" does not
// exist`). A dynamic type with no resources yet answers that too, and the
// server may create one for a request_id it sees for the first time, so a
// waiting caller should treat it as ErrNotFound. Its text is the upstream
// client's.
var ErrTypeNotFound = errors.New("resource type not found")

// typeNotFound matches the server's (and upstream's) text of an unknown
// type, which clients parse: core/boskos.TypeNotFound.
var typeNotFound = regexp.MustCompile(`resource type ".*" does not exist`)

// StatusError is an answer other than 200.
type StatusError struct {
	// Path is the endpoint, for example "/acquire".
	Path string
	// Status is the status line's text, for example "404 Not Found".
	Status string
	// Code is the status code, for example 404.
	Code int
	// Body is what the server sent (its error message and a newline; for
	// the read API, /v1/..., a JSON object whose "error" is the message).
	Body string
	// Queue is where the request_id of a refused /acquire waits, when the
	// server said so (this project's server does, upstream's does not).
	Queue *QueueInfo
	// Param is the request parameter a 400 of the read API is about ("" for
	// other answers).
	Param string

	is []error // the sentinels it matches
}

// QueueInfo is where a request_id waits in the server's request queue of
// its (type, state), from the X-Boskos-Queue-Position,
// X-Boskos-Queue-Length and X-Boskos-Estimated-Wait headers of a refused
// /acquire.
type QueueInfo struct {
	// Position is its rank: 1 is next in line.
	Position int
	// Length is how many request_ids wait, itself included.
	Length int
	// EstimatedWait is the server's estimate of the wait (whole seconds);
	// 0 when it gave none.
	EstimatedWait time.Duration
}

// queueInfo reads the queue headers of a response; ok is false without
// them (or with malformed ones).
func queueInfo(h http.Header) (QueueInfo, bool) {
	pos, err1 := strconv.Atoi(h.Get("X-Boskos-Queue-Position"))
	n, err2 := strconv.Atoi(h.Get("X-Boskos-Queue-Length"))
	if err1 != nil || err2 != nil || pos < 1 || n < 1 {
		return QueueInfo{}, false
	}
	q := QueueInfo{Position: pos, Length: n}
	if s, err := strconv.Atoi(h.Get("X-Boskos-Estimated-Wait")); err == nil && s > 0 {
		q.EstimatedWait = time.Duration(s) * time.Second
	}
	return q, true
}

// QueueOf returns the queue place that err (a refused /acquire, see
// StatusError.Queue) carries, if any.
func QueueOf(err error) (QueueInfo, bool) {
	var se *StatusError
	if errors.As(err, &se) && se.Queue != nil {
		return *se.Queue, true
	}
	return QueueInfo{}, false
}

func newStatusError(path, status string, code int, body string, h http.Header) *StatusError {
	e := &StatusError{Path: path, Status: status, Code: code, Body: body}
	if q, ok := queueInfo(h); ok && path == "/acquire" && code == http.StatusNotFound {
		e.Queue = &q
	}
	if _, param, ok := v1Error(body); ok && strings.HasPrefix(path, "/v1/") {
		e.Param = param
	}
	if code == http.StatusNotFound && (path == "/acquire" || path == "/acquirebystate") {
		e.is = append(e.is, ErrNotFound)
		if path == "/acquire" && typeNotFound.MatchString(body) {
			e.is = append(e.is, ErrTypeNotFound)
		}
	}
	return e
}

// Error returns "status <Status>", followed by ": <message>" when the body
// is not blank (the read API's JSON error: its message).
func (e *StatusError) Error() string {
	msg := strings.TrimSpace(e.Body)
	if m, _, ok := v1Error(e.Body); ok && strings.HasPrefix(e.Path, "/v1/") {
		msg = m
	}
	if msg == "" {
		return fmt.Sprintf("status %s", e.Status)
	}
	return fmt.Sprintf("status %s: %s", e.Status, msg)
}

// Unwrap returns the sentinels the answer matches: ErrNotFound for a 404
// from /acquire or /acquirebystate, and ErrTypeNotFound for an unknown
// type; none otherwise.
func (e *StatusError) Unwrap() []error { return e.is }

// IsStatus reports whether err is (or wraps) a *StatusError with the given
// status code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}
