package boskos

import (
	"errors"
	"fmt"
	"time"
)

// Page sizes of the read API (GET /v1/...).
const (
	// DefaultPageLimit is the page size when a list request gives none.
	DefaultPageLimit = 100
	// MaxPageLimit is the largest page a list request may ask for.
	MaxPageLimit = 1000
)

// QuarantineReasonKey is the user data key in which the janitor keeps why it
// quarantined a resource (core/janitor.KeyReason; the read API shows it).
const QuarantineReasonKey = "quarantineReason"

// Page is one page of a list of the read API: {"items": [...], "cursor":
// "..."}. Cursor is opaque; it is empty (and absent from the JSON) on the
// last page. Items is never null in the JSON.
type Page[T any] struct {
	Items  []T    `json:"items"`
	Cursor string `json:"cursor,omitempty"`
}

// PageRequest asks for one page: at most Limit items (1..MaxPageLimit; 0
// means DefaultPageLimit), after the page that returned Cursor ("" is the
// first page).
type PageRequest struct {
	Limit  int
	Cursor string
}

// ResourceFilter selects resources; an empty field matches everything.
type ResourceFilter struct {
	Type  string
	State string
	Owner string
}

// ResourceInfo is one resource as the read API lists it (GET
// /v1/resources). User data values are not listed (they often hold
// credentials): only their keys, and the janitor's quarantine reason.
type ResourceInfo struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	State string `json:"state"`
	// Owner is "" for an unowned resource.
	Owner string `json:"owner"`
	// Epoch is the fencing token: +1 per acquire.
	Epoch int64 `json:"epoch"`
	// LastUpdate is the last change of the resource, which for a lease is
	// its last heartbeat (/update) or its acquire.
	LastUpdate time.Time `json:"last_update"`
	// IdleSeconds is how long ago LastUpdate was, in whole seconds.
	IdleSeconds int64 `json:"idle_seconds"`
	// AcquiredAt is when the current owner acquired the resource (owned
	// resources leased since the server recorded it).
	AcquiredAt *time.Time `json:"acquired_at,omitempty"`
	// HeldSeconds is how long ago AcquiredAt was, in whole seconds (with
	// AcquiredAt).
	HeldSeconds *int64 `json:"held_seconds,omitempty"`
	// ExpirationDate is a dynamic resource's end of life, if set.
	ExpirationDate *time.Time `json:"expiration_date,omitempty"`
	// QuarantineReason is the user data QuarantineReasonKey, if set.
	QuarantineReason string `json:"quarantine_reason,omitempty"`
	// UserDataKeys are the keys of the resource's user data, sorted
	// (never null).
	UserDataKeys []string `json:"userdata_keys"`
}

// QueueFilter selects request queues; an empty field matches every type
// or state.
type QueueFilter struct {
	Type  string
	State string
}

// QueueEntry is one request_id waiting in the acquire queue of (Type,
// State), as GET /v1/queue lists it.
type QueueEntry struct {
	Type      string `json:"type"`
	State     string `json:"state"`
	RequestID string `json:"request_id"`
	// Rank is the place an acquire with this request_id has now: 1 is next
	// in line (the first free resource is its). It counts the waiting
	// entries ahead of it that reserve a resource.
	Rank int `json:"rank"`
	// AgeSeconds is how long the request_id has waited (since its first
	// poll), in whole seconds.
	AgeSeconds int64 `json:"age_seconds"`
	// Created is its first poll; Expires is when it stops counting for the
	// others unless it polls again.
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Blocked: its last poll was refused for its owner's quota; it keeps
	// its place, but reserves no resource until a poll with room.
	Blocked bool `json:"blocked"`
}

// TypeSummary counts the resources of one type (GET /v1/types).
type TypeSummary struct {
	Type  string `json:"type"`
	Total int    `json:"total"`
	// States counts the resources by state (never null).
	States map[string]int `json:"states"`
	// Owners counts the owned resources by owner (never null; unowned
	// resources are not counted here).
	Owners map[string]int `json:"owners"`
}

// ParamError names the request parameter an InvalidParam error is about.
type ParamError struct{ Param string }

func (e *ParamError) Error() string { return "invalid parameter " + e.Param }

// InvalidParam is a bad-request error (400) about the request parameter
// param: its message is "invalid <param>: <format, args>", and
// ParamOf(err) returns param.
func InvalidParam(param, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Message: fmt.Sprintf("invalid %s: ", param) + fmt.Sprintf(format, args...), Err: &ParamError{Param: param}}
}

// ParamOf returns the parameter an error from InvalidParam (or
// ValidateParam) is about, or "".
func ParamOf(err error) string {
	var pe *ParamError
	if errors.As(err, &pe) {
		return pe.Param
	}
	return ""
}

// ValidateParam checks an optional filter parameter: "" is fine, anything
// else must pass ValidateField; the error names param (InvalidParam).
func ValidateParam(param, value string) error {
	if value == "" {
		return nil
	}
	if msg := checkText(value); msg != "" {
		return InvalidParam(param, "%s", msg)
	}
	return nil
}

// CheckPageLimit returns the page size a request asks for: DefaultPageLimit
// for 0, limit itself within 1..MaxPageLimit, an InvalidParam("limit")
// otherwise.
func CheckPageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultPageLimit, nil
	case limit < 1 || limit > MaxPageLimit:
		return 0, InvalidParam("limit", "must be between 1 and %d, got %d", MaxPageLimit, limit)
	}
	return limit, nil
}
