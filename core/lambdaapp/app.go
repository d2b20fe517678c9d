package lambdaapp

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/boskos-serverless/boskos/core/auth"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/metrics"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// NewRanch builds, once per execution environment, the DynamoDB client (or
// uses cfg.Client), the store on cfg.Table and the ranch over it: the part
// that the API functions (NewHandler) and the scheduled jobs (NewJob)
// share. The ranch's Now, RequestTTL, SpreadWindow and Logger come from
// cfg; the other fields of o (OnAcquire) are the caller's. It makes no
// request: a missing table shows up as errors of the first requests.
func NewRanch(ctx context.Context, cfg Config, o ranch.Options) (*ranch.Ranch, error) {
	api := cfg.Client
	if api == nil {
		c, err := dynamostore.NewClient(ctx, dynamostore.ClientConfig{Region: cfg.Region, Endpoint: cfg.Endpoint})
		if err != nil {
			return nil, fmt.Errorf("lambdaapp: %w", err)
		}
		api = c
	}
	st := dynamostore.New(api, cfg.Table, dynamostore.Options{})
	o.Now = cfg.Now
	o.RequestTTL = cfg.RequestTTL
	o.SpreadWindow = cfg.SpreadWindow
	o.Logger = cfg.Log()
	return ranch.New(st, o), nil
}

// NewHandler builds, once per execution environment, the ranch (NewRanch)
// and the Boskos HTTP handler (with its Prometheus registry and the
// acquire-duration observer), behind package auth's Guard when
// cfg.CredentialsFile is set (read once here: an unreadable or invalid file
// is an error). It makes no request: a missing table shows up as 500s on
// the first requests.
func NewHandler(ctx context.Context, cfg Config) (http.Handler, error) {
	log := cfg.Log()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	onAcquire, err := metrics.AcquireObserver(reg)
	if err != nil {
		return nil, fmt.Errorf("lambdaapp: %w", err)
	}
	cfg.Logger = log // one logger for the ranch and the handler
	r, err := NewRanch(ctx, cfg, ranch.Options{OnAcquire: onAcquire})
	if err != nil {
		return nil, err
	}
	opts := httpapi.Options{Logger: log, Registry: reg, Now: cfg.Now}
	if cfg.CredentialsFile != "" {
		creds, _, err := auth.LoadFile(cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("lambdaapp: %s: %w", EnvCredentialsFile, err)
		}
		opts.Middleware = auth.NewGuard(auth.NewHolder(creds), auth.Options{AnonymousMetrics: cfg.AnonymousMetrics, Logger: log, Now: cfg.Now}).Wrap
	}
	return httpapi.New(r, opts), nil
}
