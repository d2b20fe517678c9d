// Package awscreds reads the credentials document of package auth (the
// YAML of a credentials file) from AWS: a Secrets Manager secret (Secret)
// or an SSM Parameter Store SecureString parameter (Parameter), each an
// auth.Fetch for an auth.Refresher. It declares the one request each
// source makes (SecretsAPI, which the SDK's client has; ParametersAPI,
// which ParametersClient has: a small SigV4-signed client, because the
// SDK's ssm package would add 1.3 MB to every bootstrap) and translates
// the errors here, once: callers see ErrNotFound, ErrAccessDenied,
// ErrNotSecure or the service's code and message, never an SDK type.
// Nothing here logs a document.
package awscreds
