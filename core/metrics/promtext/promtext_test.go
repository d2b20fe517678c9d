package promtext_test

import (
	"context"
	"errors"
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
	res []boskos.Resource
	err error
}

func (l lister) Resources(context.Context) ([]boskos.Resource, error) { return l.res, l.err }

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
		{name: "head has no body", method: "HEAD", l: lister{res: res}, code: 200},
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
					assert.True(t, strings.HasPrefix(line, "#") || strings.HasPrefix(line, "boskos_resources{"), "got line %q", line)
				}
			}
		})
	}
}
