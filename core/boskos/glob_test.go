package boskos_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/boskos-serverless/boskos/core/boskos"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"ci-a-*", "ci-a-1", true},
		{"ci-a-*", "ci-a-", true},
		{"ci-a-*", "ci-b-1", false},
		{"ci-a-*", "xci-a-1", false},
		{"*", "", true},
		{"*", "anything", true},
		{"bot", "bot", true},
		{"bot", "bots", false},
		{"*-bot", "team-x-bot", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"a*a*a", "aaaa", true},
		{"?", "x", false}, // only '*' is special
		{"[a]", "a", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+"~"+tc.s, func(t *testing.T) {
			assert.Equal(t, tc.want, boskos.MatchGlob(tc.pattern, tc.s), "MatchGlob(%q, %q)", tc.pattern, tc.s)
		})
	}
}
