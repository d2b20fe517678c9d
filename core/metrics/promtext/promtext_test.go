package promtext_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/metrics/promtext"
)

type lister struct {
	res    []boskos.Resource
	err    error
	quotas []boskos.QuotaUsage
	qerr   error
}

func (l lister) Resources(context.Context) ([]boskos.Resource, error) { return l.res, l.err }

func (l lister) QuotaUsage(context.Context) ([]boskos.QuotaUsage, error) { return l.quotas, l.qerr }

func TestHandler(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	res := []boskos.Resource{
		{Name: "a", Type: "t", State: boskos.Free},
		{Name: "b", Type: "t", State: boskos.Busy},
		{Name: "c", Type: `q"x\y`, State: "custom"},
	}
	tests := []struct {
		name, method string
		l            lister
		code         int
		contains     []string
		notContains  []string
	}{
		{name: "counts every known state", method: "GET", l: lister{res: res}, code: 200, contains: []string{
			"# TYPE boskos_resources gauge\n",
			"# HELP boskos_resources Number of resources recorded in Boskos by resource type and state.\n",
			`boskos_resources{state="free",type="t"} 1` + "\n",
			`boskos_resources{state="busy",type="t"} 1` + "\n",
			`boskos_resources{state="quarantined",type="t"} 0` + "\n",
			`boskos_resources{state="other",type="q\"x\\y"} 1` + "\n",
		}, notContains: []string{`state="other",type="t"`}},
		{name: "holdings per owner and quotas", method: "GET", l: lister{res: append(res,
			boskos.Resource{Name: "d", Type: "t", State: boskos.Busy, Owner: "ci-a"},
			boskos.Resource{Name: "e", Type: "t", State: boskos.Busy, Owner: "ci-a"},
			boskos.Resource{Name: "f", Type: "u", State: boskos.Busy, Owner: `o"1`}),
			quotas: []boskos.QuotaUsage{{Quota: boskos.Quota{Owner: "ci-*", Type: "t", Max: 3}, Used: 2}}}, code: 200, contains: []string{
			"# TYPE boskos_owner_resources gauge\n",
			`boskos_owner_resources{owner="ci-a",type="t"} 2` + "\n",
			`boskos_owner_resources{owner="o\"1",type="u"} 1` + "\n",
			"# TYPE boskos_quota_max gauge\n",
			`boskos_quota_max{owner="ci-*",type="t"} 3` + "\n",
			"# TYPE boskos_quota_used gauge\n",
			`boskos_quota_used{owner="ci-*",type="t"} 2` + "\n",
		}},
		{name: "no holders, no quotas: only boskos_resources", method: "GET", l: lister{res: res}, code: 200,
			notContains: []string{"boskos_owner_resources", "boskos_quota"}},
		{name: "head has no body", method: "HEAD", l: lister{res: res}, code: 200},
		{name: "listing quotas fails", method: "GET", l: lister{res: res, qerr: errors.New("boom")}, code: 500, notContains: []string{"boskos_resources"}},
		{name: "listing fails", method: "GET", l: lister{err: errors.New("boom")}, code: 500, notContains: []string{"boskos_resources"}},
		{name: "no resources", method: "GET", l: lister{}, code: 200, contains: []string{"# TYPE boskos_resources gauge\n"}, notContains: []string{"boskos_resources{"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			promtext.Handler(tc.l, 0, quiet).ServeHTTP(rec, httptest.NewRequest(tc.method, "/metrics", nil))
			require.Equal(t, tc.code, rec.Code, "got status %d, want %d", rec.Code, tc.code)
			body := rec.Body.String()
			if tc.code == http.StatusOK {
				assert.Equal(t, promtext.ContentType, rec.Header().Get("Content-Type"))
			}
			if tc.method == "HEAD" {
				assert.Empty(t, body)
			}
			for _, want := range tc.contains {
				assert.Contains(t, body, want)
			}
			for _, not := range tc.notContains {
				assert.NotContains(t, body, not)
			}
			if tc.code == 200 && tc.method == "GET" {
				for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
					known := false
					for _, name := range []string{promtext.ResourcesName, promtext.OwnerResourcesName, promtext.QuotaMaxName, promtext.QuotaUsedName} {
						known = known || strings.HasPrefix(line, name+"{")
					}
					assert.True(t, strings.HasPrefix(line, "#") || known, "got line %q", line)
				}
			}
		})
	}
}

func TestCountOwners(t *testing.T) {
	held := func(rtype string, owners ...string) []boskos.Resource {
		var out []boskos.Resource
		for i, o := range owners {
			out = append(out, boskos.Resource{Name: fmt.Sprint(rtype, i), Type: rtype, State: boskos.Busy, Owner: o})
		}
		return out
	}
	// many owners of type t: o-000 holds 2, every other one 1.
	var many []string
	for i := range promtext.MaxOwnersPerType + 5 {
		many = append(many, fmt.Sprintf("o-%03d", i))
	}
	many = append(many, "o-000")
	top := []promtext.OwnerSample{}
	for i := range promtext.MaxOwnersPerType - 1 {
		top = append(top, promtext.OwnerSample{Type: "t", Owner: fmt.Sprintf("o-%03d", i), Count: 1 + boolInt(i == 0)})
	}
	tests := []struct {
		name string
		in   []boskos.Resource
		want []promtext.OwnerSample
	}{
		{name: "unowned resources are left out", in: append(held("t", "a", "b", "a"), boskos.Resource{Type: "t", State: boskos.Free}),
			want: []promtext.OwnerSample{{Type: "t", Owner: "a", Count: 2}, {Type: "t", Owner: "b", Count: 1}}},
		{name: "types apart, sorted", in: append(held("u", "a"), held("t", "a")...),
			want: []promtext.OwnerSample{{Type: "t", Owner: "a", Count: 1}, {Type: "u", Owner: "a", Count: 1}}},
		{name: "beyond the cap, the smallest holders are summed as other", in: held("t", many...),
			want: append(append(top, promtext.OwnerSample{Type: "t", Owner: fmt.Sprintf("o-%03d", promtext.MaxOwnersPerType-1), Count: 1}),
				promtext.OwnerSample{Type: "t", Owner: "other", Count: 5})},
		{name: "an owner named other shares the sum", in: held("t", append(many[1:], "other", "other")...),
			want: func() []promtext.OwnerSample {
				var out []promtext.OwnerSample
				// o-000 .. o-048 keep a series (o-000 holds 1 now), other holds
				// 2 and gets the rest.
				for i := range promtext.MaxOwnersPerType - 1 {
					out = append(out, promtext.OwnerSample{Type: "t", Owner: fmt.Sprintf("o-%03d", i), Count: 1})
				}
				return append(out, promtext.OwnerSample{Type: "t", Owner: "other", Count: 2 + 6})
			}()},
		{name: "none held", in: []boskos.Resource{{Type: "t", State: boskos.Free}}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := promtext.CountOwners(tc.in)
			assert.Equal(t, tc.want, got)
			assert.LessOrEqual(t, len(got), promtext.MaxOwnersPerType+1, "series per type")
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
