package lambdaapp_test

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// samResource is a resource of template.yaml with its properties as
// parsed (YAML tags such as !Ref dropped: "!Ref X" reads as "X", "!If [C,
// A, B]" as [C, A, B]).
type samResource struct {
	Type       string         `json:"Type"`
	Condition  string         `json:"Condition"`
	Properties map[string]any `json:"Properties"`
}

// samRoutes returns template.yaml's HTTP API routes (route key -> the
// function directory that serves it), checking that every route is on the
// API, targets an AWS_PROXY payload 2.0 integration of a function that API
// Gateway may invoke, and is authorized with IAM exactly when AuthMode is
// iam.
func samRoutes(t *testing.T, res map[string]samResource) map[string]string {
	t.Helper()
	dir := func(fnID string) string {
		return strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(res[fnID].Properties["CodeUri"]), "build/"), "/")
	}
	invokable := map[string]bool{}
	for _, r := range res {
		if r.Type == "AWS::Lambda::Permission" && r.Properties["Principal"] == "apigateway.amazonaws.com" {
			invokable[fmt.Sprint(r.Properties["FunctionName"])] = true
		}
	}
	out := map[string]string{}
	for id, r := range res {
		if r.Type != "AWS::ApiGatewayV2::Route" {
			continue
		}
		p := r.Properties
		key := fmt.Sprint(p["RouteKey"])
		assert.Equal(t, "Api", p["ApiId"], "%s: the API", id)
		assert.Equal(t, []any{"IsIAM", "AWS_IAM", "NONE"}, p["AuthorizationType"], "%s: IAM authorization exactly in AuthMode iam", id)
		integ := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(p["Target"]), "integrations/${"), "}")
		ip := res[integ].Properties
		require.Equal(t, "AWS::ApiGatewayV2::Integration", res[integ].Type, "%s: target %s", id, p["Target"])
		assert.Equal(t, "AWS_PROXY", ip["IntegrationType"], "%s", integ)
		assert.Equal(t, "2.0", ip["PayloadFormatVersion"], "%s", integ)
		fnID := strings.TrimSuffix(fmt.Sprint(ip["IntegrationUri"]), ".Arn")
		require.Equal(t, "AWS::Serverless::Function", res[fnID].Type, "%s: integration of %s", integ, fnID)
		assert.True(t, invokable[fnID], "%s: no Lambda permission for API Gateway", fnID)
		assert.NotContains(t, out, key, "route %s twice", key)
		out[key] = dir(fnID)
	}
	return out
}

// TestSAMTemplateRoutes keeps template.yaml's functions and HTTP API routes
// in step with Routes (what each function serves) and with functions/:
// every route at the root ("ANY /path": the function itself answers wrong
// methods with upstream's 405 texts; $default for the catch-all).
func TestSAMTemplateRoutes(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	var tpl struct {
		Resources map[string]samResource `json:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &tpl))
	for name, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		fn := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(r.Properties["CodeUri"]), "build/"), "/")
		_, err := os.Stat("../../functions/" + fn + "/main.go")
		require.NoError(t, err, "%s: CodeUri %v has no functions/%s", name, r.Properties["CodeUri"], fn)
		if _, job := lambdaapp.JobEnv[fn]; !job && fn != deploy.FnHistoryWriter {
			assert.NotContains(t, r.Properties, "Events", "%s: routes are ApiGatewayV2 resources, not SAM events", name)
		}
	}
	got := map[string][]string{}
	for key, fn := range samRoutes(t, tpl.Resources) {
		path := strings.TrimPrefix(key, "ANY ")
		got[fn] = append(got[fn], path)
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

// samFunction is what TestSAMTemplateJobs reads of a function.
type samFunction struct {
	Type       string `json:"Type"`
	Condition  string `json:"Condition"`
	Properties struct {
		CodeUri         string `json:"CodeUri"`
		Timeout         int    `json:"Timeout"`
		DeadLetterQueue struct {
			Type      string `json:"Type"`
			TargetArn string `json:"TargetArn"`
		} `json:"DeadLetterQueue"`
		EventInvokeConfig struct {
			MaximumRetryAttempts *int `json:"MaximumRetryAttempts"`
		} `json:"EventInvokeConfig"`
		Environment struct {
			Variables map[string]any `json:"Variables"`
		} `json:"Environment"`
		Policies []any `json:"Policies"`
		Events   map[string]struct {
			Type       string `json:"Type"`
			Properties struct {
				Schedule    string `json:"Schedule"`
				RetryPolicy struct {
					MaximumRetryAttempts     *int `json:"MaximumRetryAttempts"`
					MaximumEventAgeInSeconds int  `json:"MaximumEventAgeInSeconds"`
				} `json:"RetryPolicy"`
				DeadLetterConfig struct {
					Type string `json:"Type"`
					Arn  string `json:"Arn"`
				} `json:"DeadLetterConfig"`
			} `json:"Properties"`
		} `json:"Events"`
	} `json:"Properties"`
}

// strs reads a YAML string-or-list.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, strs(e)...)
		}
		return out
	}
	return nil
}

// TestSAMTemplateJobs keeps template.yaml's scheduled functions in step
// with lambdaapp's jobs: one function per job, each with one EventBridge
// schedule (a rate expression, a retry policy and a dead-letter queue),
// a dead-letter queue for failed passes and no Lambda retries, the
// job's required environment, only the DynamoDB actions the job issues
// (jobDynamoDBActions, checked against what the jobs send by
// TestJobsOnDynamoDB) on the table and its index, and S3 read access to
// the config object for the reconciler alone.
func TestSAMTemplateJobs(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	var tpl struct {
		Globals struct {
			Function struct {
				Environment struct {
					Variables map[string]string `json:"Variables"`
				} `json:"Environment"`
			} `json:"Function"`
		} `json:"Globals"`
		Resources map[string]samFunction `json:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &tpl))

	found := map[string]string{}
	for name, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		fn := strings.TrimSuffix(strings.TrimPrefix(r.Properties.CodeUri, "build/"), "/")
		if _, job := lambdaapp.JobEnv[fn]; !job {
			continue
		}
		require.NotContains(t, found, fn, "two functions for job %s", fn)
		found[fn] = name
		t.Run(fn, func(t *testing.T) {
			p := r.Properties
			require.Len(t, p.Events, 1, "one schedule")
			for ev, e := range p.Events {
				assert.Equal(t, "Schedule", e.Type, "%s.%s: an EventBridge schedule", name, ev)
				assert.True(t, strings.HasPrefix(e.Properties.Schedule, "rate("), "%s.%s: a rate expression, got %q", name, ev, e.Properties.Schedule)
				require.NotNil(t, e.Properties.RetryPolicy.MaximumRetryAttempts, "%s.%s: RetryPolicy", name, ev)
				assert.Positive(t, e.Properties.RetryPolicy.MaximumEventAgeInSeconds, "%s.%s: RetryPolicy.MaximumEventAgeInSeconds", name, ev)
				assert.True(t, e.Properties.DeadLetterConfig.Type == "SQS" || e.Properties.DeadLetterConfig.Arn != "", "%s.%s: DeadLetterConfig", name, ev)
			}
			assert.Equal(t, "SQS", p.DeadLetterQueue.Type, "failed passes go to a queue")
			require.NotNil(t, p.EventInvokeConfig.MaximumRetryAttempts)
			assert.Equal(t, 0, *p.EventInvokeConfig.MaximumRetryAttempts, "the next scheduled pass retries, not Lambda")
			assert.Greater(t, p.Timeout, 2*int(lambdaapp.DefaultSafetyMargin.Seconds()), "room for the safety margin")

			env := map[string]bool{}
			for k := range tpl.Globals.Function.Environment.Variables {
				env[k] = true
			}
			for k := range p.Environment.Variables {
				env[k] = true
				_, global := tpl.Globals.Function.Environment.Variables[k]
				assert.True(t, slices.Contains(lambdaapp.JobEnv[fn], k) || global,
					"%s sets %s, which the %s does not read", name, k, fn)
			}
			assert.True(t, env[lambdaapp.EnvTable], "%s: %s", name, lambdaapp.EnvTable)
			for _, k := range lambdaapp.JobRequiredEnv[fn] {
				assert.True(t, env[k], "%s: %s is required", name, k)
			}

			ddb, s3, states, cond := policyActions(t, name, p.Policies)
			assert.Equal(t, jobDynamoDBActions[fn], ddb, "%s: the DynamoDB actions the %s issues", name, fn)
			if fn == lambdaapp.JobMasonDispatch {
				assert.Equal(t, []string{"states:StartExecution"}, states, "%s: starts executions, nothing else", name)
			} else {
				assert.Empty(t, states, "%s: no Step Functions access", name)
			}
			if fn == lambdaapp.JobJanitor {
				assert.Equal(t, map[string][]string{"HasJanitorLambdaTargets": {deploy.ActInvokeFunction}}, cond, "%s: invokes its Lambda targets", name)
			} else {
				assert.Empty(t, cond, "%s: no conditional grants", name)
			}
			if fn == lambdaapp.JobReconciler {
				assert.Equal(t, []string{"s3:GetObject"}, s3)
				assert.Equal(t, "s3://${ConfigBucket}/${ConfigKey}", p.Environment.Variables[lambdaapp.EnvConfigURI])
			} else {
				assert.Empty(t, s3, "%s: no S3 access", name)
			}
		})
	}
	assert.ElementsMatch(t, lambdaapp.Jobs(), keys(found), "one function per job")
	assert.Equal(t, "HasJanitorTargets", tpl.Resources[found[lambdaapp.JobJanitor]].Condition, "no janitor without targets")
}

// policyActions returns the DynamoDB actions (without "dynamodb:", sorted)
// and the S3 and Step Functions actions of function name's policies, and
// the actions of its conditional policies (Fn::If: [condition, policy,
// AWS::NoValue]) by condition, checking that they are inline statements
// without wildcards, DynamoDB's on the table and its index only, S3's on
// the config object only, Step Functions' on Mason's state machine only,
// Secrets Manager's on the credentials secret only and Lambda's on
// JanitorLambdaArns only.
func policyActions(t *testing.T, name string, pols []any) (ddb, s3, states []string, cond map[string][]string) {
	t.Helper()
	cond = map[string][]string{}
	var walk func(pol any, condition string)
	walk = func(pol any, condition string) {
		m, ok := pol.(map[string]any)
		require.True(t, ok, "%s: policy %v: only inline statements (no managed policy templates)", name, pol)
		if ifs, ok := m["Fn::If"].([]any); ok {
			require.Len(t, ifs, 3, "%s: Fn::If", name)
			require.Equal(t, "AWS::NoValue", ifs[2], "%s: a conditional policy is a policy or nothing", name)
			walk(ifs[1], fmt.Sprint(ifs[0]))
			return
		}
		sts, ok := m["Statement"].([]any)
		require.True(t, ok && len(sts) > 0, "%s: only inline statements (no managed policy templates): %v", name, m)
		for _, x := range sts {
			st := x.(map[string]any)
			assert.Equal(t, "Allow", st["Effect"])
			res := strs(st["Resource"])
			for _, a := range strs(st["Action"]) {
				assert.NotContains(t, a, "*", "%s: no wildcard actions", name)
				if condition != "" {
					cond[condition] = append(cond[condition], a)
				}
				switch {
				case strings.HasPrefix(a, "dynamodb:"):
					assert.Empty(t, condition, "%s: DynamoDB grants are unconditional", name)
					ddb = append(ddb, strings.TrimPrefix(a, "dynamodb:"))
					assert.ElementsMatch(t, []string{"Table.Arn", "${Table.Arn}/index/*"}, res, "%s: DynamoDB on the table and its index only", name)
				case strings.HasPrefix(a, "s3:"):
					s3 = append(s3, a)
					assert.Equal(t, []string{"${ConfigBucket.Arn}/${ConfigKey}"}, res, "%s: S3 on the config object only", name)
				case a == deploy.ActGetSecretValue:
					assert.Equal(t, []string{"CredentialsSecret"}, res, "%s: the credentials secret only", name)
				case a == deploy.ActInvokeFunction:
					assert.Equal(t, []string{"JanitorLambdaArns"}, res, "%s: the janitor's Lambda targets only", name)
				case strings.HasPrefix(a, "states:"):
					states = append(states, a)
					assert.Equal(t, []string{"MasonStateMachine"}, res, "%s: Step Functions on Mason's state machine only", name)
				default:
					t.Errorf("%s: unexpected action %s", name, a)
				}
			}
		}
	}
	for _, pol := range pols {
		walk(pol, "")
	}
	sort.Strings(ddb)
	return ddb, s3, states, cond
}

// TestSAMTemplateAPIPolicies: every API function of template.yaml is
// granted exactly core/deploy's DynamoDB actions for it (proven against
// DynamoDB Local by deploy_names_test.go) on the table and its index, as
// inline statements (no SAM policy templates such as DynamoDBCrudPolicy),
// and, with credentials (AuthMode basic or iam), secretsmanager:GetSecretValue
// on the credentials secret, which its BOSKOS_CREDENTIALS_SECRET names;
// nothing else.
func TestSAMTemplateAPIPolicies(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	var tpl struct {
		Resources map[string]samFunction `json:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &tpl))
	seen := map[string]bool{}
	for name, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		fn := strings.TrimSuffix(strings.TrimPrefix(r.Properties.CodeUri, "build/"), "/")
		f, ok := deploy.Lookup(fn)
		require.True(t, ok, "%s: core/deploy has no function %s", name, fn)
		if f.Kind != deploy.API {
			continue // TestSAMTemplateJobs
		}
		seen[fn] = true
		t.Run(fn, func(t *testing.T) {
			ddb, s3, states, cond := policyActions(t, name, r.Properties.Policies)
			assert.Empty(t, states, "%s: no Step Functions access", name)
			assert.Equal(t, map[string][]string{"HasCredentials": {deploy.ActGetSecretValue}}, cond, "%s: reads the credentials secret when there is one", name)
			assert.Equal(t, []any{"HasCredentials", "CredentialsSecret", "AWS::NoValue"}, r.Properties.Environment.Variables[deploy.EnvCredentialsSecret],
				"%s: %s is the secret when there is one", name, deploy.EnvCredentialsSecret)
			var want []string
			for _, a := range f.DynamoDBActions {
				want = append(want, strings.TrimPrefix(a, "dynamodb:"))
			}
			sort.Strings(want)
			assert.Equal(t, want, ddb, "got %s's DynamoDB actions %v, want core/deploy's %v", name, ddb, want)
			assert.Empty(t, s3, "%s: no S3 access", name)
		})
	}
	for _, fn := range deploy.Names(deploy.API) {
		assert.True(t, seen[fn], "template.yaml has no function %s", fn)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
