package boskos

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// ParseLeasedResources reads the LeasedResources user data value: upstream
// writes it as a YAML list of names ("- a\n- b\n"); a JSON list is YAML too.
// An empty value is no names.
func ParseLeasedResources(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var names []string
	if err := yaml.UnmarshalStrict([]byte(s), &names); err != nil {
		return nil, Invalid("invalid %s: want a YAML list of names: %v", LeasedResources, err)
	}
	for i, n := range names {
		if n == "" {
			return nil, Invalid("invalid %s: name %d is empty", LeasedResources, i)
		}
	}
	return names, nil
}

// FormatLeasedResources writes names as upstream's Mason does: a YAML list.
func FormatLeasedResources(names []string) (string, error) {
	if len(names) == 0 {
		return "", nil
	}
	b, err := yaml.Marshal(names)
	if err != nil {
		return "", fmt.Errorf("format %s: %w", LeasedResources, err)
	}
	return string(b), nil
}
