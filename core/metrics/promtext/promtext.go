// Package promtext serves boskos_resources{type,state} in the Prometheus
// text exposition format, computed from the store at every request, without
// linking a Prometheus client library: it is what GET /metrics answers in
// the Lambda functions (core/httpapi's default), where per-container
// histograms would mean nothing. Its counting (Count) is also the one of
// package metrics' Prometheus collector, so both report the same samples.
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

// Lister is what the handler reads: ranch.Ranch satisfies it.
type Lister interface {
	// Resources returns every resource.
	Resources(ctx context.Context) ([]boskos.Resource, error)
}

// Handler serves boskos_resources over l: every request lists the
// resources (within timeout; 0 = 10s) and answers the text format, or 500
// when the listing fails (logged). log may be nil (slog.Default()).
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
		w.Header().Set("Content-Type", ContentType)
		if r.Method == http.MethodHead {
			return
		}
		_ = Write(w, Count(res))
	})
}
