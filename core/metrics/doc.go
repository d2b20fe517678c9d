// Package metrics holds the Prometheus metrics of the Boskos API, with the
// names, labels and buckets of upstream Boskos:
//
//   - boskos_resources{type,state}: a gauge computed at scrape time from every
//     resource (ResourcesCollector). Every type with at least one resource
//     reports every state of boskos.KnownStates (0 by default); any other
//     state is counted under state="other".
//   - boskos_owner_resources{type,owner}: resources held, per type and
//     owner, from the same listing (not in upstream). Owner names are the
//     clients' choice, so per type only the promtext.MaxOwnersPerType (50)
//     largest holders get a series of their own; the rest are summed under
//     owner="other". Only current holders appear: the series of an owner
//     that holds nothing disappears.
//   - boskos_quota_max{type,owner} and boskos_quota_used{type,owner}: each
//     quota of the config in force (owner is its name or pattern, as in
//     the config, so the series are bounded by the config) with its max and
//     the resources counted against it (not in upstream).
//   - boskos_acquire_duration_seconds{type,state,dest,has_request_id}: a
//     histogram of how long a client waited for a successful acquire,
//     observed through ranch.Options.OnAcquire (AcquireObserver).
//   - boskos_http_request_duration_seconds{path,method,status}: a histogram of
//     API request latency (HTTP). Unlike upstream (prow's instrumentation)
//     it has no user_agent label: a client-chosen header would give the
//     metric unbounded cardinality. For the same reason path is reduced to
//     one of the six API endpoints or "unmatched", and method to the
//     standard methods or "other".
//
// Wiring, in a main:
//
//	reg := prometheus.NewRegistry()
//	onAcquire, err := metrics.AcquireObserver(reg)
//	// handle err
//	r := ranch.New(st, ranch.Options{OnAcquire: onAcquire})
//	m := metrics.NewAPI(reg, reg, r, log)
//	h := httpapi.New(r, httpapi.Options{Metrics: m.Handler, ObserveRequest: m.Observe})
//
// NewAPI registers the resources collector and the HTTP histogram on the
// same registry and serves it at /metrics. The Lambda functions link no
// Prometheus library: they serve boskos_resources alone (package promtext,
// httpapi's default) and emit CloudWatch Embedded Metric Format lines
// (package emf).
package metrics
