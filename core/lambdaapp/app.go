package lambdaapp

import (
	"context"
	"fmt"
	"net/http"

	"github.com/boskos-serverless/boskos/core/auth"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// NewRanch builds, once per execution environment, the DynamoDB client (or
// uses cfg.Client), the store on cfg.Table and the ranch over it: the part
// that the API functions (NewHandler) and the scheduled jobs (NewJob)
// share. The ranch's Now, RequestTTL, SpreadWindow and Logger come from
// cfg; the other fields of o (OnAcquire) are the caller's. It makes no
// request: a missing table shows up as errors of the first requests.
func NewRanch(ctx context.Context, cfg Config, o ranch.Options) (*ranch.Ranch, error) {
	return newRanch(ctx, cfg, o, nil)
}

// newRanch is NewRanch with the store wrapped by wrap (when not nil).
func newRanch(ctx context.Context, cfg Config, o ranch.Options, wrap func(store.Store) store.Store) (*ranch.Ranch, error) {
	api := cfg.Client
	if api == nil {
		api = dynamostore.NewClientFromConfig(cfg.AWS.Config(), dynamostore.ClientConfig{Region: cfg.Region, Endpoint: cfg.Endpoint})
	}
	var st store.Store = dynamostore.New(api, cfg.Table, dynamostore.Options{})
	if wrap != nil {
		st = wrap(st)
	}
	o.Now = cfg.Now
	o.RequestTTL = cfg.RequestTTL
	o.SpreadWindow = cfg.SpreadWindow
	o.Logger = cfg.Log()
	return ranch.New(st, o), nil
}

// NewHandler builds, once per execution environment, the ranch (NewRanch)
// and the Boskos HTTP handler, behind package auth's Guard when
// credentials are configured: cfg.CredentialsFile, read once here, or
// cfg.CredentialsSecret, read here through
// cfg.CredentialsFetch and again by the first request after each
// cfg.CredentialsTTL (auth.Refresher: one read at a time, the credentials
// in force kept when a read fails or the document is invalid, which is
// logged and counted in the EMF metric CredentialsRefreshFailures). An
// unreadable or invalid source at start is an error: the function must
// not serve without the credentials it was configured with. Metrics are
// CloudWatch Embedded Metric Format lines on cfg.MetricsOut (package
// emf): Acquires and AcquireLatency of every successful acquire, and
// after every request the Conflicts (failed conditional writes) it met.
// GET /metrics serves boskos_resources, computed from the table
// (httpapi's default). It makes no request to DynamoDB: a missing table
// shows up as 500s on the first requests.
func NewHandler(ctx context.Context, cfg Config) (http.Handler, error) {
	log := cfg.Log()
	cfg.Logger = log // one logger for the ranch and the handler
	em := cfg.emitter()
	c := &conflicts{em: em}
	r, err := newRanch(ctx, cfg, ranch.Options{OnAcquire: em.OnAcquire}, c.wrap)
	if err != nil {
		return nil, err
	}
	opts := httpapi.Options{Logger: log, Now: cfg.Now}
	guardOpts := auth.Options{AnonymousMetrics: cfg.AnonymousMetrics, Logger: log, Now: cfg.Now}
	switch env, source := cfg.remoteCredentials(); {
	case cfg.CredentialsFile != "":
		creds, _, err := auth.LoadFile(cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("lambdaapp: %s: %w", EnvCredentialsFile, err)
		}
		opts.Middleware = auth.NewGuard(auth.NewHolder(creds), guardOpts).Wrap
	case env != "":
		if cfg.CredentialsFetch == nil {
			return nil, fmt.Errorf("lambdaapp: %s is set, but this function has no client to read it (lambdaapp.Main's option lambdacreds.Source)", env)
		}
		holder := &auth.Holder{}
		ref := auth.NewRefresher(holder, cfg.CredentialsFetch, auth.RefreshOptions{
			Source: source, TTL: cfg.CredentialsTTL, Now: cfg.Now, Logger: log, OnRefresh: em.OnCredentialsRefresh,
		})
		if err := ref.Load(ctx); err != nil {
			return nil, fmt.Errorf("lambdaapp: %s: %w", env, err)
		}
		guard := auth.NewGuard(holder, guardOpts)
		opts.Middleware = func(h http.Handler) http.Handler { return ref.Wrap(guard.Wrap(h)) }
	}
	return flushing(httpapi.New(r, opts), c), nil
}

// remoteCredentials returns the variable and the description ("secret
// NAME") of the remote credentials source of c, or "", "".
func (c Config) remoteCredentials() (env, source string) {
	if c.CredentialsSecret != "" {
		return EnvCredentialsSecret, "secret " + c.CredentialsSecret
	}
	return "", ""
}
