package lambdaapp

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/metrics"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// NewHandler builds, once per execution environment, the DynamoDB client,
// the store on cfg.Table, the ranch and the Boskos HTTP handler (with its
// Prometheus registry and the acquire-duration observer). It makes no
// request: a missing table shows up as 500s on the first requests.
func NewHandler(ctx context.Context, cfg Config) (http.Handler, error) {
	log := cfg.Log()
	api := cfg.Client
	if api == nil {
		c, err := dynamostore.NewClient(ctx, dynamostore.ClientConfig{Region: cfg.Region, Endpoint: cfg.Endpoint})
		if err != nil {
			return nil, fmt.Errorf("lambdaapp: %w", err)
		}
		api = c
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	onAcquire, err := metrics.AcquireObserver(reg)
	if err != nil {
		return nil, fmt.Errorf("lambdaapp: %w", err)
	}
	st := dynamostore.New(api, cfg.Table, dynamostore.Options{})
	r := ranch.New(st, ranch.Options{
		Now:          cfg.Now,
		RequestTTL:   cfg.RequestTTL,
		SpreadWindow: cfg.SpreadWindow,
		OnAcquire:    onAcquire,
		Logger:       log,
	})
	return httpapi.New(r, httpapi.Options{Logger: log, Registry: reg, Now: cfg.Now}), nil
}
