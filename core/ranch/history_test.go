package ranch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
)

// hres is a resource item for DeriveHistory's tests.
func hres(version int64, state, owner string, at time.Time, extra ...string) *store.Item {
	it := newResourceItem("t", "r-1", state, at)
	it.Version = version
	it.Str[attrOwner] = owner
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i] == "ud" {
			it.Map[attrUserData][extra[i+1]] = "v"
			continue
		}
		if extra[i] == "reason" {
			it.Map[attrUserData][quarantineReasonKey] = extra[i+1]
			continue
		}
		it.Str[extra[i]] = extra[i+1]
	}
	return &it
}

func TestDeriveHistory(t *testing.T) {
	t0 := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 := t0.Add(90 * time.Second)
	ts := fmtTime
	tests := []struct {
		name     string
		old, new *store.Item
		want     boskos.HistoryRecord // Name, Type, Version and Time are checked apart
		none     bool
	}{
		{"create", nil, hres(1, "free", "", t0), boskos.HistoryRecord{Event: boskos.EventCreate, ToState: "free"}, false},
		{"delete", hres(4, "tombstone", "", t0), nil, boskos.HistoryRecord{Event: boskos.EventDelete, FromState: "tombstone"}, false},
		{"acquire with a queued request",
			hres(1, "free", "", t0),
			hres(2, "busy", "o", t1, attrLeasedAt, ts(t1), attrRequestID, "rid", attrQueuedAt, ts(t0)),
			boskos.HistoryRecord{Event: boskos.EventAcquire, FromState: "free", ToState: "busy", Owner: "o", RequestID: "rid", WaitedSeconds: 90}, false},
		{"claim", hres(1, "dirty", "", t0), hres(2, "cleaning", "j", t1, attrLeasedAt, ts(t1)),
			boskos.HistoryRecord{Event: boskos.EventClaim, FromState: "dirty", ToState: "cleaning", Owner: "j"}, false},
		{"mason lease", hres(1, "free", "", t0), hres(2, "leased", "mason", t1, attrHeldFor, "v-1"),
			boskos.HistoryRecord{Event: boskos.EventMasonLease, FromState: "free", ToState: "leased", Owner: "mason", HeldFor: "v-1"}, false},
		{"release", hres(2, "busy", "o", t0, attrLeasedAt, ts(t0)), hres(3, "dirty", "", t1),
			boskos.HistoryRecord{Event: boskos.EventRelease, FromState: "busy", ToState: "dirty", PrevOwner: "o", HeldSeconds: 90}, false},
		{"clean", hres(2, "cleaning", "j", t0, attrLeasedAt, ts(t0)), hres(3, "free", "", t1),
			boskos.HistoryRecord{Event: boskos.EventClean, FromState: "cleaning", ToState: "free", PrevOwner: "j", HeldSeconds: 90}, false},
		{"fail with a reason", hres(2, "cleaning", "j", t0, "reason", "exit 1"), hres(3, "dirty", "", t1, "reason", "exit 1"),
			boskos.HistoryRecord{Event: boskos.EventFail, FromState: "cleaning", ToState: "dirty", PrevOwner: "j", Reason: "exit 1"}, false},
		{"quarantine", hres(2, "cleaning", "j", t0), hres(3, "quarantined", "", t1),
			boskos.HistoryRecord{Event: boskos.EventQuarantine, FromState: "cleaning", ToState: "quarantined", PrevOwner: "j"}, false},
		{"reset", hres(2, "busy", "o", t0, attrLeasedAt, ts(t0.Add(-time.Hour))), hres(3, "dirty", "", t1, attrCause, causeReset),
			boskos.HistoryRecord{Event: boskos.EventReset, FromState: "busy", ToState: "dirty", PrevOwner: "o", HeldSeconds: 3690, IdleSeconds: 90}, false},
		{"mason free", hres(2, "leased", "mason", t0, attrHeldFor, "v-1"), hres(3, "v-1", "", t1),
			boskos.HistoryRecord{Event: boskos.EventMasonFree, FromState: "leased", ToState: "v-1", PrevOwner: "mason", HeldFor: "v-1"}, false},
		{"mason recycle", hres(2, "leased", "mason", t0, attrHeldFor, "v-1"), hres(3, "dirty", "", t1),
			boskos.HistoryRecord{Event: boskos.EventMasonRecycle, FromState: "leased", ToState: "dirty", PrevOwner: "mason", HeldFor: "v-1"}, false},
		{"to be deleted", hres(2, "free", "", t0), hres(3, "toBeDeleted", "", t1),
			boskos.HistoryRecord{Event: boskos.EventToBeDeleted, FromState: "free", ToState: "toBeDeleted"}, false},
		{"tombstone", hres(2, "toBeDeleted", "", t0), hres(3, "tombstone", "", t1),
			boskos.HistoryRecord{Event: boskos.EventTombstone, FromState: "toBeDeleted", ToState: "tombstone"}, false},
		{"move", hres(2, "v-1", "", t0), hres(3, "dirty", "", t1),
			boskos.HistoryRecord{Event: boskos.EventMove, FromState: "v-1", ToState: "dirty"}, false},
		{"transfer", hres(2, "busy", "a", t0), hres(3, "busy", "b", t1),
			boskos.HistoryRecord{Event: boskos.EventTransfer, FromState: "busy", ToState: "busy", Owner: "b", PrevOwner: "a"}, false},
		{"userdata", hres(2, "busy", "o", t0, "ud", "gone", "ud", "kept"), hres(3, "busy", "o", t1, "ud", "kept", "ud", "new"),
			boskos.HistoryRecord{Event: boskos.EventUpdate, FromState: "busy", ToState: "busy", Owner: "o", PrevOwner: "o", Keys: []string{"gone", "new"}}, false},
		{"heartbeat", hres(2, "busy", "o", t0), hres(3, "busy", "o", t1), boskos.HistoryRecord{}, true},
		{"bookkeeping", hres(2, "busy", "o", t0), hres(3, "busy", "o", t0, attrQuotas, "q"), boskos.HistoryRecord{}, true},
		{"not a resource", nil, &store.Item{Key: "queue/x", Version: 1}, boskos.HistoryRecord{}, true},
		{"nothing", nil, nil, boskos.HistoryRecord{}, true},
	}
	at := t1.Add(time.Minute) // when the feed saw it
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := DeriveHistory(tc.old, tc.new, at)
			if tc.none {
				assert.False(t, ok, "got %+v, want no record", got)
				return
			}
			require.True(t, ok)
			assert.Equal(t, "r-1", got.Name)
			assert.Equal(t, "t", got.Type)
			wantVersion, wantTime := int64(0), at
			if tc.new != nil {
				wantVersion, wantTime = tc.new.Version, t1
				if tc.old == nil {
					wantTime = t0
				}
			} else {
				wantVersion = tc.old.Version + 1
			}
			assert.Equal(t, wantVersion, got.Version)
			assert.True(t, wantTime.Equal(got.Time), "time %v, want %v", got.Time, wantTime)
			got.Name, got.Type, got.Version, got.Time = "", "", 0, time.Time{}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestHistoryKeysOrder(t *testing.T) {
	// Newer versions, and newer generations, sort first.
	assert.Less(t, historyKey("r", 5, 10), historyKey("r", 5, 9))
	assert.Less(t, historyKey("r", 6, 1), historyKey("r", 5, 99))
	t0 := time.Unix(100, 0)
	assert.Less(t, historySort(t0.Add(time.Nanosecond), "history/a/x"), historySort(t0, "history/a/x"))
	assert.Equal(t, 19, len(inverted(0)))
}

func TestHistoryCursor(t *testing.T) {
	c := encodeHistoryCursor("h", "pos")
	got, err := decodeHistoryCursor("h", c)
	require.NoError(t, err)
	assert.Equal(t, "pos", got)
	for _, bad := range []string{"!!", encodeHistoryCursor("u", "1"), encodeHistoryCursor("h", "")} {
		_, err := decodeHistoryCursor("h", bad)
		assert.Equal(t, boskos.EInvalid, boskos.ErrorCode(err), "cursor %q", bad)
	}
}
