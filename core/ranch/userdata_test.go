package ranch

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/store"
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
	// A delta just under the limit.
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
		{name: "many keys: delta under the limit", upName: "r", owner: "o", state: "busy", ud: nearly,
			wantUD: with(nearly, boskos.UserData{"a": "1", "b": "2"})},
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

// TestUserDataBoundedByItem: a resource's user data grows, update by
// update, until the resource would no longer fit in one store item; that
// update is a 413 naming the size, on the key-by-key path and on the
// read-merge-write path alike, and changes nothing.
func TestUserDataBoundedByItem(t *testing.T) {
	chunk := strings.Repeat("x", 100<<10)
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		e.seed(res{name: "r", rtype: "t", state: "busy", owner: "o"})
		for i := 0; i < 3; i++ {
			require.NoError(t, e.r.Update(e.ctx, "r", "o", "busy", boskos.UserData{fmt.Sprint("p", i): chunk}, nil))
		}
		before := e.all()
		size := func(delta boskos.UserData) int {
			it, err := e.mem.Get(e.ctx, resourceKey("r"))
			require.NoError(t, err)
			it.Map[attrUserData] = boskos.UserData(it.Map[attrUserData]).Merge(delta)
			return it.Size()
		}
		for _, delta := range []boskos.UserData{
			{"p3": chunk}, // key by key
			with(manyKeys(mapOpsLimit, "v"), boskos.UserData{"p3": chunk}), // read, merge, write
		} {
			n := size(delta)
			require.Greater(t, n, store.MaxItemBytes)
			err := e.r.Update(e.ctx, "r", "o", "busy", delta, nil)
			requireErr(t, err, boskos.ETooLarge, fmt.Sprintf(
				"userdata too large: the resource would have %d bytes with this update, the limit is %d", n, store.MaxItemBytes))
			assert.Equal(t, before, e.all(), "store unchanged")
		}
		// Room is made by deleting keys, and the resource goes on working.
		require.NoError(t, e.r.Update(e.ctx, "r", "o", "busy", boskos.UserData{"p0": "", "p3": chunk}, nil))
		require.NoError(t, e.r.Release(e.ctx, "r", "free", "o", nil))
	})
}

// TestUpdateRefusedByStore: when the store refuses a heartbeat's write
// outright (as DynamoDB refuses an item over 400 KB), the caller hears why
// if the request is at fault, and a 500 otherwise.
func TestUpdateRefusedByStore(t *testing.T) {
	big := boskos.UserData{"big": strings.Repeat("x", store.MaxItemBytes-1024)}
	tooMuch := boskos.UserData{"k": strings.Repeat("y", 2000)}
	tests := []struct {
		name     string
		owner    string
		ud       boskos.UserData
		failWith error
		wantCode boskos.Code
		wantMsg  string // "": computed from the stored item
	}{
		{"merged user data too large", "o", tooMuch, nil, boskos.ETooLarge, ""},
		{"not the holder", "p", tooMuch, nil, boskos.EOwnerMismatch,
			"owner mismatch request by p, currently owned by o"},
		{"small delta: the store's fault", "o", boskos.UserData{"k": "v"}, nil, boskos.EInternal,
			"ranch: update r: faultstore: injected failure"},
		{"the store counts more than Item.Size", "o", boskos.UserData{"k": "v"}, store.ErrTooLarge, boskos.ETooLarge,
			"userdata too large: the resource would exceed the store's item size limit (409600 bytes)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{}, faultstore.Fail(faultstore.Method("Update"), tc.failWith, 0))
			e.seed(res{name: "r", rtype: "t", state: "busy", owner: "o", ud: big})
			before := e.all()
			want := tc.wantMsg
			if want == "" {
				it, err := e.mem.Get(e.ctx, resourceKey("r"))
				require.NoError(t, err)
				it.Map[attrUserData] = boskos.UserData(it.Map[attrUserData]).Merge(tc.ud)
				want = fmt.Sprintf("userdata too large: the resource would have %d bytes with this update, the limit is %d", it.Size(), store.MaxItemBytes)
			}
			err := e.r.Update(e.ctx, "r", tc.owner, "busy", tc.ud, nil)
			requireErr(t, err, tc.wantCode, want)
			assert.Equal(t, before, e.all())
		})
	}
}
