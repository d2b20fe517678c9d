package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/boskos-serverless/boskos/core/deploy"
)

// OutputDashboardURL is the output holding the dashboard's URL: the read
// function's page, ApiUrl + "/ui/".
const OutputDashboardURL = "DashboardUrl"

// readAPI adds what the read function (deploy.FnRead: the read API and the
// dashboard) needs besides the wiring every API function gets from
// function and api (its role with exactly deploy's actions, dynamodb:Query,
// its routes /v1/resources, /v1/queue, /v1/types, /ui and /ui/{proxy+},
// the environment's authorization on each): the dashboard's URL as an
// output.
//
// In auth mode iam every route requires SigV4, which a browser does not
// sign: the dashboard is then for clients that sign (or a signing proxy);
// environments with auth basic serve it to browsers, which prompt for the
// credentials.
func (b *Stack) readAPI() {
	if _, ok := b.Functions[deploy.FnRead]; !ok {
		return
	}
	awscdk.NewCfnOutput(b.Stack, jsii.String(OutputDashboardURL), &awscdk.CfnOutputProps{
		Description: jsii.String("The dashboard (it reads the read API, /v1/...; with credentials the browser asks for them)."),
		Value: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("https://"), b.API.ApiId(), jsii.String(".execute-api."), b.Stack.Region(), jsii.String("."), b.Stack.UrlSuffix(), jsii.String("/ui/"),
		}),
	})
}
