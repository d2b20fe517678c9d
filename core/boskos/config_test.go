package boskos_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
)

const dnsMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // "" = valid
	}{
		{name: "upstream example", yaml: `
resources:
- type: phonetic-project
  names: [alpha, bravo, charlie, delta]
- type: numeric-project
  state: dirty
  names: ["1", "2", "3"]
- type: manual-token
  state: free
  names: [token-1, token-2]
- type: automatic-token
  state: free
  min-count: 5
  max-count: 5
  lifespan: 5m
`},
		{name: "empty", yaml: `resources: []`, wantErr: "empty config"},
		{name: "cost per hour", yaml: `
resources:
- type: s
  names: [a]
  cost-per-hour: 0.25
- type: d
  max-count: 2
  cost-per-hour: 0`},
		{name: "negative cost per hour", yaml: `
resources:
- type: s
  names: [a]
  cost-per-hour: -1`, wantErr: ".0.cost-per-hour: must be a finite number >=0"},
		{name: "missing type", yaml: `
resources:
- names: [a]`, wantErr: ".0.type: must be set"},
		{name: "drlc max-count", yaml: `
resources:
- type: d`, wantErr: ".0.max-count: must be >0"},
		{name: "drlc min over max", yaml: `
resources:
- type: d
  min-count: 3
  max-count: 2`, wantErr: ".0.min-count: must be <= .0.max-count"},
		{name: "static with counts", yaml: `
resources:
- type: s
  names: [a]
  min-count: 1
  max-count: 2`, wantErr: "[.0.min-count must be unset when the names property is set, .0.max-count must be unset when the names property is set]"},
		{name: "invalid name", yaml: `
resources:
- type: s
  names: [a, B]`, wantErr: ".0.names.1(B) is invalid: [" + dnsMsg + "]"},
		{name: "too long name", yaml: `
resources:
- type: s
  names: [` + strings.Repeat("a", 254) + `]`, wantErr: ".0.names.0(" + strings.Repeat("a", 254) + ") is invalid: [must be no more than 253 characters]"},
		{name: "duplicate names across entries", yaml: `
resources:
- type: s
  names: [a, b]
- type: u
  names: [c, a]`, wantErr: ".1.names.1(a) is a duplicate"},
		{name: "duplicate type (upstream accepts it)", yaml: `
resources:
- type: s
  names: [a]
- type: s
  names: [b]`, wantErr: `.1.type: "s" is a duplicate of .0.type (each type may appear once)`},
		{name: "needs satisfied", yaml: `
resources:
- type: gcp-project
  names: [p1, p2]
- type: cluster
  max-count: 2
  needs: {gcp-project: 1}`},
		{name: "needs not enough (mason test resources)", yaml: `
resources:
- type: type1
  names: [a, b, c]
- type: type2
  max-count: 4
  needs: {type1: 1}`, wantErr: "not enough resource of type type1 for provisioning"},
		{name: "needs unknown type", yaml: `
resources:
- type: cluster
  max-count: 1
  needs: {nope: 1}`, wantErr: "[need for resource nope that does not exist, not enough resource of type nope for provisioning]"},
		{name: "needs counts dynamic resources", yaml: `
resources:
- type: project
  max-count: 3
- type: cluster
  max-count: 3
  needs: {project: 1}`},
		{name: "control character in type", yaml: "resources:\n- type: \"a\\u0001b\"\n  names: [a]", wantErr: ".0.type: must not contain control characters"},
		{name: "long state", yaml: "resources:\n- type: t\n  state: " + strings.Repeat("s", 254) + "\n  names: [a]",
			wantErr: ".0.state: must be no more than 253 bytes (got 254)"},
		{name: "negative lifespan", yaml: `
resources:
- type: d
  max-count: 1
  lifespan: -1h`, wantErr: ".0.lifespan: must be >0"},
		{name: "several errors aggregated", yaml: `
resources:
- type: ""
  names: [a]
- type: d
  min-count: 2`, wantErr: "[.0.type: must be set, .1.max-count: must be >0, .1.min-count: must be <= .1.max-count]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := boskos.ParseConfig([]byte(tc.yaml))
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

func TestCostsPerHour(t *testing.T) {
	c, err := boskos.ParseValidConfig([]byte("resources:\n- type: a\n  names: [x]\n  cost-per-hour: 1.5\n- type: b\n  names: [y]\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"a": 1.5}, c.CostsPerHour())
	_, err = boskos.ParseConfig([]byte("resources:\n- type: a\n  names: [x]\n  cost-per-hour: cheap\n"))
	require.Error(t, err, "a cost that is not a number")
}

func TestValidateNil(t *testing.T) {
	var c *boskos.Config
	require.EqualError(t, c.Validate(), "empty config")
}

func TestParseConfig(t *testing.T) {
	c, err := boskos.ParseConfig([]byte(`
resources:
- type: d
  state: dirty
  min-count: 1
  max-count: 3
  lifespan: 172800000000000
  config: {type: gke, content: "x: y"}
  needs: {p: 2}
`))
	require.NoError(t, err)
	want := boskos.ResourceEntry{Type: "d", State: "dirty", MinCount: 1, MaxCount: 3,
		LifeSpan: &boskos.Duration{Duration: 48 * time.Hour}, Config: boskos.ConfigType{Type: "gke", Content: "x: y"},
		Needs: map[string]int{"p": 2}}
	assert.Equal(t, []boskos.ResourceEntry{want}, c.Resources)

	for name, bad := range map[string]string{
		"unknown field": "resources:\n- type: t\n  nmes: [a]",
		"bad duration":  "resources:\n- type: t\n  lifespan: forever",
		"not yaml":      "resources: [",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := boskos.ParseConfig([]byte(bad))
			require.Error(t, err)
			assert.Equal(t, boskos.EInvalid, boskos.ErrorCode(err))
			assert.True(t, strings.HasPrefix(err.Error(), "parse config: "), err.Error())
		})
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "resources.yaml")
	require.NoError(t, os.WriteFile(p, []byte("resources:\n- type: t\n  names: [a]\n"), 0o600))
	c, err := boskos.LoadConfig(p)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	assert.Equal(t, "t", c.Resources[0].Type)

	_, err = boskos.LoadConfig(filepath.Join(dir, "missing.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestConfigHelpers(t *testing.T) {
	ls := boskos.Duration{Duration: time.Hour}
	c := &boskos.Config{Resources: []boskos.ResourceEntry{
		{Type: "s", Names: []string{"a", "b"}},
		{Type: "u", State: "dirty", Names: []string{"c"}},
		{Type: "d", State: "dirty", MinCount: 1, MaxCount: 2, LifeSpan: &ls, Needs: map[string]int{"s": 1}},
		{Type: "e", MaxCount: 1},
	}}
	hour := time.Hour
	assert.Equal(t, map[string]boskos.DRLC{
		"d": {Type: "d", InitialState: "dirty", MinCount: 1, MaxCount: 2, LifeSpan: &hour, Needs: map[string]int{"s": 1}},
		"e": {Type: "e", MaxCount: 1},
	}, c.DRLCs())
	assert.Equal(t, map[string]boskos.StaticResource{
		"a": {Type: "s", Name: "a", State: "free"},
		"b": {Type: "s", Name: "b", State: "free"},
		"c": {Type: "u", Name: "c", State: "dirty"},
	}, c.StaticResources())
}

func TestValidateField(t *testing.T) {
	tests := []struct {
		kind, value string
		wantErr     string
	}{
		{"type", "gce-project", ""},
		{"owner", "Some Owner ünicode", ""},
		{"state", strings.Repeat("s", 253), ""},
		{"type", "", "invalid type: must be set"},
		{"owner", strings.Repeat("o", 254), "invalid owner: must be no more than 253 bytes (got 254)"},
		{"state", "a\x1fb", "invalid state: must not contain control characters"},
		{"name", "a\u0085b", "invalid name: must not contain control characters"},
		{"request_id", "a\xffb", "invalid request_id: must be valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.kind+"/"+tc.wantErr, func(t *testing.T) {
			err := boskos.ValidateField(tc.kind, tc.value)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.wantErr)
			assert.Equal(t, boskos.EInvalid, boskos.ErrorCode(err))
		})
	}
}
