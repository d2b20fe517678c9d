package boskos

import (
	"encoding/json"
	"time"
)

// Well-known states. Any other non-empty string is a valid state too.
const (
	Busy        = "busy"
	Cleaning    = "cleaning"
	Dirty       = "dirty"
	Free        = "free"
	Leased      = "leased"
	ToBeDeleted = "toBeDeleted"
	Tombstone   = "tombstone"
	Other       = "other"
	// Quarantined holds a resource whose cleanup failed too often in a
	// row (core/janitor). Nothing acquires from it automatically; an
	// operator releases it by hand.
	Quarantined = "quarantined"
)

// KnownStates lists the states that metrics always report: upstream's, in its
// order, and the janitor's Quarantined.
var KnownStates = []string{Busy, Cleaning, Dirty, Free, Leased, ToBeDeleted, Tombstone, Quarantined}

// LeasedResources is the user data key Mason uses for the names of the
// physical resources a virtual resource holds (a YAML list).
const LeasedResources = "leasedResources"

// UserData is the string map a resource carries. Values are opaque (they
// often hold credentials: never log them).
type UserData map[string]string

// Limits of user data. A resource's whole user data is bounded by the size
// of one store item (store.MaxItemBytes, DynamoDB's 400 KB), on every
// backend; DynamoDB also bounds an attribute name to 64 KiB.
const (
	// MaxUserDataBytes bounds UserData.Size of one update's delta.
	MaxUserDataBytes = 256 << 10
	// MaxUserDataKeyBytes bounds the length of one user data key.
	MaxUserDataKeyBytes = 1024
)

// Size is the storage size of u as limited by MaxUserDataBytes: the bytes
// of every key and value plus one per entry.
func (u UserData) Size() int {
	n := 0
	for k, v := range u {
		n += len(k) + len(v) + 1
	}
	return n
}

// Merge applies delta to u following upstream's rule: a "" value deletes the
// key, any other value sets it, keys absent from delta are untouched.
func (u UserData) Merge(delta UserData) UserData {
	out := make(UserData, len(u)+len(delta))
	for k, v := range u {
		out[k] = v
	}
	for k, v := range delta {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Resource is one pooled resource, as the wire contract shows it.
type Resource struct {
	Type           string
	Name           string
	State          string
	Owner          string
	LastUpdate     time.Time
	UserData       UserData
	ExpirationDate *time.Time
	// Epoch is the fencing token: it goes up by one on every successful
	// acquire. Not part of upstream's shape; upstream clients ignore it.
	Epoch int64
}

// resourceJSON fixes the field names and order of the wire format.
type resourceJSON struct {
	Type           string     `json:"type"`
	Name           string     `json:"name"`
	State          string     `json:"state"`
	Owner          string     `json:"owner"`
	LastUpdate     time.Time  `json:"lastupdate"`
	UserData       UserData   `json:"userdata"`
	ExpirationDate *time.Time `json:"expiration-date,omitempty"`
	Epoch          int64      `json:"epoch"`
}

// MarshalJSON writes the upstream field order, userdata never null.
func (r Resource) MarshalJSON() ([]byte, error) {
	ud := r.UserData
	if ud == nil {
		ud = UserData{}
	}
	return json.Marshal(resourceJSON{
		Type: r.Type, Name: r.Name, State: r.State, Owner: r.Owner,
		LastUpdate: r.LastUpdate, UserData: ud, ExpirationDate: r.ExpirationDate, Epoch: r.Epoch,
	})
}

// UnmarshalJSON reads the wire format.
func (r *Resource) UnmarshalJSON(b []byte) error {
	var j resourceJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Resource{Type: j.Type, Name: j.Name, State: j.State, Owner: j.Owner,
		LastUpdate: j.LastUpdate, UserData: j.UserData, ExpirationDate: j.ExpirationDate, Epoch: j.Epoch}
	if r.UserData == nil {
		r.UserData = UserData{}
	}
	return nil
}

// Metric is the answer of /metric: counts of one type's resources by state
// and by owner ("" for unowned).
type Metric struct {
	Type    string         `json:"type"`
	Current map[string]int `json:"current"`
	Owners  map[string]int `json:"owner"`
}

// QuotaUsage is a quota of the config in force and how many resources it
// counts now (the holdings of its owners granted while it was in force).
type QuotaUsage struct {
	Quota
	Used int64
}
