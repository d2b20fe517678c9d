package janitor

import (
	"fmt"
	"regexp"
)

// lambdaFunctionName is Lambda's pattern of the FunctionName parameter of
// Invoke.
var lambdaFunctionName = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9_.-]+)(:(\$LATEST|[a-zA-Z0-9_-]+))?$`)

// maxLambdaFunctionName bounds a function name or ARN with its qualifier.
const maxLambdaFunctionName = 170

// ValidLambdaFunction reports whether s is a Lambda function name or ARN,
// and why not. It is here, without the AWS SDK, so that validating a
// janitor's targets does not link the Lambda client (package lambdatarget
// invokes them).
func ValidLambdaFunction(s string) error {
	if s == "" || len(s) > maxLambdaFunctionName || !lambdaFunctionName.MatchString(s) {
		return fmt.Errorf("%q is not a Lambda function name or ARN (nor an http(s) URL)", s)
	}
	return nil
}
