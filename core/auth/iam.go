package auth

import "context"

// iamCallerKey is the context key of the IAM caller's ARN.
type iamCallerKey struct{}

// WithIAMCaller returns ctx carrying arn as the request's IAM caller: the
// principal that API Gateway's IAM authorization verified (the SigV4
// signature of the request), as the Lambda adapter reads it from the
// event's requestContext.authorizer.iam.userArn. Only code that got the
// identity from AWS may call it: the Guard trusts it without a check of
// its own. An empty arn leaves ctx as it is.
func WithIAMCaller(ctx context.Context, arn string) context.Context {
	if arn == "" {
		return ctx
	}
	return context.WithValue(ctx, iamCallerKey{}, arn)
}

// IAMCaller returns the IAM caller's ARN that WithIAMCaller put in ctx.
func IAMCaller(ctx context.Context) (string, bool) {
	arn, ok := ctx.Value(iamCallerKey{}).(string)
	return arn, ok && arn != ""
}
