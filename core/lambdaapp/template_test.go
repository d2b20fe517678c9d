package lambdaapp_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// TestSAMTemplateRoutes keeps template.yaml's functions and HTTP API routes in
// step with Routes (what each function serves) and with functions/.
func TestSAMTemplateRoutes(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	var tpl struct {
		Resources map[string]struct {
			Type       string `json:"Type"`
			Properties struct {
				CodeUri string `json:"CodeUri"`
				Events  map[string]struct {
					Type       string `json:"Type"`
					Properties struct {
						Path   string `json:"Path"`
						Method string `json:"Method"`
					} `json:"Properties"`
				} `json:"Events"`
			} `json:"Properties"`
		} `json:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &tpl))

	got := map[string][]string{}
	for name, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		fn := strings.TrimSuffix(strings.TrimPrefix(r.Properties.CodeUri, "build/"), "/")
		require.NotEmpty(t, fn, "%s: CodeUri", name)
		_, err := os.Stat("../../functions/" + fn + "/main.go")
		require.NoError(t, err, "%s: CodeUri %s has no functions/%s", name, r.Properties.CodeUri, fn)
		for ev, e := range r.Properties.Events {
			require.Equal(t, "HttpApi", e.Type, "%s.%s", name, ev)
			// ANY: the function itself answers wrong methods with upstream's 405 texts.
			assert.Equal(t, "ANY", e.Properties.Method, "%s.%s", name, ev)
			got[fn] = append(got[fn], e.Properties.Path)
		}
		sort.Strings(got[fn])
	}
	want := map[string][]string{}
	for fn, paths := range lambdaapp.Routes {
		want[fn] = append([]string(nil), paths...)
		sort.Strings(want[fn])
	}
	assert.Equal(t, want, got)
}

// TestSAMTemplateDefaults: the template's parameter defaults are the
// functions' own defaults (ranch.DefaultRequestTTL, FromEnv's log level), so
// a deployment that keeps them behaves like one without the variables.
func TestSAMTemplateDefaults(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	var tpl struct {
		Parameters map[string]struct {
			Default string `json:"Default"`
		} `json:"Parameters"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &tpl))
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	unset, err := lambdaapp.FromEnv(lookup(map[string]string{lambdaapp.EnvTable: "boskos"}))
	require.NoError(t, err)
	assert.Equal(t, ranch.DefaultRequestTTL, unset.RequestTTL)
	tests := []struct {
		param, env string
		got        func(c lambdaapp.Config) any
	}{
		{param: "RequestTTL", env: lambdaapp.EnvRequestTTL, got: func(c lambdaapp.Config) any { return c.RequestTTL }},
		{param: "LogLevel", env: lambdaapp.EnvLogLevel, got: func(c lambdaapp.Config) any { return c.LogLevel }},
	}
	for _, tc := range tests {
		t.Run(tc.param, func(t *testing.T) {
			p, ok := tpl.Parameters[tc.param]
			require.True(t, ok, "template.yaml has no parameter %s", tc.param)
			set, err := lambdaapp.FromEnv(lookup(map[string]string{lambdaapp.EnvTable: "boskos", tc.env: p.Default}))
			require.NoError(t, err)
			assert.Equal(t, tc.got(unset), tc.got(set), "got %s default %q, want the functions' default", tc.param, p.Default)
		})
	}
}
