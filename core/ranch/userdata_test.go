package ranch

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store/faultstore"
)

// manyKeys returns n keys k000.. set to v.
func manyKeys(n int, v string) boskos.UserData {
	ud := boskos.UserData{}
	for i := 0; i < n; i++ {
		ud[fmt.Sprintf("k%03d", i)] = v
	}
	return ud
}

// with returns a copy of a with b's entries added.
func with(a, b boskos.UserData) boskos.UserData {
	out := boskos.UserData{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestUpdateUserDataLimits: deltas of many keys take the read-merge-write
// path with the same checks in the same order; oversized deltas and keys
// are refused before anything is written.
func TestUpdateUserDataLimits(t *testing.T) {
	many := manyKeys(mapOpsLimit+1, "v")
	// A delta just under the limit whose merge with the seeded {a, b}
	// (3 bytes each) goes over it.
	nearly := manyKeys(mapOpsLimit, "v") // 64 * (4+1+1) = 384 bytes
	nearly["big"] = strings.Repeat("x", boskos.MaxUserDataBytes-384-4-2)
	require.Equal(t, boskos.MaxUserDataBytes-2, nearly.Size())
	// A delta exactly at the limit (deleted keys count too).
	atLimit := with(nearly, boskos.UserData{"big": strings.Repeat("x", boskos.MaxUserDataBytes-384-4-4), "a": "", "b": ""})
	require.Equal(t, boskos.MaxUserDataBytes, atLimit.Size())

	tests := []updateCase{
		{name: "many keys: set, overwrite, delete", upName: "r", owner: "o", state: "busy",
			ud: with(many, boskos.UserData{"a": "", "b": "9"}), wantUD: with(many, boskos.UserData{"b": "9"})},
		{name: "many keys: matching epoch", upName: "r", owner: "o", state: "busy", ud: many, epoch: ptr[int64](7),
			wantUD: with(many, boskos.UserData{"a": "1", "b": "2"})},
		{name: "many keys: missing", upName: "nope", owner: "o", state: "busy", ud: many,
			wantErr: boskos.ResourceNotFound("nope")},
		{name: "many keys: owner before state", upName: "r", owner: "p", state: "free", ud: many,
			wantErr: boskos.OwnerMismatch("p", "o")},
		{name: "many keys: state before epoch", upName: "r", owner: "o", state: "free", ud: many, epoch: ptr[int64](1),
			wantErr: boskos.StateMismatch("busy", "free")},
		{name: "many keys: stale epoch", upName: "r", owner: "o", state: "busy", ud: many, epoch: ptr[int64](6),
			wantErr: boskos.StaleEpoch("r", 6, 7)},
		{name: "many keys: merged user data too large", upName: "r", owner: "o", state: "busy", ud: nearly,
			wantErr: boskos.TooLarge("userdata too large: the merged user data would have %d bytes, the limit is %d",
				boskos.MaxUserDataBytes+4, boskos.MaxUserDataBytes)},
		{name: "many keys: delta at the limit", upName: "r", owner: "o", state: "busy",
			ud: atLimit, wantUD: with(nearly, boskos.UserData{"big": atLimit["big"]})},
		{name: "delta too large", upName: "r", owner: "o", state: "busy",
			ud: boskos.UserData{"k": strings.Repeat("x", boskos.MaxUserDataBytes)},
			wantErr: boskos.TooLarge("userdata too large: the update has %d bytes, the limit is %d",
				boskos.MaxUserDataBytes+2, boskos.MaxUserDataBytes)},
		{name: "delta too large is checked before existence", upName: "nope", owner: "o", state: "busy",
			ud: boskos.UserData{"k": strings.Repeat("x", boskos.MaxUserDataBytes)},
			wantErr: boskos.TooLarge("userdata too large: the update has %d bytes, the limit is %d",
				boskos.MaxUserDataBytes+2, boskos.MaxUserDataBytes)},
		{name: "key too long", upName: "r", owner: "o", state: "busy",
			ud:      boskos.UserData{strings.Repeat("k", boskos.MaxUserDataKeyBytes+1): "v"},
			wantErr: boskos.Invalid("invalid userdata: keys must be no more than 1024 bytes (got 1025)")},
		{name: "longest key", upName: "r", owner: "o", state: "busy",
			ud:     boskos.UserData{strings.Repeat("k", boskos.MaxUserDataKeyBytes): "v"},
			wantUD: boskos.UserData{"a": "1", "b": "2", strings.Repeat("k", boskos.MaxUserDataKeyBytes): "v"}},
	}
	runUpdateCases(t, tests)
}

// TestUpdateRefusedByStore: when the store refuses a heartbeat's write
// outright (as DynamoDB refuses an item over 400 KB), the caller hears why
// if the request is at fault, and a 500 otherwise.
func TestUpdateRefusedByStore(t *testing.T) {
	big := boskos.UserData{"big": strings.Repeat("x", boskos.MaxUserDataBytes-10)}
	tests := []struct {
		name     string
		owner    string
		ud       boskos.UserData
		wantCode boskos.Code
		wantMsg  string
	}{
		{"merged user data too large", "o", boskos.UserData{"k": "0123456789"}, boskos.ETooLarge,
			fmt.Sprintf("userdata too large: the merged user data would have %d bytes, the limit is %d", boskos.MaxUserDataBytes+6, boskos.MaxUserDataBytes)},
		{"not the holder", "p", boskos.UserData{"k": "0123456789"}, boskos.EOwnerMismatch,
			"owner mismatch request by p, currently owned by o"},
		{"small delta: the store's fault", "o", boskos.UserData{"k": "v"}, boskos.EInternal,
			"ranch: update r: faultstore: injected failure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{}, faultstore.Fail(faultstore.Method("Update"), nil, 0))
			e.seed(res{name: "r", rtype: "t", state: "busy", owner: "o", ud: big})
			before := e.all()
			err := e.r.Update(e.ctx, "r", tc.owner, "busy", tc.ud, nil)
			requireErr(t, err, tc.wantCode, tc.wantMsg)
			assert.Equal(t, before, e.all())
		})
	}
}
