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
	// DimStep is the step of Mason's workflow that failed (MasonFailures):
	// a Task state's name in lower case, or "workflow".
	DimStep = "step"
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
	// MasonConstructed counts virtual resources Mason built and made free
	// (Count), by type (boskos_mason_constructed_total{type}).
	MasonConstructed = "MasonConstructed"
	// MasonFailures counts constructions that failed and were released
	// as dirty (Count), by type and step
	// (boskos_mason_failures_total{type,step}).
	MasonFailures = "MasonFailures"
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

// Dim is one dimension's value of a line.
type Dim struct {
	Name, Value string
}

// Emit writes one line with vals for resource type rtype ("" for metrics
// that have no type). A line without values writes nothing. It returns the
// writer's error.
func (e *Emitter) Emit(rtype string, vals ...Value) error {
	if rtype == "" {
		return e.EmitDims(nil, vals...)
	}
	return e.EmitDims([]Dim{{DimType, rtype}}, vals...)
}

// EmitDims writes one line with vals, published with two dimension sets:
// {function, dims...} and {function} (the per-function totals). A line
// without values writes nothing; a dimension named like the function's or
// like an earlier one is dropped. It returns the writer's error.
func (e *Emitter) EmitDims(dims []Dim, vals ...Value) error {
	if len(vals) == 0 {
		return nil
	}
	line := make(map[string]any, len(vals)+len(dims)+2)
	line[DimFunction] = e.o.Function
	full := []string{DimFunction}
	for _, d := range dims {
		if _, dup := line[d.Name]; dup {
			continue
		}
		line[d.Name] = d.Value
		full = append(full, d.Name)
	}
	sets := [][]string{{DimFunction}}
	if len(full) > 1 {
		sets = [][]string{full, {DimFunction}}
	}
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
		CloudWatchMetrics: []directive{{Namespace: e.o.Namespace, Dimensions: sets, Metrics: defs}},
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

// OnMasonConstructed records one virtual resource of rtype built and made
// free (MasonConstructed). With OnMasonFailed it is what core/mason's
// Observer is told (lambdaapp adapts the names).
func (e *Emitter) OnMasonConstructed(rtype string) {
	_ = e.Emit(rtype, Value{Name: MasonConstructed, Unit: Count, Value: 1})
}

// OnMasonFailed records one construction of rtype that failed at step and
// was released as dirty (MasonFailures, by type and step).
func (e *Emitter) OnMasonFailed(rtype, step string) {
	_ = e.EmitDims([]Dim{{DimType, rtype}, {DimStep, step}}, Value{Name: MasonFailures, Unit: Count, Value: 1})
}
