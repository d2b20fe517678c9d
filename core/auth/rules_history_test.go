package auth

import "testing"

// TestHistoryRules: the history reads need a principal of any role, never
// none (they show owners), and no other /v1 path is opened by them.
func TestHistoryRules(t *testing.T) {
	tests := []struct {
		path string
		want Rule
	}{
		{"/v1/history", Rule{Role: RoleClient}},
		{"/v1/usage", Rule{Role: RoleClient}},
		{"/v1/resources/p-1/history", Rule{Role: RoleClient}},
		{"/v1/resources//history", otherPaths},
		{"/v1/resources/a/b/history", otherPaths},
		{"/v1/resources/p-1/historyx", otherPaths},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if got := RuleFor(tc.path); got != tc.want {
				t.Errorf("RuleFor(%q) = %+v, want %+v", tc.path, got, tc.want)
			}
		})
	}
}
