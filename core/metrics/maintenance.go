package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Names of the maintenance metrics.
const (
	ReapedName         = "boskos_reaped_total"
	QuarantinedName    = "boskos_quarantined"
	JanitorCleanedName = "boskos_janitor_cleaned_total"
	JanitorFailedName  = "boskos_janitor_failures_total"
)

// Maintenance records what the scheduled jobs do: boskos_reaped_total{type},
// boskos_quarantined{type}, boskos_janitor_cleaned_total{type} and
// boskos_janitor_failures_total{type}. Its methods have the shapes of the
// jobs' hooks.
type Maintenance struct {
	reaped      *prometheus.CounterVec
	quarantined *prometheus.GaugeVec
	cleaned     *prometheus.CounterVec
	failed      *prometheus.CounterVec
}

// NewMaintenance registers the maintenance metrics on reg (sharing them when
// registered already). It fails only when reg holds a different metric of
// one of their names.
func NewMaintenance(reg prometheus.Registerer) (*Maintenance, error) {
	var m Maintenance
	var err error
	if m.reaped, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: ReapedName, Help: "Leases reset by the reaper because they were not updated within the expiry, by resource type.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	if m.quarantined, err = register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: QuarantinedName, Help: "Resources the janitor quarantined after repeated cleanup failures, by resource type.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	if m.cleaned, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: JanitorCleanedName, Help: "Resources the janitor cleaned and released free, by resource type.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	if m.failed, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: JanitorFailedName, Help: "Failed cleanups, by resource type.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	return &m, nil
}

// Reaped adds n to boskos_reaped_total{type}.
func (m *Maintenance) Reaped(rtype string, n int) { m.reaped.WithLabelValues(rtype).Add(float64(n)) }

// Quarantined sets boskos_quarantined{type} to n.
func (m *Maintenance) Quarantined(rtype string, n int) {
	m.quarantined.WithLabelValues(rtype).Set(float64(n))
}

// Cleaned counts one successful cleanup of a resource of rtype.
func (m *Maintenance) Cleaned(rtype string) { m.cleaned.WithLabelValues(rtype).Inc() }

// Failed counts one failed cleanup of a resource of rtype.
func (m *Maintenance) Failed(rtype string) { m.failed.WithLabelValues(rtype).Inc() }

// Names of Mason's metrics.
const (
	MasonConstructedName = "boskos_mason_constructed_total"
	MasonFailedName      = "boskos_mason_failures_total"
)

// Mason records what Mason's constructions do:
// boskos_mason_constructed_total{type} and
// boskos_mason_failures_total{type,step}. It is a core/mason.Observer.
type Mason struct {
	constructed *prometheus.CounterVec
	failed      *prometheus.CounterVec
}

// NewMason registers Mason's metrics on reg (sharing them when registered
// already).
func NewMason(reg prometheus.Registerer) (*Mason, error) {
	var m Mason
	var err error
	if m.constructed, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MasonConstructedName, Help: "Virtual resources Mason constructed and released free, by resource type.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	if m.failed, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MasonFailedName, Help: "Failed constructions of virtual resources (released as dirty), by resource type and the step that failed.",
	}, []string{"type", "step"})); err != nil {
		return nil, err
	}
	return &m, nil
}

// Constructed counts one virtual resource of rtype made free.
func (m *Mason) Constructed(rtype string) { m.constructed.WithLabelValues(rtype).Inc() }

// Failed counts one failed construction of rtype at step.
func (m *Mason) Failed(rtype, step string) { m.failed.WithLabelValues(rtype, step).Inc() }
