package stack_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/infra/stack"
)

// samTemplate is the part of template.yaml the comparison reads (YAML
// tags dropped: "!Ref X" reads as "X", "!If [C, A, B]" as [C, A, B]).
type samTemplate struct {
	Parameters map[string]struct {
		AllowedValues []string `json:"AllowedValues"`
	} `json:"Parameters"`
	Resources map[string]struct {
		Type       string         `json:"Type"`
		Condition  string         `json:"Condition"`
		Properties map[string]any `json:"Properties"`
	} `json:"Resources"`
}

// samActions returns the actions of a function's Policies, conditional
// ones (Fn::If: [condition, policy, AWS::NoValue]) included: the template
// with every condition true, as the CDK variant it is compared with.
func samActions(t *testing.T, id string, pols any) []string {
	var out []string
	list, _ := pols.([]any)
	for _, pol := range list {
		m := pol.(map[string]any)
		if ifs, ok := m["Fn::If"].([]any); ok {
			require.Len(t, ifs, 3, "%s: Fn::If", id)
			m = ifs[1].(map[string]any)
		}
		sts, ok := m["Statement"].([]any)
		require.True(t, ok, "%s: inline statements only (no SAM policy templates)", id)
		for _, st := range sts {
			out = append(out, strs(st.(map[string]any)["Action"])...)
		}
	}
	return out
}

// TestSAMDescribesTheSameSystem: template.yaml (SAM) and the CDK stack
// define the same functions (those of the repository: functions/<name>),
// the same routes of each, the same scheduled jobs (each with a retry
// policy and a dead-letter queue), the same table keys and index, and the
// same IAM actions per function (DynamoDB, S3, Secrets Manager, Lambda),
// the template with every condition true (credentials, janitor Lambda
// targets) against the CDK variant with both (janitorStack). Both offer
// the same auth modes, hold the same credentials placeholder and require
// IAM on every route in iam mode.
func TestSAMDescribesTheSameSystem(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	require.NoError(t, err)
	var sam samTemplate
	require.NoError(t, yaml.Unmarshal(raw, &sam))
	inRepo := map[string]bool{}
	for _, f := range deploy.Functions {
		if _, err := os.Stat(filepath.Join(root, "functions", f.Name, "main.go")); err == nil {
			inRepo[f.Name] = true
		}
	}

	samRoutes, samJobs, samActs := map[string][]string{}, []string{}, map[string][]string{}
	var samKeys, samIndex string
	fnDir := func(id string) string {
		return strings.Trim(strings.TrimPrefix(fmt.Sprint(sam.Resources[id].Properties["CodeUri"]), "build/"), "/")
	}
	for id, r := range sam.Resources {
		p := r.Properties
		switch r.Type {
		case "AWS::DynamoDB::Table":
			samKeys = keyString(keySchema(p["KeySchema"]))
			for _, g := range p["GlobalSecondaryIndexes"].([]any) {
				gm := g.(map[string]any)
				samIndex += fmt.Sprint(gm["IndexName"]) + ":" + keyString(keySchema(gm["KeySchema"]))
			}
		case "AWS::Serverless::Function":
			fn := fnDir(id)
			if _, ok := samRoutes[fn]; !ok {
				samRoutes[fn] = []string{}
			}
			events, _ := p["Events"].(map[string]any)
			for ev, e := range events {
				em := e.(map[string]any)
				if em["Type"] == "Schedule" {
					samJobs = append(samJobs, fn)
					ep := em["Properties"].(map[string]any)
					assert.NotEmpty(t, ep["RetryPolicy"], "%s.%s: retry policy", id, ev)
					assert.NotEmpty(t, ep["DeadLetterConfig"], "%s.%s: dead-letter queue", id, ev)
				}
			}
			samActs[fn] = comparedActions(samActions(t, id, p["Policies"]))
		case "AWS::ApiGatewayV2::Route":
			assert.Equal(t, []any{"IsIAM", "AWS_IAM", "NONE"}, p["AuthorizationType"], "%s: IAM authorization in iam mode", id)
			integ := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(p["Target"]), "integrations/${"), "}")
			fnID := strings.TrimSuffix(fmt.Sprint(sam.Resources[integ].Properties["IntegrationUri"]), ".Arn")
			fn := fnDir(fnID)
			samRoutes[fn] = append(samRoutes[fn], strings.TrimPrefix(fmt.Sprint(p["RouteKey"]), "ANY "))
		case "AWS::SecretsManager::Secret":
			assert.Equal(t, stack.CredentialsPlaceholder, p["SecretString"], "%s: the CDK app's placeholder", id)
			assert.Equal(t, "HasCredentials", r.Condition, "%s: only with credentials", id)
		}
	}
	for fn := range samRoutes {
		sort.Strings(samRoutes[fn])
	}
	var modes []string
	for _, m := range stack.AuthModes {
		modes = append(modes, string(m))
	}
	assert.Equal(t, modes, sam.Parameters["AuthMode"].AllowedValues, "auth modes: CDK, SAM")

	// The CDK side: the janitor variant with credentials deploys every
	// function and every grant.
	s := janitorStack(t)
	cdkRoutes, cdkJobs, cdkActions := map[string][]string{}, []string{}, map[string][]string{}
	for name, id := range s.fnIDs {
		if !inRepo[name] {
			continue
		}
		cdkRoutes[name] = []string{}
		for _, rid := range s.ofType("AWS::ApiGatewayV2::Route") {
			p := s.props(rid)
			target := p["Target"].(map[string]any)["Fn::Join"].([]any)[1].([]any)[1].(map[string]any)["Ref"].(string)
			if same(s.props(target)["IntegrationUri"], getAtt(id, "Arn")) {
				cdkRoutes[name] = append(cdkRoutes[name], strings.TrimPrefix(p["RouteKey"].(string), "ANY "))
			}
		}
		sort.Strings(cdkRoutes[name])
		if _, ok := s.ruleIDs[name]; ok {
			cdkJobs = append(cdkJobs, name)
		}
		for _, st := range s.statements(s.roleIDs[name]) {
			cdkActions[name] = append(cdkActions[name], strs(st["Action"])...)
		}
		cdkActions[name] = comparedActions(cdkActions[name])
	}
	sort.Strings(samJobs)
	sort.Strings(cdkJobs)
	assert.Equal(t, cdkRoutes, samRoutes, "functions and their routes: CDK, SAM")
	assert.Equal(t, cdkJobs, samJobs, "scheduled jobs: CDK, SAM")
	for name := range cdkRoutes {
		require.NotEmpty(t, cdkActions[name], "%s: CDK grants nothing", name)
		assert.Equal(t, cdkActions[name], samActs[name], "%s: IAM actions, CDK vs SAM", name)
	}

	table := s.props(s.tableID)
	var cdkKeys []map[string]string
	for _, k := range table["KeySchema"].([]any) {
		m := k.(map[string]any)
		cdkKeys = append(cdkKeys, map[string]string{"AttributeName": m["AttributeName"].(string), "KeyType": m["KeyType"].(string)})
	}
	assert.Equal(t, keyString(cdkKeys), samKeys, "table keys")
	g := table["GlobalSecondaryIndexes"].([]any)[0].(map[string]any)
	var ixKeys []map[string]string
	for _, k := range g["KeySchema"].([]any) {
		m := k.(map[string]any)
		ixKeys = append(ixKeys, map[string]string{"AttributeName": m["AttributeName"].(string), "KeyType": m["KeyType"].(string)})
	}
	assert.Equal(t, g["IndexName"].(string)+":"+keyString(ixKeys), samIndex, "index")
}

// keySchema reads a parsed KeySchema.
func keySchema(v any) []map[string]string {
	var out []map[string]string
	list, _ := v.([]any)
	for _, k := range list {
		m := k.(map[string]any)
		out = append(out, map[string]string{"AttributeName": fmt.Sprint(m["AttributeName"]), "KeyType": fmt.Sprint(m["KeyType"])})
	}
	return out
}

// comparedActions returns the DynamoDB, S3, Secrets Manager and Lambda
// actions of acts (not logs and X-Ray, which SAM adds itself), sorted and
// without duplicates (the CDK grants Query on the table and on the index in
// two statements).
func comparedActions(acts []string) []string {
	var out []string
	for _, a := range acts {
		if strings.HasPrefix(a, "dynamodb:") || strings.HasPrefix(a, "s3:") || strings.HasPrefix(a, "secretsmanager:") || strings.HasPrefix(a, "lambda:") {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func keyString(ks []map[string]string) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, k["AttributeName"]+"/"+k["KeyType"])
	}
	return strings.Join(parts, ",")
}
