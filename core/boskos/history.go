package boskos

import "time"

// Events of a HistoryRecord: what one transition of a resource did. The
// ranch derives them from the resource before and after the write
// (owner, state, user data), so every write path is recorded alike.
const (
	// EventCreate: the resource was created (config sync, dynamic
	// resource, on-demand creation).
	EventCreate = "create"
	// EventDelete: the resource was deleted (it left the config, or a
	// tombstone was collected).
	EventDelete = "delete"
	// EventAcquire: an owner took the unowned resource (/acquire,
	// /acquirebystate, a Mason consumer).
	EventAcquire = "acquire"
	// EventClaim: an acquire from dirty to cleaning (a janitor or Mason
	// claiming a resource to clean or build it).
	EventClaim = "claim"
	// EventRelease: the owner handed the resource back.
	EventRelease = "release"
	// EventClean: a release from cleaning to free (a cleanup or a Mason
	// construction succeeded).
	EventClean = "clean"
	// EventFail: a release from cleaning to dirty (a cleanup failed or
	// was handed back, a Mason construction aborted).
	EventFail = "fail"
	// EventQuarantine: the resource went to quarantined (the janitor gave
	// up on it).
	EventQuarantine = "quarantine"
	// EventReset: a /reset or the reaper took the resource from an owner
	// that stopped sending heartbeats.
	EventReset = "reset"
	// EventMasonLease: Mason leased the (physical) resource for the
	// virtual resource HeldFor.
	EventMasonLease = "mason-lease"
	// EventMasonFree: Mason finished a construction: the physical
	// resource waits, unowned, in the state named after HeldFor.
	EventMasonFree = "mason-free"
	// EventMasonRecycle: Mason sent a physical resource of HeldFor back
	// to dirty (a recycle or an aborted construction).
	EventMasonRecycle = "mason-recycle"
	// EventToBeDeleted: the reconciler marked an unowned dynamic resource
	// for deletion.
	EventToBeDeleted = "to-be-deleted"
	// EventTombstone: the cleaner moved a toBeDeleted resource to
	// tombstone.
	EventTombstone = "tombstone"
	// EventMove: any other change of state without an owner change (for
	// example a parked Mason resource recycled by the cleaner).
	EventMove = "move"
	// EventTransfer: the resource went from one owner to another in one
	// write (no use case does this today; recorded should one ever do).
	EventTransfer = "transfer"
	// EventUpdate: the owner changed the user data (Keys); a heartbeat
	// that only stamps lastupdate is not recorded.
	EventUpdate = "update"
)

// HistoryRecord is one transition of a resource, as GET
// /v1/resources/{name}/history and GET /v1/history list it. Fields that do
// not apply to the event (or are zero) are left out of the JSON; name,
// type, version, time, event and epoch are always there.
type HistoryRecord struct {
	// Name and Type of the resource.
	Name string `json:"name"`
	Type string `json:"type"`
	// Version is the resource's store version after the write (for a
	// deletion: the one after its last version). With the resource's
	// creation it identifies the record: the same transition is never
	// recorded twice.
	Version int64 `json:"version"`
	// Time of the transition (the resource's new lastupdate; for a
	// deletion, when the change feed saw it).
	Time time.Time `json:"time"`
	// Event is one of the Event constants.
	Event string `json:"event"`
	// FromState and ToState are the state before and after ("" for a
	// creation and a deletion respectively).
	FromState string `json:"from_state,omitempty"`
	ToState   string `json:"to_state,omitempty"`
	// Owner is the owner after the transition, PrevOwner the one before
	// ("" when unowned).
	Owner     string `json:"owner,omitempty"`
	PrevOwner string `json:"prev_owner,omitempty"`
	// Epoch is the resource's lease counter after the transition (acquire
	// increments it).
	Epoch int64 `json:"epoch"`
	// RequestID is the acquire's request_id, if it had one.
	RequestID string `json:"request_id,omitempty"`
	// WaitedSeconds is how long an acquire's request_id waited in the
	// queue, from its first poll to the lease.
	WaitedSeconds float64 `json:"waited_seconds,omitempty"`
	// HeldSeconds is how long the lease that a release, reset, clean,
	// fail, quarantine or Mason step ended was held.
	HeldSeconds float64 `json:"held_seconds,omitempty"`
	// IdleSeconds is, for a reset, how long the lease had sent no
	// heartbeat.
	IdleSeconds float64 `json:"idle_seconds,omitempty"`
	// HeldFor is the Mason virtual resource a physical one was leased for.
	HeldFor string `json:"held_for,omitempty"`
	// Keys are the user data keys the write set, changed or removed,
	// sorted: names only, values may hold credentials.
	Keys []string `json:"userdata_keys,omitempty"`
	// Reason is the failure reason the resource carries (the janitor's
	// quarantineReason, Mason's masonError) for fail and quarantine
	// events, and for updates that change it; at most 1 KiB.
	Reason string `json:"reason,omitempty"`
}

// HistoryPage is one page of history records, newest first. Cursor, when
// not empty, fetches the next page.
type HistoryPage struct {
	Items  []HistoryRecord `json:"items"`
	Cursor string          `json:"cursor,omitempty"`
}

// HistoryQuery selects the records of GET /v1/history.
type HistoryQuery struct {
	// Type, when set, is the only type read; otherwise every type of the
	// config in force.
	Type string
	// Owner, when set, keeps the records whose Owner or PrevOwner it is.
	Owner string
	// Since and Until bound the records' Time (inclusive; zero: open).
	Since, Until time.Time
	// Limit is the page size; Cursor continues a previous page.
	Limit  int
	Cursor string
}

// UsageRow is the use one owner made of one type over a range: GET
// /v1/usage lists one per owner and type.
type UsageRow struct {
	Owner string `json:"owner"`
	Type  string `json:"type"`
	// Leases is the number of leases that overlap the range.
	Leases int `json:"leases"`
	// ResourceHours is the sum of the leases' durations within the range,
	// in hours (a lease still open at the range's end counts until it).
	ResourceHours float64 `json:"resource_hours"`
	// CostPerHour is the type's cost-per-hour in the config in force, and
	// Cost is ResourceHours times it; both absent without one.
	CostPerHour *float64 `json:"cost_per_hour,omitempty"`
	Cost        *float64 `json:"cost,omitempty"`
}

// UsageReport is the answer of GET /v1/usage: the range and its rows by
// owner, then type.
type UsageReport struct {
	Since  time.Time  `json:"since"`
	Until  time.Time  `json:"until"`
	Items  []UsageRow `json:"items"`
	Cursor string     `json:"cursor,omitempty"`
}

// UsageQuery selects the range of GET /v1/usage.
type UsageQuery struct {
	// Since and Until bound the range; zero Until means now, zero Since
	// means 30 days before Until.
	Since, Until time.Time
	// Type, when set, is the only type counted.
	Type string
	// Limit and Cursor page the rows.
	Limit  int
	Cursor string
}
