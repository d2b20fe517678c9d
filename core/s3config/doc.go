// Package s3config keeps the resources file in Amazon S3: it is the
// maintenance.Source of the reconciler function (BOSKOS_CONFIG_URI =
// s3://bucket/key) and the upload target of `boskos config push`.
//
// Fetch is a conditional GET on the ETag of the version in force
// (If-None-Match), so an unchanged file costs one request answered 304 Not
// Modified, without a body. The adapter translates the SDK's errors once:
// a 304 is Document.NotModified, a missing bucket or key wraps ErrNotFound,
// a refused request wraps ErrAccessDenied, an ended context wraps the
// context's error; no SDK error type escapes this package.
//
// It is, with dynamostore, the only package that imports an AWS service
// SDK. NewClient addresses S3 path-style when an endpoint is given
// (AWS_ENDPOINT_URL_S3: LocalStack, MinIO, gofakes3 in tests), since such
// servers rarely resolve bucket subdomains.
package s3config
