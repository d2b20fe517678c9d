package janitor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/janitor"
)

// describe renders targets as "TYPE=description" lines, "*" for All.
func describe(t janitor.Targets) []string {
	var out []string
	if t.All != nil {
		out = append(out, fmt.Sprintf("*=%s", t.All))
	}
	for _, k := range t.Types() {
		out = append(out, fmt.Sprintf("%s=%s", k, t.ByType[k]))
	}
	return out
}

func TestParseCommands(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    []string
		wantErr string
	}{
		{name: "none", values: nil, want: nil},
		{name: "all types", values: []string{"true --x"}, want: []string{"*=true --x"}},
		{name: "per type", values: []string{"gce-project=true", "aws-account= sh -c 'exit 0'"},
			want: []string{"aws-account=sh -c exit 0", "gce-project=true"}},
		{name: "both", values: []string{"true", "t=sh"}, want: []string{"*=true", "t=sh"}},
		{name: "= in the command line is not a type", values: []string{"sh -c 'x=1' --a=b", "/bin/true --a=b"},
			wantErr: `--janitor-command "/bin/true --a=b": a command for all types is already given`},
		{name: "env prefix is a command", values: []string{"env A=1 true"}, want: []string{"*=env A=1 true"}},
		{name: "empty", values: []string{" "}, wantErr: `--janitor-command " ": empty command`},
		{name: "type without command", values: []string{"gce-project="}, wantErr: `--janitor-command "gce-project=": no command for type "gce-project"`},
		{name: "unbalanced quote", values: []string{"t=sh 'x"}, wantErr: `--janitor-command "t=sh 'x": unterminated ' quote in command line`},
		{name: "missing program", values: []string{"t=/no/such/janitor"},
			wantErr: `--janitor-command "t=/no/such/janitor": command "/no/such/janitor": stat /no/such/janitor: no such file or directory`},
		{name: "type twice", values: []string{"t=true", "t=sh"}, wantErr: `--janitor-command "t=sh": type "t" has a command already`},
		{name: "every error at once", values: []string{"", "a=", "b=no-such-janitor-command-x"},
			wantErr: `--janitor-command "": empty command` + "\n" +
				`--janitor-command "a=": no command for type "a"` + "\n" +
				`--janitor-command "b=no-such-janitor-command-x": command "no-such-janitor-command-x": executable file not found in $PATH`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := janitor.ParseCommands(tc.values, janitor.CommandOptions{})
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, describe(got))
		})
	}
}

// fakeLambda is a TargetFactory accepting names that start with "fn" and
// ARNs.
func fakeLambda(target string) (janitor.Cleaner, error) {
	if !strings.HasPrefix(target, "fn") && !strings.HasPrefix(target, "arn:") {
		return nil, fmt.Errorf("%q is not a Lambda function name or ARN (nor an http(s) URL)", target)
	}
	return describedCleaner{"lambda " + target}, nil
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		noLamba bool
		want    []string
		wantErr string
	}{
		{name: "empty", spec: " ", want: nil},
		{name: "webhooks and functions", spec: "a=https://clean.example.com/a?t=1, b=fn-clean ,c=arn:aws:lambda:us-east-1:123456789012:function:x,",
			want: []string{"a=https://clean.example.com", "b=lambda fn-clean", "c=lambda arn:aws:lambda:us-east-1:123456789012:function:x"}},
		{name: "all types", spec: "*=http://127.0.0.1:9000/clean,a=fn-a", want: []string{"*=http://127.0.0.1:9000", "a=lambda fn-a"}},
		{name: "no =", spec: "fn-x", wantErr: `BOSKOS_JANITOR_TARGETS: entry "fn-x": want TYPE=TARGET`},
		{name: "no type", spec: "=fn-x", wantErr: `BOSKOS_JANITOR_TARGETS: entry "=fn-x": no type before '='`},
		{name: "no target", spec: "a=", wantErr: `BOSKOS_JANITOR_TARGETS: entry "a=": no target for type "a"`},
		{name: "bad scheme", spec: "a=ftp://h/x", wantErr: `BOSKOS_JANITOR_TARGETS: entry "a=ftp://h/x": invalid URL "ftp://h/x": the scheme must be http or https`},
		{name: "no host", spec: "a=http:///x", wantErr: `BOSKOS_JANITOR_TARGETS: entry "a=http:///x": invalid URL "http:///x": no host`},
		{name: "malformed URL", spec: "a=http://h:port/", wantErr: `BOSKOS_JANITOR_TARGETS: entry "a=http://h:port/": invalid URL "http://h:port/": invalid port ":port" after host`},
		{name: "bad function", spec: "a=not a function", wantErr: `BOSKOS_JANITOR_TARGETS: entry "a=not a function": "not a function" is not a Lambda function name or ARN (nor an http(s) URL)`},
		{name: "functions unsupported", spec: "a=fn-x", noLamba: true,
			wantErr: `BOSKOS_JANITOR_TARGETS: entry "a=fn-x": "fn-x" is not an http(s) URL, and Lambda function targets are not supported here`},
		{name: "type twice", spec: "a=fn-1,a=fn-2", wantErr: `BOSKOS_JANITOR_TARGETS: entry "a=fn-2": type "a" has a target already`},
		{name: "every error at once", spec: "a=,b=ftp://x,=c",
			wantErr: `BOSKOS_JANITOR_TARGETS: entry "a=": no target for type "a"` + "\n" +
				`BOSKOS_JANITOR_TARGETS: entry "b=ftp://x": invalid URL "ftp://x": the scheme must be http or https` + "\n" +
				`BOSKOS_JANITOR_TARGETS: entry "=c": no type before '='`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := janitor.TargetFactory(fakeLambda)
			if tc.noLamba {
				f = nil
			}
			got, err := janitor.ParseTargets(tc.spec, janitor.WebhookOptions{}, f)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, describe(got))
			assert.Equal(t, len(tc.want) == 0, got.Empty())
		})
	}
}

// describedCleaner is a Cleaner that prints as its description.
type describedCleaner struct{ s string }

func (d describedCleaner) String() string { return d.s }
func (describedCleaner) Clean(context.Context, boskos.Resource) (janitor.Outcome, error) {
	return janitor.Cleaned, nil
}

func TestTargetsValidate(t *testing.T) {
	c := always(janitor.Cleaned, nil)
	tests := []struct {
		name    string
		targets janitor.Targets
		types   []string
		wantErr string
	}{
		{name: "all known", targets: janitor.Targets{ByType: map[string]janitor.Cleaner{"a": c, "b": c}}, types: []string{"a", "b", "c"}},
		{name: "all types only", targets: janitor.Targets{All: c}, types: nil},
		{name: "unknown types named", targets: janitor.Targets{All: c, ByType: map[string]janitor.Cleaner{"a": c, "zz": c, "gce-projet": c}},
			types: []string{"a", "gce-project"},
			wantErr: `janitor: a cleanup is configured for type "gce-projet", which is not in the config` + "\n" +
				`janitor: a cleanup is configured for type "zz", which is not in the config`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.targets.Validate(tc.types)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
	// For prefers the type's own cleanup.
	own := always(janitor.Dispatched, nil)
	tg := janitor.Targets{All: c, ByType: map[string]janitor.Cleaner{"a": own}}
	assert.NotNil(t, tg.For("b"))
	assert.Nil(t, janitor.Targets{ByType: map[string]janitor.Cleaner{"a": own}}.For("b"))
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    janitor.Settings
		targets []string
		wantErr string
	}{
		{name: "nothing set", env: map[string]string{}},
		{name: "everything", env: map[string]string{janitor.EnvTargets: "a=http://h/x", janitor.EnvMaxFailures: "5", janitor.EnvConcurrency: " 2 "},
			want: janitor.Settings{MaxFailures: 5, Concurrency: 2}, targets: []string{"a=http://h"}},
		{name: "every error at once", env: map[string]string{janitor.EnvTargets: "a", janitor.EnvMaxFailures: "-1", janitor.EnvConcurrency: "x"},
			wantErr: `BOSKOS_JANITOR_TARGETS: entry "a": want TYPE=TARGET` + "\n" +
				`BOSKOS_JANITOR_MAX_FAILURES: "-1" must be positive` + "\n" +
				`BOSKOS_JANITOR_CONCURRENCY: "x" is not an integer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			got, err := janitor.FromEnv(lookup, nil)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.targets, describe(got.Targets))
			got.Targets = janitor.Targets{}
			assert.Equal(t, tc.want, got)
		})
	}
}
