package dynamostore_test

import (
	"os"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// TestSAMTemplateMatchesSchema keeps template.yaml's table in step with the
// schema this package creates (CreateTableInput), so names live in one place.
func TestSAMTemplateMatchesSchema(t *testing.T) {
	raw, err := os.ReadFile("../../../template.yaml")
	require.NoError(t, err)
	var tpl struct {
		Resources map[string]struct {
			Type       string `json:"Type"`
			Properties struct {
				BillingMode          string `json:"BillingMode"`
				AttributeDefinitions []struct {
					AttributeName, AttributeType string
				} `json:"AttributeDefinitions"`
				KeySchema              []struct{ AttributeName, KeyType string } `json:"KeySchema"`
				GlobalSecondaryIndexes []struct {
					IndexName  string
					KeySchema  []struct{ AttributeName, KeyType string }
					Projection struct{ ProjectionType string }
				} `json:"GlobalSecondaryIndexes"`
				TimeToLiveSpecification struct {
					AttributeName string
					Enabled       bool
				} `json:"TimeToLiveSpecification"`
				StreamSpecification struct {
					StreamViewType string
				} `json:"StreamSpecification"`
			} `json:"Properties"`
		} `json:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &tpl))
	table, ok := tpl.Resources["Table"]
	require.True(t, ok, "template.yaml has no Table resource")
	require.Equal(t, "AWS::DynamoDB::Table", table.Type)
	p := table.Properties
	want := dynamostore.CreateTableInput("x")

	require.Equal(t, string(want.BillingMode), p.BillingMode)
	var gotDefs, wantDefs []string
	for _, d := range p.AttributeDefinitions {
		gotDefs = append(gotDefs, d.AttributeName+":"+d.AttributeType)
	}
	for _, d := range want.AttributeDefinitions {
		wantDefs = append(wantDefs, aws.ToString(d.AttributeName)+":"+string(d.AttributeType))
	}
	sort.Strings(gotDefs)
	sort.Strings(wantDefs)
	require.Equal(t, wantDefs, gotDefs, "AttributeDefinitions")

	require.Len(t, p.KeySchema, len(want.KeySchema))
	for i, k := range want.KeySchema {
		require.Equal(t, aws.ToString(k.AttributeName), p.KeySchema[i].AttributeName)
		require.Equal(t, string(k.KeyType), p.KeySchema[i].KeyType)
	}
	require.Len(t, p.GlobalSecondaryIndexes, len(want.GlobalSecondaryIndexes))
	for i, g := range want.GlobalSecondaryIndexes {
		got := p.GlobalSecondaryIndexes[i]
		require.Equal(t, aws.ToString(g.IndexName), got.IndexName)
		require.Equal(t, string(g.Projection.ProjectionType), got.Projection.ProjectionType)
		require.Len(t, got.KeySchema, len(g.KeySchema))
		for j, k := range g.KeySchema {
			require.Equal(t, aws.ToString(k.AttributeName), got.KeySchema[j].AttributeName)
			require.Equal(t, string(k.KeyType), got.KeySchema[j].KeyType)
		}
	}
	require.Equal(t, string(want.StreamSpecification.StreamViewType), p.StreamSpecification.StreamViewType, "the stream")
	require.True(t, p.TimeToLiveSpecification.Enabled)
	require.Equal(t, dynamostore.AttrTTL, p.TimeToLiveSpecification.AttributeName)
}
