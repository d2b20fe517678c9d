package stack_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/infra/stack"
)

// checks are the assertions every synthesized stack must pass.
var checks = []struct {
	name  string
	check func(assert.TestingT, *synthesized)
}{
	{"table", checkTable},
	{"functions", checkFunctions},
	{"routes", checkRoutes},
	{"schedules", checkSchedules},
	{"alarms", checkAlarms},
	{"bucket", checkBucket},
	{"outputs", checkOutputs},
	{"credentials", checkCredentials},
	{"history writer", checkHistoryWriter},
	{"mason", checkMason},
}

// TestEnvironments runs every check on the stack of every environment (one
// synth each, shared), and requires cdk-nag's AwsSolutions pack clean.
func TestEnvironments(t *testing.T) {
	for _, env := range stack.EnvNames() {
		t.Run(env, func(t *testing.T) {
			s := envStack(t, env)
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.check(t, s) })
			}
			t.Run("cdk-nag", func(t *testing.T) {
				assert.Empty(t, s.nag, "AwsSolutions findings without a justified suppression")
			})
			t.Run("cfn-lint", func(t *testing.T) { cfnLint(t, s) })
		})
	}
}

// cfnLint runs cfn-lint (preinstalled; the real AWS linter) on the
// synthesized template. W3005 (a DependsOn that a GetAtt already implies)
// is ignored: the CDK adds it on purpose, so that a function's role policy
// exists before the function (scripts/cdk.sh synth ignores it too).
func cfnLint(t *testing.T, s *synthesized) {
	path := filepath.Join(t.TempDir(), s.settings.StackName+".template.json")
	require.NoError(t, os.WriteFile(path, s.raw, 0o644))
	out, err := exec.Command("cfn-lint", "--ignore-checks", "W3005", "--", path).CombinedOutput()
	assert.NoError(t, err, "cfn-lint %s:\n%s", s.settings.StackName, out)
}

// TestJanitorTargets: with targets the janitor is deployed with its
// schedule and DLQ, its targets in BOSKOS_JANITOR_TARGETS, and
// lambda:InvokeFunction on exactly its Lambda targets; without (every
// environment of the table) it is not deployed at all.
func TestJanitorTargets(t *testing.T) {
	s := janitorStack(t)
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.check(t, s) })
	}
	t.Run("cdk-nag", func(t *testing.T) { assert.Empty(t, s.nag) })
	p := s.props(s.fnIDs[deploy.FnJanitor])
	vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
	assert.Equal(t, "gce-project=https://cleaner.example.com/clean,aws-account=account-cleaner", vars[deploy.EnvJanitorTargets])
	var invoke []string
	for _, st := range s.statements(s.roleIDs[deploy.FnJanitor]) {
		if slices.Contains(strs(st["Action"]), "lambda:InvokeFunction") {
			invoke = append(invoke, jsonOf(st["Resource"]))
		}
	}
	require.Len(t, invoke, 1)
	assert.Contains(t, invoke[0], ":function:account-cleaner")
	assert.NotContains(t, invoke[0], "cleaner.example.com")

	dev := envStack(t, "dev")
	assert.NotContains(t, dev.fnIDs, deploy.FnJanitor)
	assert.NotContains(t, dev.ruleIDs, deploy.FnJanitor)
}

// TestProdProtections: prod keeps its data (the table and the bucket
// RETAIN, deletion protection), authorizes with IAM and reserves
// concurrency; dev destroys everything with the stack.
func TestProdProtections(t *testing.T) {
	prod := envStack(t, "prod")
	retained := map[string]bool{}
	for id, r := range prod.tpl.Resources {
		if r.DeletionPolicy == "Retain" {
			retained[r.Type] = true
		}
		_ = id
	}
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Logs::LogGroup"} {
		assert.True(t, retained[typ], "prod retains %s", typ)
	}
	assert.Equal(t, true, prod.props(prod.tableID)["DeletionProtectionEnabled"])
	assert.Equal(t, stack.AuthIAM, prod.settings.Auth)
	for _, name := range deploy.Names(deploy.API) {
		assert.Contains(t, prod.props(prod.fnIDs[name]), "ReservedConcurrentExecutions", name)
	}
	dev := envStack(t, "dev")
	for _, r := range dev.tpl.Resources {
		assert.NotEqual(t, "Retain", r.DeletionPolicy, "dev retains %s", r.Type)
	}
}

// TestConfigFiles: every environment's resources file passes the
// project's validator (boskos config validate).
func TestConfigFiles(t *testing.T) {
	for _, env := range stack.EnvNames() {
		t.Run(env, func(t *testing.T) {
			s, err := stack.Lookup(env)
			require.NoError(t, err)
			b, err := os.ReadFile(filepath.Join(root, s.ConfigFile))
			require.NoError(t, err)
			_, err = boskos.ParseValidConfig(b)
			require.NoError(t, err)
		})
	}
}

// TestSettings: the table is complete and consistent.
func TestSettings(t *testing.T) {
	for _, env := range stack.EnvNames() {
		t.Run(env, func(t *testing.T) {
			s, err := stack.Lookup(env)
			require.NoError(t, err)
			assert.Equal(t, env, s.Env)
			for _, job := range deploy.Names(deploy.Job) {
				d := s.Schedules[job]
				assert.True(t, d > 0 && d%60e9 == 0, "%s: schedule %v must be whole minutes", job, d)
			}
			assert.Contains(t, stack.AuthModes, s.Auth)
			assert.Equal(t, "config/"+env+".yaml", s.ConfigFile)
		})
	}
	_, err := stack.Lookup("qa")
	assert.ErrorContains(t, err, `unknown environment "qa"`)
	got, err := stack.ParseJanitorTargets("a=https://x/clean, b=fn")
	require.NoError(t, err)
	assert.Equal(t, []stack.JanitorTarget{{Type: "a", Webhook: "https://x/clean"}, {Type: "b", Function: "fn"}}, got)
	_, err = stack.ParseJanitorTargets("a")
	assert.Error(t, err)
	for _, m := range stack.AuthModes {
		got, err := stack.ParseAuthMode(string(m))
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err = stack.ParseAuthMode("oauth")
	assert.ErrorContains(t, err, `auth mode "oauth"`)
	// Every mode is some environment's, so each is synthesized and checked.
	modes := map[stack.AuthMode]bool{}
	for _, env := range stack.EnvNames() {
		s, _ := stack.Lookup(env)
		modes[s.Auth] = true
	}
	assert.Len(t, modes, len(stack.AuthModes), "auth modes of the environments: %v", modes)
}

// recorder is an assert.TestingT that keeps the failures.
type recorder struct{ failures []string }

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// TestChecksCatchBrokenStack: the tests of the tests. A dev stack with
// credentials (auth basic) built with four real mistakes (acquire's role
// lacks dynamodb:UpdateItem, the release route is /relase, the reaper's
// schedule has no dead-letter queue, the update function neither reads
// nor may read the credentials secret) must fail the functions, routes,
// schedules and credentials checks, naming the mistake; the other checks
// still pass.
func TestChecksCatchBrokenStack(t *testing.T) {
	s := shared(t, "broken", func() (*synthesized, error) {
		settings, _ := stack.Lookup("dev")
		settings.Auth = stack.AuthBasic
		saved := deploy.Functions
		broken := slices.Clone(saved)
		for i, f := range broken {
			switch f.Name {
			case deploy.FnAcquire:
				f.DynamoDBActions = slices.DeleteFunc(slices.Clone(f.DynamoDBActions), func(a string) bool { return a == deploy.ActUpdateItem })
			case deploy.FnRelease:
				f.Routes = []string{"/relase"}
			case deploy.FnUpdate:
				f.ReadsCredentials = false
			}
			broken[i] = f
		}
		deploy.Functions = broken
		defer func() { deploy.Functions = saved }()
		return synthStack(settings, func(st *stack.Stack) {
			rule := st.Rules[deploy.FnReaper].Node().DefaultChild().(awsevents.CfnRule)
			rule.AddPropertyDeletionOverride(strPtr("Targets.0.DeadLetterConfig"))
		})
	})
	tests := []struct {
		check func(assert.TestingT, *synthesized)
		name  string
		want  string // in some failure message
	}{
		{checkFunctions, "functions", "dynamodb:UpdateItem"},
		{checkRoutes, "routes", "ANY /release"},
		{checkSchedules, "schedules", "reaper: schedule without a dead-letter queue"},
		{checkCredentials, "credentials", "update: BOSKOS_CREDENTIALS_SECRET is the secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			tc.check(&r, s)
			require.NotEmpty(t, r.failures, "the %s check passed a broken stack", tc.name)
			assert.Contains(t, strings.Join(r.failures, "\n"), tc.want)
		})
	}
	for _, c := range []func(assert.TestingT, *synthesized){checkTable, checkAlarms, checkBucket, checkOutputs} {
		var r recorder
		c(&r, s)
		assert.Empty(t, r.failures)
	}
}

func strPtr(s string) *string { return &s }
