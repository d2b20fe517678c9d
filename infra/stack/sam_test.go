package stack_test

import (
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
)

// samTemplate is the part of template.yaml the comparison reads.
type samTemplate struct {
	Resources map[string]struct {
		Type       string `json:"Type"`
		Properties struct {
			CodeUri  string `json:"CodeUri"`
			Policies []struct {
				Statement []struct {
					Action any `json:"Action"`
				} `json:"Statement"`
			} `json:"Policies"`
			Events map[string]struct {
				Type       string `json:"Type"`
				Properties struct {
					Path             string         `json:"Path"`
					RetryPolicy      map[string]any `json:"RetryPolicy"`
					DeadLetterConfig map[string]any `json:"DeadLetterConfig"`
				} `json:"Properties"`
			} `json:"Events"`
			KeySchema              []map[string]string `json:"KeySchema"`
			GlobalSecondaryIndexes []struct {
				IndexName string              `json:"IndexName"`
				KeySchema []map[string]string `json:"KeySchema"`
			} `json:"GlobalSecondaryIndexes"`
		} `json:"Properties"`
	} `json:"Resources"`
}

// TestSAMDescribesTheSameSystem: template.yaml (SAM) and the CDK stack
// define the same functions (those of the repository: functions/<name>),
// the same routes of each, the same scheduled jobs (each with a retry
// policy and a dead-letter queue), and the same table keys and index. The
// IAM actions are not compared yet: template.yaml grants the API functions
// SAM's DynamoDBCrudPolicy/DynamoDBReadPolicy templates, not
// deploy.Functions' lists (issue 7, item 3).
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

	samRoutes, samJobs, samActions := map[string][]string{}, []string{}, map[string][]string{}
	var samKeys, samIndex string
	for id, r := range sam.Resources {
		switch r.Type {
		case "AWS::DynamoDB::Table":
			samKeys = keyString(r.Properties.KeySchema)
			for _, g := range r.Properties.GlobalSecondaryIndexes {
				samIndex += g.IndexName + ":" + keyString(g.KeySchema)
			}
		case "AWS::Serverless::Function":
			fn := strings.Trim(strings.TrimPrefix(r.Properties.CodeUri, "build/"), "/")
			samRoutes[fn] = []string{}
			for ev, e := range r.Properties.Events {
				switch e.Type {
				case "HttpApi":
					samRoutes[fn] = append(samRoutes[fn], e.Properties.Path)
				case "Schedule":
					samJobs = append(samJobs, fn)
					assert.NotEmpty(t, e.Properties.RetryPolicy, "%s.%s: retry policy", id, ev)
					assert.NotEmpty(t, e.Properties.DeadLetterConfig, "%s.%s: dead-letter queue", id, ev)
				}
			}
			sort.Strings(samRoutes[fn])
			for _, pol := range r.Properties.Policies {
				require.NotEmpty(t, pol.Statement, "%s: inline statements only (no SAM policy templates)", id)
				for _, st := range pol.Statement {
					samActions[fn] = append(samActions[fn], strs(st.Action)...)
				}
			}
			samActions[fn] = comparedActions(samActions[fn])
		}
	}

	// The CDK side: the janitor variant deploys every function.
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
		assert.Equal(t, cdkActions[name], samActions[name], "%s: IAM actions, CDK vs SAM", name)
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

// comparedActions returns the DynamoDB and S3 actions of acts, sorted and
// without duplicates (the CDK grants Query on the table and on the index in
// two statements).
func comparedActions(acts []string) []string {
	var out []string
	for _, a := range acts {
		if strings.HasPrefix(a, "dynamodb:") || strings.HasPrefix(a, "s3:") {
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
