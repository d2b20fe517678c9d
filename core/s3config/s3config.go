package s3config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/boskos-serverless/boskos/core/maintenance"
)

// Scheme starts every S3 URI.
const Scheme = "s3://"

// MaxDocumentBytes bounds a fetched document: a resources file larger than
// this is an error, not a memory exhaustion.
const MaxDocumentBytes = 16 << 20

// Errors that Fetch and Put wrap.
var (
	// ErrNotFound: the bucket or the object does not exist.
	ErrNotFound = errors.New("no such bucket or object")
	// ErrAccessDenied: S3 refused the request (403).
	ErrAccessDenied = errors.New("access denied")
)

// URI names one S3 object, s3://Bucket/Key.
type URI struct {
	Bucket string
	Key    string
}

// String returns "s3://bucket/key".
func (u URI) String() string { return Scheme + u.Bucket + "/" + u.Key }

// bucketName is S3's rule for (general purpose) bucket names: 3 to 63
// lower-case letters, digits, dots and hyphens, starting and ending with a
// letter or digit.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseURI reads "s3://bucket/key". The error says what is wrong and shows
// the expected form.
func ParseURI(s string) (URI, error) {
	bad := func(why string) (URI, error) {
		return URI{}, fmt.Errorf("%q is not an S3 URI (s3://bucket/key): %s", s, why)
	}
	if s == "" {
		return bad("it is empty")
	}
	if strings.TrimSpace(s) != s {
		return bad("it has blanks around it")
	}
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		if i := strings.Index(s, "://"); i >= 0 {
			return bad(fmt.Sprintf("the scheme is %q, not s3", s[:i]))
		}
		return bad("it does not start with s3://")
	}
	bucket, key, ok := strings.Cut(rest, "/")
	switch {
	case bucket == "":
		return bad("the bucket is missing")
	case !bucketName.MatchString(bucket) || strings.Contains(bucket, ".."):
		return bad(fmt.Sprintf("%q is not a bucket name (3 to 63 of a-z, 0-9, '.', '-', starting and ending with a letter or digit)", bucket))
	case !ok || key == "":
		return bad("the object key is missing")
	case strings.HasSuffix(key, "/"):
		return bad("the key ends with '/': it names a folder, not an object")
	case len(key) > 1024:
		return bad("the key is longer than 1024 bytes")
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("the key contains a control character")
	}
	return URI{Bucket: bucket, Key: key}, nil
}

// API is the part of the S3 client that a Source uses (*s3.Client is one).
type API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var (
	_ API                = (*s3.Client)(nil)
	_ maintenance.Source = (*Source)(nil)
)

// ClientConfig says how to reach S3. The zero value of each field means the
// SDK's default.
type ClientConfig struct {
	// Region is the AWS region ("" = the SDK's resolution: AWS_REGION, the
	// shared config file).
	Region string
	// Endpoint is S3's base URL (AWS_ENDPOINT_URL_S3); when set, buckets are
	// addressed path-style (http://endpoint/bucket/key).
	Endpoint string
	// Credentials, if set, replace the SDK's default credential chain.
	Credentials aws.CredentialsProvider
	// ClientOptions are applied to the client last (tests add middleware).
	ClientOptions []func(*s3.Options)
}

// NewClientFromConfig returns a client configured by cfg over the AWS
// configuration the caller built (core/awsload loads the SDK's default
// one; the Lambda functions build theirs from the environment Lambda
// sets, without the SDK's configuration loader). cfg's Region and
// Credentials, when set, replace awsCfg's.
func NewClientFromConfig(awsCfg aws.Config, cfg ClientConfig) *s3.Client {
	if cfg.Region != "" {
		awsCfg.Region = cfg.Region
	}
	if cfg.Credentials != nil {
		awsCfg.Credentials = cfg.Credentials
	}
	var opts []func(*s3.Options)
	if cfg.Endpoint != "" {
		opts = append(opts, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
		})
	}
	opts = append(opts, cfg.ClientOptions...)
	return s3.NewFromConfig(awsCfg, opts...)
}

// Source is one S3 object holding a resources file: a maintenance.Source
// that fetches it conditionally, and the target of Put.
type Source struct {
	api API
	uri URI
}

// New returns the Source of the object uri through api.
func New(api API, uri URI) *Source { return &Source{api: api, uri: uri} }

// URI returns the object's URI.
func (s *Source) URI() URI { return s.uri }

// Name implements maintenance.Source: "s3://bucket/key".
func (s *Source) Name() string { return s.uri.String() }

// Fetch implements maintenance.Source with one GET request. With a version
// (an ETag Fetch returned before) the GET is conditional (If-None-Match):
// an unchanged object is answered 304, returned as a Document with
// NotModified set and no error. Errors wrap ErrNotFound, ErrAccessDenied or
// the context's error when that is the cause; other failures carry S3's
// text only.
func (s *Source) Fetch(ctx context.Context, version string) (maintenance.Document, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.uri.Bucket), Key: aws.String(s.uri.Key)}
	if version != "" {
		in.IfNoneMatch = aws.String(version)
	}
	out, err := s.api.GetObject(ctx, in, noResponseChecksum)
	if err != nil {
		if version != "" && httpStatus(err) == 304 {
			return maintenance.Document{Version: version, NotModified: true}, nil
		}
		return maintenance.Document{}, s.translate(ctx, "get", err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, MaxDocumentBytes+1))
	if err != nil {
		return maintenance.Document{}, s.translate(ctx, "read", err)
	}
	if len(data) > MaxDocumentBytes {
		return maintenance.Document{}, fmt.Errorf("s3config: get %s: the object is larger than %d bytes", s.uri, MaxDocumentBytes)
	}
	etag := aws.ToString(out.ETag)
	if etag == "" {
		return maintenance.Document{}, fmt.Errorf("s3config: get %s: the response has no ETag", s.uri)
	}
	return maintenance.Document{Data: data, Version: etag}, nil
}

// Put uploads data as the object (Content-Type application/yaml) with one
// PUT request and returns its new ETag. Errors are those of Fetch.
func (s *Source) Put(ctx context.Context, data []byte) (version string, err error) {
	out, err := s.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.uri.Bucket),
		Key:           aws.String(s.uri.Key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String("application/yaml"),
	})
	if err != nil {
		return "", s.translate(ctx, "put", err)
	}
	return aws.ToString(out.ETag), nil
}

// noResponseChecksum turns off the SDK's automatic check of GetObject
// response checksums (x-amz-checksum-*, asked for with ChecksumMode): a 304
// answer carries the object's checksum headers without its body, and the
// SDK then logs a checksum mismatch on every unchanged fetch. TLS protects
// the body, and the document is validated before it is applied.
func noResponseChecksum(o *s3.Options) {
	o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
}

// httpStatus returns the HTTP status of an SDK error (0 when it has none).
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// translate turns an SDK error into this package's: the operation and URI,
// a sentinel where one applies, and the SDK's text (never its types).
func (s *Source) translate(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("s3config: %s %s: %w", op, s.uri, cerr)
	}
	code := ""
	var api smithy.APIError
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	switch status := httpStatus(err); {
	case status == 404 || code == "NoSuchKey" || code == "NoSuchBucket" || code == "NotFound":
		return fmt.Errorf("s3config: %s %s: %w (%s)", op, s.uri, ErrNotFound, err.Error())
	case status == 403 || code == "AccessDenied":
		return fmt.Errorf("s3config: %s %s: %w (%s)", op, s.uri, ErrAccessDenied, err.Error())
	}
	return fmt.Errorf("s3config: %s %s: %s", op, s.uri, err.Error())
}
