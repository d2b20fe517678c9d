package callout

import (
	"fmt"
	"regexp"
)

// lambdaFunctionName is Lambda's pattern of the FunctionName parameter of
// Invoke.
var lambdaFunctionName = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9_.-]+)(:(\$LATEST|[a-zA-Z0-9_-]+))?$`)

// maxLambdaFunctionName bounds a function name or ARN with its qualifier.
const maxLambdaFunctionName = 170

// ValidLambdaFunction reports whether s is a Lambda function name, partial
// ARN (123456789012:function:name) or ARN, with an optional version or
// alias qualifier, as Invoke accepts them; its error is `"S" is not a
// Lambda function name or ARN`. It is here, without the AWS SDK, so that
// validating configuration does not link the Lambda client (package
// lambdacall invokes the functions).
func ValidLambdaFunction(s string) error {
	if s == "" || len(s) > maxLambdaFunctionName || !lambdaFunctionName.MatchString(s) {
		return fmt.Errorf("%q is not a Lambda function name or ARN", s)
	}
	return nil
}
