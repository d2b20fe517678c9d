package dynamostore

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Defaults of ClientConfig.
const (
	DefaultMaxAttempts = 8
	DefaultMaxBackoff  = 2 * time.Second
)

// ClientConfig says how to reach DynamoDB. The zero value of each field
// means its default.
type ClientConfig struct {
	// Region is the AWS region ("" = the SDK's default resolution: AWS_REGION,
	// the shared config file).
	Region string
	// Endpoint is the base URL of DynamoDB, e.g. DynamoDB Local's
	// "http://127.0.0.1:8000" ("" = the SDK's default resolution, which
	// honours AWS_ENDPOINT_URL_DYNAMODB).
	Endpoint string
	// MaxAttempts bounds the attempts of one request, the first included
	// (default DefaultMaxAttempts). Throttling and transient errors are
	// retried by the SDK's standard retryer.
	MaxAttempts int
	// MaxBackoff caps the jittered exponential wait between attempts
	// (default DefaultMaxBackoff).
	MaxBackoff time.Duration
	// Credentials, if set, replace the SDK's default credential chain (DynamoDB
	// Local accepts any static credentials).
	Credentials aws.CredentialsProvider
	// ValidateResponseChecksum turns on the SDK's CRC32 check of response
	// bodies. It is off by default: the SDK (aws/aws-sdk-go-v2 issue #3545)
	// checks against 0 when the X-Amz-Crc32 header is absent, which DynamoDB
	// does on error responses (every failed condition), and logs "failed to
	// close HTTP response body" each time. TLS already protects the body.
	ValidateResponseChecksum bool
	// ClientOptions are applied to the client last (tests add middleware,
	// e.g. to count requests).
	ClientOptions []func(*dynamodb.Options)
}

// retryBase is the first backoff ceiling of NewRetryer: attempt i waits a
// random time in [0, min(max, retryBase * 2^i)).
const retryBase = 25 * time.Millisecond

// fullJitter is exponential backoff with full jitter. (The SDK's
// retry.NewExponentialJitterBackoff starts at one second and, past its cap,
// returns the cap itself without jitter, so throttled clients would retry in
// lockstep.)
type fullJitter struct{ base, max time.Duration }

// BackoffDelay implements retry.BackoffDelayer.
func (b fullJitter) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	ceil := b.max
	if attempt < 30 {
		ceil = min(b.max, b.base<<attempt)
	}
	if ceil <= 0 {
		return 0, nil
	}
	return rand.N(ceil), nil
}

// NewRetryer returns the retryer NewClient installs: the SDK's standard
// retryer (which retries throttling, ThrottlingException and
// ProvisionedThroughputExceededException included, and transient errors)
// with at most maxAttempts attempts, full-jitter exponential backoff capped
// at maxBackoff, and no client-side retry quota (a burst of throttling in a
// Lambda container must not turn into "retry quota exceeded").
func NewRetryer(maxAttempts int, maxBackoff time.Duration) aws.Retryer {
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	if maxBackoff <= 0 {
		maxBackoff = DefaultMaxBackoff
	}
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = maxBackoff
		o.Backoff = fullJitter{base: retryBase, max: maxBackoff}
		o.RateLimiter = ratelimit.None
	})
}

// noRetryAfterCommit is a per-operation option for writes that are not
// idempotent (PutItem, UpdateItem, DeleteItem): an attempt that may have
// been applied is never repeated, since repeating it could apply the write
// twice (an Upsert would add 2 to the version; a lease whose first attempt
// was applied would fail its own condition on the second and look taken by
// someone else). Such an attempt's error is returned instead, for the caller
// to report as possibly applied. May have been applied: an attempt that got
// an HTTP 2xx (committed, then reading the response failed, seen as
// "deserialization failed ... use of closed network connection"), a 5xx
// (DynamoDB's InternalServerError leaves the outcome unknown), and a
// connection that broke after the request was sent (reset, EOF, timeout:
// no answer). A request that never left (the connection could not be
// dialed) and a throttling or other 4xx refusal are retried as before.
// TransactWriteItems carries an idempotency token and keeps the SDK's
// retries.
func noRetryAfterCommit(o *dynamodb.Options) {
	if o.Retryer != nil {
		o.Retryer = committedNoRetry{o.Retryer}
	}
}

type committedNoRetry struct{ aws.Retryer }

// IsErrorRetryable refuses errors of attempts that may have been applied.
func (r committedNoRetry) IsErrorRetryable(err error) bool {
	if mayHaveApplied(err) {
		return false
	}
	return r.Retryer.IsErrorRetryable(err)
}

// noteAmbiguous is a per-operation option that sets *flag when an attempt
// that may have been applied is retried (TransactWriteItems, whose retries
// are safe thanks to its idempotency token): its final error, even a
// throttling one, then does not mean that nothing was applied.
func noteAmbiguous(flag *atomic.Bool) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		if o.Retryer != nil {
			o.Retryer = ambiguityNoter{Retryer: o.Retryer, flag: flag}
		}
	}
}

type ambiguityNoter struct {
	aws.Retryer
	flag *atomic.Bool
}

// IsErrorRetryable notes attempts that may have been applied.
func (r ambiguityNoter) IsErrorRetryable(err error) bool {
	if mayHaveApplied(err) {
		r.flag.Store(true)
	}
	return r.Retryer.IsErrorRetryable(err)
}

// mayHaveApplied reports whether err is that of an attempt DynamoDB may have
// applied: answered 2xx or 5xx, or sent without an answer.
func mayHaveApplied(err error) bool {
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() != 0 { // 0: no answer
		c := status.HTTPStatusCode()
		return (c >= 200 && c < 300) || c >= 500
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		var op *net.OpError
		return !(errors.As(err, &op) && op.Op == "dial")
	}
	return false
}

// NewClientFromConfig returns a client configured by cfg over the AWS
// configuration the caller built (core/awsload loads the SDK's default
// one; the Lambda functions build theirs from the environment Lambda
// sets, without the SDK's configuration loader and the credential
// providers it links). cfg's Region and Credentials, when set, replace
// awsCfg's; its retryer is NewRetryer's.
func NewClientFromConfig(awsCfg aws.Config, cfg ClientConfig) *dynamodb.Client {
	if cfg.Region != "" {
		awsCfg.Region = cfg.Region
	}
	if cfg.Credentials != nil {
		awsCfg.Credentials = cfg.Credentials
	}
	awsCfg.Retryer = func() aws.Retryer { return NewRetryer(cfg.MaxAttempts, cfg.MaxBackoff) }
	opts := []func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = !cfg.ValidateResponseChecksum
	}}
	if cfg.Endpoint != "" {
		opts = append(opts, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(cfg.Endpoint) })
	}
	opts = append(opts, cfg.ClientOptions...)
	opts = append(opts, func(o *dynamodb.Options) {
		if o.HTTPClient != nil {
			o.HTTPClient = plainBodyClient{o.HTTPClient}
		}
	})
	return dynamodb.NewFromConfig(awsCfg, opts...)
}

// plainBodyClient hands net/http request bodies that offer only Read and
// Close. The SDK's request body (smithy-go's safe read closer over a
// bytes.Reader) also offers WriteTo, which answers io.EOF once the SDK has
// closed the body; the SDK closes it as soon as the response headers are in,
// and net/http's writer may still be probing the body for extra bytes then
// (io.Copy into io.Discard, which uses WriteTo). io.Copy takes WriteTo's
// io.EOF for an error, net/http closes the connection, and reading the
// already committed response fails with "use of closed network connection".
// Under the race detector that hit about one large UpdateItem in a hundred
// against DynamoDB Local. Read answers io.EOF after Close, which io.Copy
// takes for the end of the body, so hiding WriteTo is enough.
type plainBodyClient struct{ next dynamodb.HTTPClient }

func (c plainBodyClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		if _, ok := r.Body.(io.WriterTo); ok {
			r.Body = readCloser{r.Body}
		}
	}
	return c.next.Do(r)
}

// readCloser hides every method of its ReadCloser but Read and Close.
type readCloser struct{ io.ReadCloser }
