// Package emf writes metrics in CloudWatch Embedded Metric Format (EMF): one
// JSON object per line on a writer (a Lambda function's stdout), which
// CloudWatch Logs turns into CloudWatch metrics without an agent, an API
// call or a metrics library linked into the function.
//
// Each line carries the _aws envelope (Timestamp in milliseconds and one
// CloudWatchMetrics directive: Namespace, the dimension sets, and each
// metric's name and unit), the dimension values and the metric values as
// top-level members:
//
//	{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"Boskos",
//	  "Dimensions":[["function","type"],["function"]],
//	  "Metrics":[{"Name":"Acquires","Unit":"Count"},{"Name":"AcquireLatency","Unit":"Milliseconds"}]}]},
//	 "function":"boskos-dev-acquire","type":"gce-project","Acquires":1,"AcquireLatency":12.5}
//
// Metrics of a resource type are published with the dimensions {function,
// type} and {function} (the per-function totals that alarms and the
// dashboard use); metrics without a type (Conflicts) with {function} only;
// MasonFailures with {function, type, step} and {function}.
// The names (Namespace, the metric and dimension names) are constants here,
// which the CDK app (infra/) imports for its dashboard and alarms.
//
// The Emitter's hook methods have the shapes of ranch.Options.OnAcquire,
// maintenance.ReaperOptions.OnReaped and janitor.Options.OnQuarantined, so
// a main wires them directly; OnMasonConstructed and OnMasonFailed are
// core/mason's Observer under other names. The package imports only the
// standard library.
package emf
