// Package promtext serves boskos_resources{type,state}, the holdings per
// owner (boskos_owner_resources{type,owner}) and the quotas
// (boskos_quota_max and boskos_quota_used{type,owner}) in the Prometheus
// text exposition format, computed from the store at every request, without
// linking a Prometheus client library: it is what GET /metrics answers in
// the Lambda functions (core/httpapi's default), where per-container
// histograms would mean nothing. Its counting (Count, CountOwners) is also
// the one of package metrics' Prometheus collector, so both report the same
// samples.
//
// It imports only the standard library and core/boskos.
package promtext

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// ResourcesName is the metric's name, as upstream.
const ResourcesName = "boskos_resources"

// ResourcesHelp is its help text, as upstream.
const ResourcesHelp = "Number of resources recorded in Boskos by resource type and state."

// The holdings and quota gauges (not in upstream).
const (
	OwnerResourcesName = "boskos_owner_resources"
	QuotaMaxName       = "boskos_quota_max"
	QuotaMaxHelp       = "How many resources of the type the owners matching owner (a name or a pattern) may hold together, by quota of the config in force."
	QuotaUsedName      = "boskos_quota_used"
	QuotaUsedHelp      = "How many resources of the type count against the quota of the owners matching owner (a name or a pattern)."
)

// MaxOwnersPerType bounds the owner label values of boskos_owner_resources
// per type, so that client-chosen owner names cannot grow the series
// without bound: the largest holders (ties by name) get a series each, the
// others are summed under owner="other".
const MaxOwnersPerType = 50

// OtherOwners is the owner label value of the holders beyond
// MaxOwnersPerType (an owner named so shares its series).
const OtherOwners = boskos.Other

// OwnerResourcesHelp is the help text of boskos_owner_resources.
var OwnerResourcesHelp = fmt.Sprintf("Number of resources held, by resource type and owner: the %d largest holders of each type, the others summed as owner %s.", MaxOwnersPerType, OtherOwners)

// ContentType is the text exposition format's content type.
// (with the escaping parameter the Prometheus Go client sends).
const ContentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

// Sample is one value of boskos_resources.
type Sample struct {
	Type, State string
	Count       int
}

// Count computes boskos_resources from a list of resources: for every type
// present, one sample per boskos.KnownStates state (0 when none) plus an
// "other" sample when some resource is in an unknown state. Samples are
// sorted by type, then state.
func Count(res []boskos.Resource) []Sample {
	known := make(map[string]bool, len(boskos.KnownStates))
	for _, s := range boskos.KnownStates {
		known[s] = true
	}
	counts := map[string]map[string]int{}
	for _, r := range res {
		m := counts[r.Type]
		if m == nil {
			m = make(map[string]int, len(boskos.KnownStates)+1)
			for _, s := range boskos.KnownStates {
				m[s] = 0
			}
			counts[r.Type] = m
		}
		st := r.State
		if !known[st] {
			st = boskos.Other
		}
		m[st]++
	}
	out := make([]Sample, 0, len(counts)*(len(boskos.KnownStates)+1))
	for t, m := range counts {
		for s, n := range m {
			out = append(out, Sample{Type: t, State: s, Count: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].State < out[j].State
	})
	return out
}

// OwnerSample is one value of boskos_owner_resources.
type OwnerSample struct {
	Type, Owner string
	Count       int
}

// CountOwners computes boskos_owner_resources from a list of resources: for
// every type, one sample per owner holding some (unowned resources are
// boskos_resources' business), at most MaxOwnersPerType of them plus one
// OtherOwners sample summing the rest. Samples are sorted by type, then
// owner.
func CountOwners(res []boskos.Resource) []OwnerSample {
	counts := map[string]map[string]int{}
	for _, r := range res {
		if r.Owner == "" {
			continue
		}
		m := counts[r.Type]
		if m == nil {
			m = map[string]int{}
			counts[r.Type] = m
		}
		m[r.Owner]++
	}
	var out []OwnerSample
	for t, m := range counts {
		owners := make([]OwnerSample, 0, len(m))
		for o, n := range m {
			owners = append(owners, OwnerSample{Type: t, Owner: o, Count: n})
		}
		if len(owners) > MaxOwnersPerType {
			sort.Slice(owners, func(i, j int) bool {
				if owners[i].Count != owners[j].Count {
					return owners[i].Count > owners[j].Count
				}
				return owners[i].Owner < owners[j].Owner
			})
			rest := 0
			for _, o := range owners[MaxOwnersPerType:] {
				rest += o.Count
			}
			owners = owners[:MaxOwnersPerType]
			merged := false
			for i := range owners {
				if owners[i].Owner == OtherOwners {
					owners[i].Count += rest
					merged = true
				}
			}
			if !merged {
				owners = append(owners, OwnerSample{Type: t, Owner: OtherOwners, Count: rest})
			}
		}
		out = append(out, owners...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Owner < out[j].Owner
	})
	return out
}

// labelValue escapes a label value as the text format wants (backslash,
// double quote, newline).
var labelValue = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// Write writes the samples as the boskos_resources gauge as the Prometheus
// Go client does: labels in name order (state, type), samples sorted by
// state, then type.
func Write(w io.Writer, samples []Sample) error {
	samples = slices.Clone(samples)
	sort.SliceStable(samples, func(i, j int) bool {
		if samples[i].State != samples[j].State {
			return samples[i].State < samples[j].State
		}
		return samples[i].Type < samples[j].Type
	})
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", ResourcesName, ResourcesHelp, ResourcesName)
	for _, s := range samples {
		fmt.Fprintf(&b, "%s{state=\"%s\",type=\"%s\"} %d\n", ResourcesName, labelValue.Replace(s.State), labelValue.Replace(s.Type), s.Count)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteOwners writes the samples as the boskos_owner_resources gauge, as
// the Prometheus Go client does (labels in name order: owner, type; sorted
// by owner, then type); nothing when there are none.
func WriteOwners(w io.Writer, samples []OwnerSample) error {
	samples = slices.Clone(samples)
	sort.SliceStable(samples, func(i, j int) bool {
		if samples[i].Owner != samples[j].Owner {
			return samples[i].Owner < samples[j].Owner
		}
		return samples[i].Type < samples[j].Type
	})
	var b strings.Builder
	if len(samples) > 0 {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", OwnerResourcesName, OwnerResourcesHelp, OwnerResourcesName)
	}
	for _, s := range samples {
		fmt.Fprintf(&b, "%s{owner=\"%s\",type=\"%s\"} %d\n", OwnerResourcesName, labelValue.Replace(s.Owner), labelValue.Replace(s.Type), s.Count)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteQuotas writes the boskos_quota_max and boskos_quota_used gauges of
// the quotas (labels owner, type; sorted by owner, then type); nothing when
// there are none.
func WriteQuotas(w io.Writer, quotas []boskos.QuotaUsage) error {
	quotas = slices.Clone(quotas)
	sort.SliceStable(quotas, func(i, j int) bool {
		if quotas[i].Owner != quotas[j].Owner {
			return quotas[i].Owner < quotas[j].Owner
		}
		return quotas[i].Type < quotas[j].Type
	})
	var b strings.Builder
	for _, f := range []struct {
		name, help string
		value      func(boskos.QuotaUsage) int64
	}{
		{QuotaMaxName, QuotaMaxHelp, func(q boskos.QuotaUsage) int64 { return q.Max }},
		{QuotaUsedName, QuotaUsedHelp, func(q boskos.QuotaUsage) int64 { return q.Used }},
	} {
		if len(quotas) == 0 {
			break
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", f.name, f.help, f.name)
		for _, q := range quotas {
			fmt.Fprintf(&b, "%s{owner=\"%s\",type=\"%s\"} %d\n", f.name, labelValue.Replace(q.Owner), labelValue.Replace(q.Type), f.value(q))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Lister is what the handler reads: ranch.Ranch satisfies it.
type Lister interface {
	// Resources returns every resource.
	Resources(ctx context.Context) ([]boskos.Resource, error)
	// QuotaUsage returns the quotas in force with what each counts.
	QuotaUsage(ctx context.Context) ([]boskos.QuotaUsage, error)
}

// Handler serves boskos_resources, boskos_owner_resources and the quota
// gauges over l: every request lists the resources and the quotas (within
// timeout; 0 = 10s) and answers the text format, or 500 when a listing
// fails (logged). log may be nil (slog.Default()).
func Handler(l Lister, timeout time.Duration, log *slog.Logger) http.Handler {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		res, err := l.Resources(ctx)
		if err != nil {
			log.Error("promtext: listing resources failed", "err", err)
			http.Error(w, "listing resources failed", http.StatusInternalServerError)
			return
		}
		quotas, err := l.QuotaUsage(ctx)
		if err != nil {
			log.Error("promtext: listing quotas failed", "err", err)
			http.Error(w, "listing quotas failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		if r.Method == http.MethodHead {
			return
		}
		_ = Write(w, Count(res))
		_ = WriteOwners(w, CountOwners(res))
		_ = WriteQuotas(w, quotas)
	})
}
