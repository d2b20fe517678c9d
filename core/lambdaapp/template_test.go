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
