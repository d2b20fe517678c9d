package janitor

import (
	"fmt"

	"github.com/boskos-serverless/boskos/core/callout"
)

// ValidLambdaFunction reports whether s is a Lambda function name or ARN,
// and why not (callout.ValidLambdaFunction, whose error it completes with
// the other kind of target). It is here, without the AWS SDK, so that
// validating a janitor's targets does not link the Lambda client (package
// lambdatarget invokes them).
func ValidLambdaFunction(s string) error {
	if err := callout.ValidLambdaFunction(s); err != nil {
		return fmt.Errorf("%w (nor an http(s) URL)", err)
	}
	return nil
}
