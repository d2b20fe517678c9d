// Command infra is the CDK (Go) app of boskos-serverless: one stack per
// environment, chosen with `-c env=dev|staging|prod` (default dev; `all`
// synthesizes every environment's stack at once, for make synth); every
// per-environment setting lives in stack.Environments. `-c
// janitorTargets=TYPE=TARGET,...` deploys the janitor with the cleaners of
// a deployment (webhook URLs or Lambda function names), which do not belong
// in the repository; `-c auth=none|basic|iam` overrides the environment's
// auth mode (the moto deploy test deploys dev with basic). Run it through the
// CDK CLI (make synth, make deploy ENV=...). It reads the Lambda binaries
// from ../build (make build; BOSKOS_BUILD_DIR overrides it) and the resources file config/<env>.yaml.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/boskos-serverless/boskos/infra/stack"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	env := "dev"
	if v, ok := app.Node().TryGetContext(jsii.String("env")).(string); ok && v != "" {
		env = v
	}
	envs := []string{env}
	if env == "all" { // make synth: every environment's stack in one run
		envs = stack.EnvNames()
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	build := filepath.Join(root, "build")
	if v := os.Getenv("BOSKOS_BUILD_DIR"); v != "" {
		build = v
	}
	var awsEnv *awscdk.Environment
	if a, r := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); a != "" && r != "" {
		awsEnv = &awscdk.Environment{Account: jsii.String(a), Region: jsii.String(r)}
	}
	for _, env := range envs {
		s, err := stack.Lookup(env)
		if err != nil {
			return err
		}
		if v, ok := app.Node().TryGetContext(jsii.String("auth")).(string); ok && v != "" {
			if s.Auth, err = stack.ParseAuthMode(v); err != nil {
				return err
			}
		}
		if v, ok := app.Node().TryGetContext(jsii.String("janitorTargets")).(string); ok && v != "" {
			if s.JanitorTargets, err = stack.ParseJanitorTargets(v); err != nil {
				return err
			}
		}
		if _, err := stack.New(app, s, stack.Options{Root: root, BuildDir: build, Env: awsEnv}); err != nil {
			return err
		}
	}
	stack.CheckNag(app)
	app.Synth(nil)
	return nil
}
