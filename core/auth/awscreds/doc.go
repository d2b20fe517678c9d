// Package awscreds reads the credentials document of package auth (the
// YAML of a credentials file) from an AWS Secrets Manager secret (Secret),
// an auth.Fetch for an auth.Refresher. It declares the one request it
// makes (SecretsAPI, which the SDK's client has) and translates the
// errors here, once: callers see ErrNotFound, ErrAccessDenied or the
// service's code and message, never an SDK type. Nothing here logs a
// document.
//
// SSM Parameter Store is not a source: the SDK's ssm package would put the
// API functions' bootstraps over their 10 MB budget, and the project does
// not write AWS protocols by hand.
package awscreds
