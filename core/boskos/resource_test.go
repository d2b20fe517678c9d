package boskos_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
)

func TestUserDataMerge(t *testing.T) {
	tests := []struct {
		name        string
		base, delta boskos.UserData
		want        boskos.UserData
	}{
		{"nil both", nil, nil, boskos.UserData{}},
		{"set", boskos.UserData{"a": "1"}, boskos.UserData{"b": "2"}, boskos.UserData{"a": "1", "b": "2"}},
		{"overwrite", boskos.UserData{"a": "1"}, boskos.UserData{"a": "2"}, boskos.UserData{"a": "2"}},
		{"empty deletes", boskos.UserData{"a": "1", "b": "2"}, boskos.UserData{"a": ""}, boskos.UserData{"b": "2"}},
		{"delete missing key", boskos.UserData{"a": "1"}, boskos.UserData{"z": ""}, boskos.UserData{"a": "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before boskos.UserData
			if tc.base != nil {
				before = boskos.UserData{}
				for k, v := range tc.base {
					before[k] = v
				}
			}
			assert.Equal(t, tc.want, tc.base.Merge(tc.delta))
			assert.Equal(t, before, tc.base, "base must not change")
		})
	}
}

func TestResourceJSON(t *testing.T) {
	lu := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	exp := lu.Add(time.Hour)
	tests := []struct {
		name string
		res  boskos.Resource
		want string
	}{
		{"upstream golden shape, userdata never null",
			boskos.Resource{Type: "t", Name: "res", State: "d", Owner: "o", LastUpdate: lu},
			`{"type":"t","name":"res","state":"d","owner":"o","lastupdate":"2006-01-02T15:04:05Z","userdata":{},"epoch":0}`},
		{"expiration and userdata",
			boskos.Resource{Type: "t", Name: "res", State: "free", LastUpdate: lu, UserData: boskos.UserData{"k": "v"}, ExpirationDate: &exp, Epoch: 3},
			`{"type":"t","name":"res","state":"free","owner":"","lastupdate":"2006-01-02T15:04:05Z","userdata":{"k":"v"},"expiration-date":"2006-01-02T16:04:05Z","epoch":3}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.res)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(b))
			var back boskos.Resource
			require.NoError(t, json.Unmarshal(b, &back))
			if tc.res.UserData == nil {
				tc.res.UserData = boskos.UserData{}
			}
			assert.Equal(t, tc.res, back)
		})
	}
}

func TestResourceUnmarshal(t *testing.T) {
	var r boskos.Resource
	require.NoError(t, json.Unmarshal([]byte(`{"name":"a","userdata":null,"extra":1,"lastupdate":"2006-01-02T15:04:05.5Z"}`), &r))
	assert.Equal(t, boskos.UserData{}, r.UserData, "null userdata reads as empty")
	assert.Equal(t, 500*time.Millisecond, time.Duration(r.LastUpdate.Nanosecond()))
	require.Error(t, json.Unmarshal([]byte(`{"name":"a","userdata":{"k":1}}`), &r), "userdata values are strings")
}

func TestErrors(t *testing.T) {
	tests := []struct {
		err  error
		code boskos.Code
		msg  string
	}{
		{boskos.OwnerMismatch("a", "b"), boskos.EOwnerMismatch, "owner mismatch request by a, currently owned by b"},
		{boskos.OwnerMismatch("a", ""), boskos.EOwnerMismatch, "owner mismatch request by a, currently owned by "},
		{boskos.ResourceNotFound("t"), boskos.ENotFound, "no available resource t, try again later."},
		{boskos.TypeNotFound("t"), boskos.ETypeNotFound, `resource type "t" does not exist`},
		{boskos.StateMismatch("busy", "free"), boskos.EStateMismatch, "state mismatch - expected busy, current free"},
		{boskos.StaleEpoch("r", 1, 2), boskos.EStaleEpoch, "stale epoch for r: request has 1, resource is at 2"},
		{boskos.Invalid("bad %s", "x"), boskos.EInvalid, "bad x"},
		{boskos.TooLarge("big %d", 3), boskos.ETooLarge, "big 3"},
		{boskos.Internal(fmt.Errorf("disk")), boskos.EInternal, "disk"},
		{fmt.Errorf("wrapped: %w", boskos.TypeNotFound("t")), boskos.ETypeNotFound, `wrapped: resource type "t" does not exist`},
		{fmt.Errorf("plain"), boskos.EInternal, "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.msg, func(t *testing.T) {
			assert.Equal(t, tc.code, boskos.ErrorCode(tc.err))
			assert.Equal(t, tc.msg, tc.err.Error())
		})
	}
	assert.Equal(t, boskos.Code(""), boskos.ErrorCode(nil))
}

// TestCodes: Codes lists every Code constant declared in errors.go, once.
func TestCodes(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	require.NoError(t, err)
	var declared []boskos.Code
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				require.True(t, ok, "code constants are string literals")
				s, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				declared = append(declared, boskos.Code(s))
			}
		}
	}
	require.NotEmpty(t, declared)
	assert.Equal(t, declared, boskos.Codes())
}

func TestUserDataSize(t *testing.T) {
	tests := []struct {
		name string
		ud   boskos.UserData
		want int
	}{
		{"nil", nil, 0},
		{"empty", boskos.UserData{}, 0},
		{"keys, values and one byte per entry", boskos.UserData{"ab": "cde", "f": ""}, 2 + 3 + 1 + 1 + 0 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.ud.Size())
		})
	}
}
