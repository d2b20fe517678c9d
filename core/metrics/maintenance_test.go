package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestMaintenanceMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMaintenance(reg)
	require.NoError(t, err)
	again, err := NewMaintenance(reg)
	require.NoError(t, err, "a second registration shares the metrics")
	m.Reaped("proj", 2)
	again.Reaped("proj", 1)
	m.Quarantined("acct", 3)
	m.Quarantined("acct", 1)
	m.Cleaned("acct")
	m.Failed("acct")
	m.Failed("acct")
	want := `
# HELP boskos_janitor_cleaned_total Resources the janitor cleaned and released free, by resource type.
# TYPE boskos_janitor_cleaned_total counter
boskos_janitor_cleaned_total{type="acct"} 1
# HELP boskos_janitor_failures_total Failed cleanups, by resource type.
# TYPE boskos_janitor_failures_total counter
boskos_janitor_failures_total{type="acct"} 2
# HELP boskos_quarantined Resources the janitor quarantined after repeated cleanup failures, by resource type.
# TYPE boskos_quarantined gauge
boskos_quarantined{type="acct"} 1
# HELP boskos_reaped_total Leases reset by the reaper because they were not updated within the expiry, by resource type.
# TYPE boskos_reaped_total counter
boskos_reaped_total{type="proj"} 3
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		ReapedName, QuarantinedName, JanitorCleanedName, JanitorFailedName))
}

func TestMaintenanceMetricsNameClash(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: ReapedName, Help: "x"}))
	_, err := NewMaintenance(reg)
	require.Error(t, err)
}
