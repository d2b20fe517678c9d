package emf

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every Boskos metric.
const Namespace = "Boskos"

// Dimension names.
const (
	// DimFunction is the function that emitted the metric: its deployed
	// name (AWS_LAMBDA_FUNCTION_NAME), unique per stack.
	DimFunction = "function"
	// DimType is the resource type.
	DimType = "type"
)

// Metric names.
const (
	// Acquires counts successful acquires (Count), by type.
	Acquires = "Acquires"
	// AcquireLatency is how long a client waited for a successful acquire
	// (Milliseconds), by type: since its request_id was first seen, or
	// since the call began (upstream's boskos_acquire_duration_seconds).
	AcquireLatency = "AcquireLatency"
	// Conflicts counts the failed conditional writes of one request or
	// pass (Count): a lease race lost, a version moved under a write.
	Conflicts = "Conflicts"
	// Reaped counts leases the reaper reset (Count), by type.
	Reaped = "Reaped"
	// Quarantined is how many resources of a type the janitor has
	// quarantined (Count, a level: use Maximum), by type.
	Quarantined = "Quarantined"
	// JanitorCleaned counts successful cleanups (Count), by type.
	JanitorCleaned = "JanitorCleaned"
	// JanitorFailed counts failed cleanups (Count), by type.
	JanitorFailed = "JanitorFailed"
	// CredentialsRefreshFailures counts re-reads of the credentials
	// (Secrets Manager) that failed or found an invalid document, so
	// the function kept the credentials it had (Count).
	CredentialsRefreshFailures = "CredentialsRefreshFailures"
)

// Unit is a CloudWatch unit.
type Unit string

// Units the metrics use.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Value is one metric value of a line.
type Value struct {
	Name  string
	Unit  Unit
	Value float64
}

// Options configure an Emitter.
type Options struct {
	// Namespace (default Namespace).
	Namespace string
	// Function is the value of the function dimension.
	Function string
	// Now is the clock of the timestamps (default time.Now).
	Now func() time.Time
}

// Emitter writes EMF lines. It is safe for concurrent use: each line is
// one Write.
type Emitter struct {
	mu sync.Mutex
	w  io.Writer
	o  Options
}

// New returns an Emitter writing to w.
func New(w io.Writer, o Options) *Emitter {
	if o.Namespace == "" {
		o.Namespace = Namespace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Emitter{w: w, o: o}
}

type metricDef struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type envelope struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Emit writes one line with vals for resource type rtype ("" for metrics
// that have no type). A line without values writes nothing. It returns the
// writer's error.
func (e *Emitter) Emit(rtype string, vals ...Value) error {
	if len(vals) == 0 {
		return nil
	}
	line := make(map[string]any, len(vals)+3)
	dims := [][]string{{DimFunction}}
	if rtype != "" {
		dims = [][]string{{DimFunction, DimType}, {DimFunction}}
		line[DimType] = rtype
	}
	line[DimFunction] = e.o.Function
	defs := make([]metricDef, 0, len(vals))
	for _, v := range vals {
		if _, dup := line[v.Name]; dup {
			continue // a name once per line (and never a dimension's)
		}
		defs = append(defs, metricDef{Name: v.Name, Unit: v.Unit})
		line[v.Name] = v.Value
	}
	line["_aws"] = envelope{
		Timestamp:         e.o.Now().UnixMilli(),
		CloudWatchMetrics: []directive{{Namespace: e.o.Namespace, Dimensions: dims, Metrics: defs}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = e.w.Write(b)
	return err
}

// OnAcquire records one successful acquire: Acquires and AcquireLatency of
// rtype. It has the shape of ranch.Options.OnAcquire.
func (e *Emitter) OnAcquire(rtype, _, _ string, _ bool, waited time.Duration) {
	_ = e.Emit(rtype,
		Value{Name: Acquires, Unit: Count, Value: 1},
		Value{Name: AcquireLatency, Unit: Milliseconds, Value: float64(waited.Microseconds()) / 1000})
}

// OnReaped records n leases of rtype reset by the reaper. It has the shape
// of maintenance.ReaperOptions.OnReaped.
func (e *Emitter) OnReaped(rtype string, n int) {
	_ = e.Emit(rtype, Value{Name: Reaped, Unit: Count, Value: float64(n)})
}

// OnQuarantined records that n resources of rtype are quarantined. It has
// the shape of janitor.Options.OnQuarantined.
func (e *Emitter) OnQuarantined(rtype string, n int) {
	_ = e.Emit(rtype, Value{Name: Quarantined, Unit: Count, Value: float64(n)})
}

// OnCleanup records one cleanup of a resource of rtype: JanitorCleaned when
// cleaned, else JanitorFailed.
func (e *Emitter) OnCleanup(rtype string, cleaned bool) {
	name := JanitorFailed
	if cleaned {
		name = JanitorCleaned
	}
	_ = e.Emit(rtype, Value{Name: name, Unit: Count, Value: 1})
}

// OnConflicts records n failed conditional writes; nothing when n is 0.
func (e *Emitter) OnConflicts(n int) {
	if n > 0 {
		_ = e.Emit("", Value{Name: Conflicts, Unit: Count, Value: float64(n)})
	}
}

// OnCredentialsRefresh records a failed re-read of the credentials
// (CredentialsRefreshFailures); nothing when err is nil. It has the shape
// of auth.RefreshOptions.OnRefresh.
func (e *Emitter) OnCredentialsRefresh(err error) {
	if err != nil {
		_ = e.Emit("", Value{Name: CredentialsRefreshFailures, Unit: Count, Value: 1})
	}
}
