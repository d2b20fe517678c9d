package boskos

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLeasedResources(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "empty", in: "", want: nil},
		{name: "upstream yaml list", in: "- static_1\n- static_2\n", want: []string{"static_1", "static_2"}},
		{name: "json list", in: `["a","b"]`, want: []string{"a", "b"}},
		{name: "flow yaml", in: "[a, b]", want: []string{"a", "b"}},
		{name: "not a list", in: "a: b", wantErr: "want a YAML list"},
		{name: "empty name", in: `["a",""]`, wantErr: "name 1 is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLeasedResources(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				assert.Equal(t, EInvalid, ErrorCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFormatLeasedResourcesRoundTrip(t *testing.T) {
	s, err := FormatLeasedResources([]string{"p-1", "p-2"})
	require.NoError(t, err)
	assert.Equal(t, "- p-1\n- p-2\n", s)
	got, err := ParseLeasedResources(s)
	require.NoError(t, err)
	assert.Equal(t, []string{"p-1", "p-2"}, got)
	s, err = FormatLeasedResources(nil)
	require.NoError(t, err)
	assert.Empty(t, s)
}
