package boskos_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// quotaResources is the resources section the quota cases share.
const quotaResources = `
resources:
- type: t
  names: [a, b, c]
- type: d
  max-count: 2
`

func TestValidateQuotas(t *testing.T) {
	many := "quotas:\n"
	for i := range boskos.MaxQuotasPerType + 1 {
		many += fmt.Sprintf("- {owner: o-%d, type: t, max: 1}\n", i)
	}
	tests := []struct {
		name    string
		quotas  string
		wantErr string // "" = valid
	}{
		{name: "exact owner and pattern", quotas: `
quotas:
- {owner: ci-a, type: t, max: 1}
- {owner: "ci-*", type: t, max: 3}
- {owner: "*", type: d, max: 0}`},
		{name: "no quotas section", quotas: ""},
		{name: "empty quotas section", quotas: "quotas: []"},
		{name: "missing owner", quotas: "quotas:\n- {type: t, max: 1}",
			wantErr: `quotas.0.owner: must be set (an owner name, or a pattern such as "ci-*")`},
		{name: "missing type", quotas: "quotas:\n- {owner: o, max: 1}", wantErr: "quotas.0.type: must be set"},
		{name: "unknown type", quotas: "quotas:\n- {owner: o, type: nope, max: 1}",
			wantErr: `quotas.0.type: "nope" is not a type of the resources section`},
		{name: "missing max", quotas: "quotas:\n- {owner: o, type: t}",
			wantErr: "quotas.0.max: must be set (0 lets the owners hold none)"},
		{name: "negative max", quotas: "quotas:\n- {owner: o, type: t, max: -1}", wantErr: "quotas.0.max: must be >=0"},
		{name: "control character in owner", quotas: "quotas:\n- {owner: \"a\\u0001\", type: t, max: 1}",
			wantErr: "quotas.0.owner: must not contain control characters"},
		{name: "too long owner", quotas: "quotas:\n- {owner: " + strings.Repeat("o", 254) + ", type: t, max: 1}",
			wantErr: "quotas.0.owner: must be no more than 253 bytes (got 254)"},
		{name: "duplicate owner and type", quotas: `
quotas:
- {owner: "ci-*", type: t, max: 1}
- {owner: "ci-*", type: d, max: 1}
- {owner: "ci-*", type: t, max: 2}`, wantErr: `quotas.2: owner "ci-*" and type "t" are a duplicate of quotas.0`},
		{name: "too many quotas of one type", quotas: many,
			wantErr: fmt.Sprintf(`quotas: type "t" has more than %d quotas`, boskos.MaxQuotasPerType)},
		{name: "every problem at once, with the resources' own", quotas: `
quotas:
- {type: nope}
- {owner: o, type: t, max: -2}`,
			wantErr: `[.2.max-count: must be >0, quotas.0.owner: must be set (an owner name, or a pattern such as "ci-*"), ` +
				`quotas.0.type: "nope" is not a type of the resources section, quotas.0.max: must be set (0 lets the owners hold none), ` +
				`quotas.1.max: must be >=0]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := quotaResources
			if strings.HasPrefix(tc.name, "every problem") {
				res += "- type: bad\n"
			}
			c, err := boskos.ParseConfig([]byte(res + tc.quotas))
			require.NoError(t, err)
			err = c.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.wantErr, err.Error())
			assert.Equal(t, boskos.EInvalid, boskos.ErrorCode(err))
		})
	}
}

func TestQuotaList(t *testing.T) {
	c, err := boskos.ParseValidConfig([]byte(quotaResources + `
quotas:
- {owner: "ci-*", type: t, max: 3}
- {owner: bot, type: d, max: 0}
`))
	require.NoError(t, err)
	assert.Equal(t, []boskos.Quota{{Owner: "ci-*", Type: "t", Max: 3}, {Owner: "bot", Type: "d", Max: 0}}, c.QuotaList())

	_, err = boskos.ParseConfig([]byte(quotaResources + "quotas:\n- {owner: o, type: t, max: 1, maximum: 2}\n"))
	require.Error(t, err, "unknown fields of a quota are an error")
}

func TestQuotaMatches(t *testing.T) {
	tests := []struct {
		name         string
		q            boskos.Quota
		rtype, owner string
		want         bool
	}{
		{"exact owner", boskos.Quota{Owner: "ci-a", Type: "t"}, "t", "ci-a", true},
		{"exact owner, another one", boskos.Quota{Owner: "ci-a", Type: "t"}, "t", "ci-ab", false},
		{"pattern", boskos.Quota{Owner: "ci-*", Type: "t"}, "t", "ci-b", true},
		{"pattern, another type", boskos.Quota{Owner: "ci-*", Type: "t"}, "u", "ci-b", false},
		{"everyone", boskos.Quota{Owner: "*", Type: "t"}, "t", "anyone", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.q.Matches(tc.rtype, tc.owner), "Matches(%q, %q)", tc.rtype, tc.owner)
		})
	}
}

func TestOverQuota(t *testing.T) {
	tests := []struct {
		name, owner, pattern string
		max                  int64
		want                 string
	}{
		{"exact owner", "ci-a", "ci-a", 3, `quota exceeded: owner "ci-a" may hold at most 3 resources of type "t" at once; try again after a release.`},
		{"pattern", "ci-a", "ci-*", 3, `quota exceeded: owner "ci-a" may hold at most 3 resources of type "t" at once, together with every owner matching "ci-*"; try again after a release.`},
		{"one", "ci-a", "ci-a", 1, `quota exceeded: owner "ci-a" may hold at most 1 resource of type "t" at once; try again after a release.`},
		{"none", "ci-a", "*", 0, `quota exceeded: owner "ci-a" may hold at most 0 resources of type "t" at once, together with every owner matching "*"; try again after a release.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := boskos.OverQuota(tc.owner, "t", tc.pattern, tc.max)
			assert.Equal(t, tc.want, err.Error())
			assert.Equal(t, boskos.EOverQuota, boskos.ErrorCode(err))
		})
	}
}
