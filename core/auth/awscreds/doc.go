// Package awscreds reads the credentials document of package auth (the
// YAML of a credentials file) from AWS: a Secrets Manager secret (Secret)
// or an SSM Parameter Store SecureString parameter (Parameter), each an
// auth.Fetch for an auth.Refresher. It declares the one SDK method each
// source calls (SecretsAPI, ParametersAPI) and translates the SDK's errors
// here, once: callers see ErrNotFound, ErrAccessDenied or the SDK's text,
// never an SDK type. Nothing here logs a document.
package awscreds
