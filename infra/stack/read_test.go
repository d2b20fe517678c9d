package stack_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/infra/stack"
)

// TestReadFunction: in every environment the read function is deployed
// with its five routes (the read API and the dashboard's /ui and greedy
// /ui/{proxy+}), each under the environment's authorization, a role that
// may only Query the table and its index (and read the credentials secret
// when there is one), and the DashboardUrl output (ApiUrl + "/ui/"), which
// template.yaml has too.
func TestReadFunction(t *testing.T) {
	for _, env := range stack.EnvNames() {
		t.Run(env, func(t *testing.T) {
			s := envStack(t, env)
			fnID, ok := s.fnIDs[deploy.FnRead]
			require.True(t, ok, "the read function is deployed")
			var routes []string
			for _, rid := range s.ofType("AWS::ApiGatewayV2::Route") {
				p := s.props(rid)
				target := p["Target"].(map[string]any)["Fn::Join"].([]any)[1].([]any)[1].(map[string]any)["Ref"].(string)
				if !same(s.props(target)["IntegrationUri"], getAtt(fnID, "Arn")) {
					continue
				}
				routes = append(routes, p["RouteKey"].(string))
				wantAuth := "NONE"
				if s.settings.Auth == stack.AuthIAM {
					wantAuth = "AWS_IAM"
				}
				got := p["AuthorizationType"]
				if got == nil {
					got = "NONE"
				}
				assert.Equal(t, wantAuth, got, "%s: authorization", p["RouteKey"])
			}
			sort.Strings(routes)
			assert.Equal(t, []string{"ANY /ui", "ANY /ui/{proxy+}", "ANY /v1/queue", "ANY /v1/resources", "ANY /v1/types"}, routes)

			var actions []string
			for _, st := range s.statements(s.roleIDs[deploy.FnRead]) {
				for _, a := range strs(st["Action"]) {
					if strings.HasPrefix(a, "dynamodb:") || strings.HasPrefix(a, "secretsmanager:") {
						actions = append(actions, a)
					}
				}
			}
			want := []string{"dynamodb:Query", "dynamodb:Query"} // the table, the index
			if s.settings.Auth.HasCredentials() {
				want = append(want, deploy.ActGetSecretValue)
			}
			sort.Strings(actions)
			sort.Strings(want)
			assert.Equal(t, want, actions, "the read function only reads")

			out, ok := s.tpl.Outputs[stack.OutputDashboardURL]
			require.True(t, ok, "output %s", stack.OutputDashboardURL)
			v := jsonOf(out["Value"])
			assert.Contains(t, v, jsonOf(ref(s.apiID)))
			assert.Contains(t, v, `"/ui/"`)
			assert.Equal(t, strings.Replace(jsonOf(s.tpl.Outputs[stack.OutputAPIURL]["Value"]), `]]}`, `,"/ui/"]]}`, 1), v, "ApiUrl + /ui/")
		})
	}
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	require.NoError(t, err)
	var sam struct {
		Outputs map[string]struct {
			Value string `json:"Value"`
		} `json:"Outputs"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &sam))
	assert.Equal(t, strings.TrimSuffix(sam.Outputs["Url"].Value, `"`)+"/ui/", sam.Outputs[stack.OutputDashboardURL].Value, "template.yaml: Url + /ui/")
}
