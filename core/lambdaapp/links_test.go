package lambdaapp_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/deploy"
)

// TestFunctionsDoNotLinkTheConfigLoader: no function links the SDK's
// configuration loader (aws-sdk-go-v2/config and the SSO, STS and sign-in
// clients it pulls in): they build their clients from Lambda's environment
// (AWSEnv), and the loader would cost each bootstrap about 260 KB of its
// 10 MB budget. core/awsload is the loader's one home, for the CLI.
func TestFunctionsDoNotLinkTheConfigLoader(t *testing.T) {
	pkgs := make([]string, 0, len(deploy.Functions))
	for _, f := range deploy.Functions {
		pkgs = append(pkgs, "github.com/boskos-serverless/boskos/functions/"+f.Name)
	}
	for _, p := range pkgs {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", p).CombinedOutput()
		require.NoError(t, err, "%s", out)
		for _, dep := range strings.Fields(string(out)) {
			assert.False(t, dep == "github.com/aws/aws-sdk-go-v2/config" || strings.HasPrefix(dep, "github.com/aws/aws-sdk-go-v2/service/sso") ||
				dep == "github.com/boskos-serverless/boskos/core/awsload", "%s links %s", p, dep)
		}
	}
}
