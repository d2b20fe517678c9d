package backend

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		want    Spec
		wantErr string
	}{
		{name: "empty is the default", spec: "", want: Spec{Kind: Bolt, Path: "boskos.db"}},
		{name: "bolt with path", spec: "bolt:/tmp/x/b.db", want: Spec{Kind: Bolt, Path: "/tmp/x/b.db"}},
		{name: "bolt path with colon", spec: "bolt:c:x.db", want: Spec{Kind: Bolt, Path: "c:x.db"}},
		{name: "bare bolt", spec: "bolt", want: Spec{Kind: Bolt, Path: "boskos.db"}},
		{name: "bolt empty path", spec: "bolt:", wantErr: "bolt needs a file path"},
		{name: "memory", spec: "memory", want: Spec{Kind: Memory}},
		{name: "memory with spaces", spec: " memory ", want: Spec{Kind: Memory}},
		{name: "memory with argument", spec: "memory:x", wantErr: "memory takes no argument"},
		{name: "dynamodb", spec: "dynamodb:boskos-test_1.a", want: Spec{Kind: DynamoDB, Table: "boskos-test_1.a"}},
		{name: "dynamodb without table", spec: "dynamodb", wantErr: "dynamodb needs a table name"},
		{name: "dynamodb empty table", spec: "dynamodb:", wantErr: "dynamodb needs a table name"},
		{name: "dynamodb short table", spec: "dynamodb:ab", wantErr: "invalid DynamoDB table name"},
		{name: "dynamodb bad table", spec: "dynamodb:a/b/c", wantErr: "invalid DynamoDB table name"},
		{name: "unknown", spec: "redis:localhost", wantErr: `unknown store "redis:localhost": want bolt:PATH, memory or dynamodb:TABLE`},
		{name: "case matters", spec: "Memory", wantErr: "unknown store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.spec)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			again, err := Parse(got.String())
			require.NoError(t, err, "String() must parse back")
			assert.Equal(t, got, again)
		})
	}
}
