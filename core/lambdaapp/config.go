package lambdaapp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/boskos-serverless/boskos/core/auth"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// Names of the environment variables FromEnv reads.
const (
	EnvTable        = "BOSKOS_TABLE"
	EnvRequestTTL   = "BOSKOS_REQUEST_TTL"
	EnvSpreadWindow = "BOSKOS_SPREAD_WINDOW"
	EnvLogLevel     = "BOSKOS_LOG_LEVEL"
	EnvEndpoint     = "AWS_ENDPOINT_URL_DYNAMODB"
	// EnvCredentialsFile names a credentials file (in the deployment
	// package or a mounted volume), read once per execution environment.
	EnvCredentialsFile = "BOSKOS_CREDENTIALS_FILE"
	// EnvCredentialsSecret is the name or ARN of a Secrets Manager secret
	// holding the credentials file: read at start and again after each
	// EnvCredentialsTTL.
	EnvCredentialsSecret = "BOSKOS_CREDENTIALS_SECRET"
	// EnvCredentialsTTL is how long the secret's credentials are used before a request reads them again (Go
	// duration, default auth.DefaultRefreshTTL).
	EnvCredentialsTTL = "BOSKOS_CREDENTIALS_TTL"
	// EnvSecretsEndpoint overrides the Secrets Manager endpoint (the SDK's
	// name for it).
	EnvSecretsEndpoint = "AWS_ENDPOINT_URL_SECRETS_MANAGER"
	// EnvAnonymousMetrics ("true") opens GET /metric and /metrics to
	// requests without credentials, as `serve --anonymous-metrics`.
	EnvAnonymousMetrics = "BOSKOS_ANONYMOUS_METRICS"
)

// tableName is DynamoDB's rule for table names.
var tableName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

// Config is what a function needs to build its handler.
type Config struct {
	// Table is the DynamoDB table (BOSKOS_TABLE).
	Table string
	// RequestTTL is how long a request_id keeps its place in an acquire
	// queue without polling (BOSKOS_REQUEST_TTL, default
	// ranch.DefaultRequestTTL, as the local server's --request-ttl).
	RequestTTL time.Duration
	// SpreadWindow is the ranch's acquire spread (BOSKOS_SPREAD_WINDOW,
	// default ranch.DefaultSpreadWindow, as the local server's
	// --spread-window; 0 = strict least-recently-updated order).
	SpreadWindow time.Duration
	// LogLevel is the minimum level logged (BOSKOS_LOG_LEVEL).
	LogLevel slog.Level
	// Endpoint overrides the DynamoDB endpoint (AWS_ENDPOINT_URL_DYNAMODB,
	// which the SDK also honours by itself); "" means the SDK's default.
	Endpoint string
	// CredentialsFile, when set, enables authentication with the
	// principals of this file (BOSKOS_CREDENTIALS_FILE; see package auth).
	CredentialsFile string
	// CredentialsSecret, when set (not with CredentialsFile), names the
	// Secrets Manager secret that holds the credentials
	// (BOSKOS_CREDENTIALS_SECRET), re-read after each CredentialsTTL
	// (BOSKOS_CREDENTIALS_TTL, default auth.DefaultRefreshTTL).
	CredentialsSecret string
	CredentialsTTL    time.Duration
	// SecretsEndpoint overrides the Secrets Manager endpoint
	// (AWS_ENDPOINT_URL_SECRETS_MANAGER; otherwise AWS_ENDPOINT_URL, then
	// the SDK's default).
	SecretsEndpoint string
	// AnonymousMetrics opens the metric reads to anonymous requests
	// (BOSKOS_ANONYMOUS_METRICS).
	AnonymousMetrics bool

	// The fields below are not read from the environment; tests set them.

	// Now is the clock of the ranch and the handler (default time.Now).
	Now func() time.Time
	// Logger replaces the JSON logger on stdout that LogLevel configures.
	Logger *slog.Logger
	// Region overrides the SDK's region resolution (AWS_REGION, which the
	// Lambda environment sets).
	Region string
	// Client, if set, is used instead of a client built from the fields
	// above (tests pass one that counts requests).
	Client dynamostore.API
	// CredentialsFetch reads the document of CredentialsSecret. The API functions' mains set it with Main's
	// option lambdacreds.Source (a package of its own, so that the job
	// functions do not link the Secrets Manager client); tests may set
	// their own.
	CredentialsFetch auth.Fetch
	// Function is the function dimension of the EMF metrics: the deployed
	// name (AWS_LAMBDA_FUNCTION_NAME; Main and MainJob set it).
	Function string
	// MetricsOut receives the EMF metric lines (default os.Stdout).
	MetricsOut io.Writer
	// AWS is the region and credentials the clients are built with when
	// Client (S3Client) is nil (Main and MainJob read it
	// with AWSFromEnv).
	AWS AWSEnv
}

// FromEnv reads a Config through lookup (os.LookupEnv in a main). It reports
// every problem at once, joined with errors.Join, one per line.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	cfg := Config{RequestTTL: ranch.DefaultRequestTTL, SpreadWindow: ranch.DefaultSpreadWindow, LogLevel: slog.LevelInfo}
	var errs []error
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}

	if v, ok := get(EnvTable); ok {
		if tableName.MatchString(v) || strings.HasPrefix(v, "arn:") {
			cfg.Table = v
		} else {
			errs = append(errs, fmt.Errorf("%s: %q is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, '_', '-', '.') or ARN", EnvTable, v))
		}
	} else {
		errs = append(errs, fmt.Errorf("%s: must be set (the DynamoDB table name)", EnvTable))
	}

	if v, ok := get(EnvRequestTTL); ok {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 30s, 2m): %v", EnvRequestTTL, v, err))
		case d <= 0:
			errs = append(errs, fmt.Errorf("%s: %q must be positive", EnvRequestTTL, v))
		default:
			cfg.RequestTTL = d
		}
	}

	if v, ok := get(EnvSpreadWindow); ok {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 500ms, 0)", EnvSpreadWindow, v))
		case d < 0:
			errs = append(errs, fmt.Errorf("%s: %q must not be negative", EnvSpreadWindow, v))
		default:
			cfg.SpreadWindow = d
		}
	}

	if v, ok := get(EnvLogLevel); ok {
		var l slog.Level
		if err := l.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a level (debug, info, warn, error)", EnvLogLevel, v))
		} else {
			cfg.LogLevel = l
		}
	}

	if v, ok := get(EnvEndpoint); ok {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", EnvEndpoint, v))
		} else {
			cfg.Endpoint = v
		}
	}

	var sources []string
	for _, src := range []struct {
		env string
		to  *string
	}{{EnvCredentialsFile, &cfg.CredentialsFile}, {EnvCredentialsSecret, &cfg.CredentialsSecret}} {
		v, ok := get(src.env)
		if !ok {
			continue
		}
		sources = append(sources, src.env)
		if strings.ContainsFunc(v, unicode.IsSpace) {
			errs = append(errs, fmt.Errorf("%s: %q must not contain blanks", src.env, v))
		}
		*src.to = v
	}
	if len(sources) > 1 {
		errs = append(errs, fmt.Errorf("%s: set at most one of %s and %s", strings.Join(sources, ", "), EnvCredentialsFile, EnvCredentialsSecret))
	}
	// An SSM parameter was a source once: refuse it rather than start without the credentials it names.
	if _, ok := get("BOSKOS_CREDENTIALS_PARAMETER"); ok {
		errs = append(errs, fmt.Errorf("BOSKOS_CREDENTIALS_PARAMETER: is no longer supported (SSM parameters are not a credentials source): put the credentials file in a Secrets Manager secret and set %s", EnvCredentialsSecret))
	}
	remote := cfg.CredentialsSecret != ""
	if v, ok := get(EnvCredentialsTTL); ok {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 60s, 5m)", EnvCredentialsTTL, v))
		case d <= 0:
			errs = append(errs, fmt.Errorf("%s: %q must be positive", EnvCredentialsTTL, v))
		case !remote:
			errs = append(errs, fmt.Errorf("%s: needs %s (a file is read once)", EnvCredentialsTTL, EnvCredentialsSecret))
		default:
			cfg.CredentialsTTL = d
		}
	}
	if remote && cfg.CredentialsTTL == 0 {
		cfg.CredentialsTTL = auth.DefaultRefreshTTL
	}
	if v, ok := get(EnvSecretsEndpoint); ok {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", EnvSecretsEndpoint, v))
		} else {
			cfg.SecretsEndpoint = v
		}
	}
	if v, ok := get(EnvAnonymousMetrics); ok {
		b, err := strconv.ParseBool(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a boolean (true or false)", EnvAnonymousMetrics, v))
		case b && len(sources) == 0:
			errs = append(errs, fmt.Errorf("%s: needs %s or %s (without credentials everything is anonymous)", EnvAnonymousMetrics, EnvCredentialsFile, EnvCredentialsSecret))
		default:
			cfg.AnonymousMetrics = b
		}
	}

	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// Log returns c.Logger, or a JSON logger on stdout (which Lambda sends to
// CloudWatch Logs) at c.LogLevel.
func (c Config) Log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: c.LogLevel}))
}
