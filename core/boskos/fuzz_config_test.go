package boskos_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// FuzzParseConfig feeds arbitrary resources files to the parser and the
// validator: neither may panic, every rejection is a 400 (boskos.EInvalid)
// error, and a valid config is a fixed point of marshal and parse (what
// the server would write back reads the same). Seeds: config/example.yaml
// and small files for every kind of entry. `make fuzz` explores further.
func FuzzParseConfig(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "..", "config", "example.yaml"))
	require.NoError(f, err)
	for _, s := range []string{
		string(example),
		"resources:\n- type: t\n  names: [a, b]\n",
		"resources:\n- type: t\n  state: dirty\n  names: [a]\n- type: u\n  names: [a]\n",
		"resources:\n- type: k\n  state: free\n  min-count: 1\n  max-count: 3\n  lifespan: 30m\n  needs: {t: 1}\n  config: {type: X, content: y}\n",
		"resources:\n- type: k\n  min-count: 4\n  max-count: 3\n  lifespan: -1s\n",
		`{"resources":[{"type":"t","names":["A_b"]}]}`,
		"resources:\n- type: t\n  names: [a]\n  unknown: 1\n",
		"resources: [",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := boskos.ParseConfig(data)
		if err != nil {
			require.Equal(t, boskos.EInvalid, boskos.ErrorCode(err), "parse error %v", err)
			return
		}
		if err := cfg.Validate(); err != nil {
			require.Equal(t, boskos.EInvalid, boskos.ErrorCode(err), "validation error %v", err)
			return
		}
		_ = cfg.DRLCs()
		_ = cfg.StaticResources()
		out, err := yaml.Marshal(cfg)
		require.NoError(t, err)
		again, err := boskos.ParseConfig(out)
		require.NoError(t, err, "a valid config must parse back:\n%s", out)
		require.NoError(t, again.Validate(), "a valid config must stay valid:\n%s", out)
		out2, err := yaml.Marshal(again)
		require.NoError(t, err)
		require.Equal(t, string(out), string(out2), "marshal and parse must be a fixed point")
	})
}

// FuzzUserDataMerge checks upstream's merge rule on arbitrary user data and
// deltas (JSON objects of strings): a "" value deletes its key, any other
// value sets it, other keys are kept, no stored value is "", and neither
// input is modified.
func FuzzUserDataMerge(f *testing.F) {
	for _, s := range [][2]string{
		{`{}`, `{}`},
		{`{"a":"1"}`, `{"a":""}`},
		{`{"a":"1","b":"2"}`, `{"b":"3","c":"4"}`},
		{`{"leasedResources":"- a\n- b\n"}`, `{"leasedResources":""}`},
		{`{"a":""}`, `{"":"x"}`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, baseJSON, deltaJSON []byte) {
		var base, delta boskos.UserData
		if json.Unmarshal(baseJSON, &base) != nil || json.Unmarshal(deltaJSON, &delta) != nil {
			return
		}
		for k, v := range base { // a stored user data never holds ""
			if v == "" {
				delete(base, k)
			}
		}
		baseCopy, deltaCopy := clone(base), clone(delta)
		got := base.Merge(delta)
		require.Equal(t, baseCopy, clone(base), "base modified")
		require.Equal(t, deltaCopy, clone(delta), "delta modified")
		for k, v := range got {
			require.NotEmpty(t, v, "key %q stored with an empty value", k)
		}
		for k, v := range delta {
			if v == "" {
				require.NotContains(t, got, k)
			} else {
				require.Equal(t, v, got[k], "key %q", k)
			}
		}
		for k, v := range base {
			if _, changed := delta[k]; !changed {
				require.Equal(t, v, got[k], "untouched key %q", k)
			}
		}
	})
}

func clone(u boskos.UserData) map[string]string {
	out := map[string]string{}
	for k, v := range u {
		out[k] = v
	}
	return out
}
