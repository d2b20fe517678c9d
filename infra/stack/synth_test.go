package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/infra/stack"
)

// root is the repository's root.
var root, _ = filepath.Abs("../..")

// buildDir is ../../build when every function is built there, else a
// temporary directory of placeholder bootstraps (Code_FromAsset only needs
// the directory at synth time).
var buildDir = sync.OnceValue(func() string {
	real := filepath.Join(root, "build")
	complete := true
	for _, f := range deploy.Functions {
		if _, err := os.Stat(filepath.Join(real, f.Name, "bootstrap")); err != nil {
			complete = false
		}
	}
	if complete {
		return real
	}
	dir, err := os.MkdirTemp("", "boskos-infra-build-")
	if err != nil {
		panic(err)
	}
	for _, f := range deploy.Functions {
		if err := os.MkdirAll(filepath.Join(dir, f.Name), 0o755); err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name, "bootstrap"), []byte("#!/bin/sh\n# placeholder for synth\n"), 0o755); err != nil {
			panic(err)
		}
	}
	return dir
})

func TestMain(m *testing.M) {
	code := m.Run()
	if d := buildDir(); d != filepath.Join(root, "build") {
		_ = os.RemoveAll(d)
	}
	jsii.Close()
	os.Exit(code)
}

// synthesized is one synthesized stack: its CloudFormation template as
// JSON, the logical ids of the constructs the checks look for, and the
// cdk-nag findings.
type synthesized struct {
	settings stack.Settings
	tpl      template
	raw      []byte // the template's JSON
	// ids by function name.
	fnIDs, roleIDs, ruleIDs, dlqIDs map[string]string
	tableID, apiID, topicID, bucket string
	secretID                        string // "" without credentials
	historyQueueID                  string // the history writer's on-failure queue
	machineID                       string // Mason's state machine
	nag                             []string
}

// template is a CloudFormation template.
type template struct {
	Resources map[string]resource       `json:"Resources"`
	Outputs   map[string]map[string]any `json:"Outputs"`
}

type resource struct {
	Type                string         `json:"Type"`
	Properties          map[string]any `json:"Properties"`
	DeletionPolicy      string         `json:"DeletionPolicy"`
	UpdateReplacePolicy string         `json:"UpdateReplacePolicy"`
	DependsOn           any            `json:"DependsOn"`
}

// synthStack builds one stack in its own app (with the cdk-nag pack), lets
// mutate break it, and synthesizes it once.
func synthStack(s stack.Settings, mutate func(*stack.Stack)) (*synthesized, error) {
	app := awscdk.NewApp(&awscdk.AppProps{AnalyticsReporting: jsii.Bool(false)})
	st, err := stack.New(app, s, stack.Options{Root: root, BuildDir: buildDir()})
	if err != nil {
		return nil, err
	}
	if mutate != nil {
		mutate(st)
	}
	stack.CheckNag(app)
	t := assertions.Template_FromStack(st.Stack, nil)
	raw, err := json.Marshal(t.ToJSON())
	if err != nil {
		return nil, err
	}
	out := &synthesized{settings: s, fnIDs: map[string]string{}, roleIDs: map[string]string{}, ruleIDs: map[string]string{}, dlqIDs: map[string]string{}}
	out.raw = raw
	if err := json.Unmarshal(raw, &out.tpl); err != nil {
		return nil, err
	}
	id := func(c constructs.IConstruct) string {
		return *st.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
	}
	for name, fn := range st.Functions {
		out.fnIDs[name] = id(fn)
		out.roleIDs[name] = id(fn.Role())
	}
	for name, r := range st.Rules {
		out.ruleIDs[name] = id(r)
	}
	for name, q := range st.DLQs {
		out.dlqIDs[name] = id(q)
	}
	out.tableID, out.apiID, out.topicID, out.bucket = id(st.Table), id(st.API), id(st.Topic), id(st.Bucket)
	if st.Secret != nil {
		out.secretID = id(st.Secret)
	}
	if st.HistoryFailures != nil {
		out.historyQueueID = id(st.HistoryFailures)
	}
	out.machineID = id(st.StateMachine)
	ann := assertions.Annotations_FromStack(st.Stack)
	for _, msgs := range []*[]*cxapi.SynthesisMessage{
		ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))),
		ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))),
	} {
		for _, m := range *msgs {
			out.nag = append(out.nag, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
		}
	}
	return out, nil
}

// stacks holds one synthesized stack per case, built on first use and
// shared by every test (a synth costs seconds).
var stacks sync.Map // name -> func() (*synthesized, error)

// shared returns the synthesized stack called name, built by build once.
func shared(t *testing.T, name string, build func() (*synthesized, error)) *synthesized {
	t.Helper()
	f, _ := stacks.LoadOrStore(name, sync.OnceValues(build))
	s, err := f.(func() (*synthesized, error))()
	require.NoError(t, err, "synth %s", name)
	return s
}

// envStack is the stack of environment env as the table defines it.
func envStack(t *testing.T, env string) *synthesized {
	return shared(t, env, func() (*synthesized, error) {
		s, err := stack.Lookup(env)
		if err != nil {
			return nil, err
		}
		return synthStack(s, nil)
	})
}

// janitorTargets are the targets of the janitor variant.
var janitorTargets = []stack.JanitorTarget{
	{Type: "gce-project", Webhook: "https://cleaner.example.com/clean"},
	{Type: "aws-account", Function: "account-cleaner"},
}

// janitorStack is dev with janitor targets (one webhook, one Lambda
// function) and credentials (auth basic): every function, the janitor's
// schedule and invoke grant, the credentials secret and its grants. It is
// the stack template.yaml is compared with (every condition true).
func janitorStack(t *testing.T) *synthesized {
	return shared(t, "dev+janitor+basic", func() (*synthesized, error) {
		s, _ := stack.Lookup("dev")
		s.JanitorTargets = janitorTargets
		s.Auth = stack.AuthBasic
		return synthStack(s, nil)
	})
}
