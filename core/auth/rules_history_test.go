package auth

import "testing"

// TestHistoryRules: the history reads need a principal of any role, never
// none (they show owners); every /v1 path is a read (readRule: the
// handler answers 404 to one that does not exist).
func TestHistoryRules(t *testing.T) {
	tests := []struct {
		path string
		want Rule
	}{
		{"/v1/history", Rule{Role: RoleClient}},
		{"/v1/usage", Rule{Role: RoleClient}},
		{"/v1/resources/p-1/history", Rule{Role: RoleClient}},
		{"/v1/resources//history", readRule},
		{"/v1/resources/a/b/history", readRule},
		{"/v1/resources/p-1/historyx", readRule},
		{"/v2/resources/p-1/history", otherPaths},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if got := RuleFor(tc.path); got != tc.want {
				t.Errorf("RuleFor(%q) = %+v, want %+v", tc.path, got, tc.want)
			}
		})
	}
}
