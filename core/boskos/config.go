package boskos

import (
	"encoding/json"
	"fmt"
	"time"
)

// Config is the resources file (upstream BoskosConfig).
type Config struct {
	Resources []ResourceEntry `json:"resources"`
}

// ResourceEntry is one entry of the config. With names it is static; without
// names it describes a dynamic resource life cycle (DRLC).
type ResourceEntry struct {
	Type     string         `json:"type"`
	State    string         `json:"state,omitempty"`
	Names    []string       `json:"names,omitempty"`
	MinCount int            `json:"min-count,omitempty"`
	MaxCount int            `json:"max-count,omitempty"`
	LifeSpan *Duration      `json:"lifespan,omitempty"`
	Config   ConfigType     `json:"config,omitempty"`
	Needs    map[string]int `json:"needs,omitempty"`
}

// IsDRLC reports whether the entry is dynamic (has no names).
func (e ResourceEntry) IsDRLC() bool { return len(e.Names) == 0 }

// ConfigType is the Mason implementation id and its opaque content.
type ConfigType struct {
	Type    string `json:"type,omitempty"`
	Content string `json:"content,omitempty"`
}

// Duration is a time.Duration that reads from "48h" or integer nanoseconds
// and writes as a string.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "48h"-style strings or integer nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case float64:
		d.Duration = time.Duration(x)
	case string:
		p, err := time.ParseDuration(x)
		if err != nil {
			return err
		}
		d.Duration = p
	default:
		return fmt.Errorf("invalid duration %s", b)
	}
	return nil
}

// DRLC is a dynamic resource life cycle as the ranch stores it.
type DRLC struct {
	Type         string         `json:"type"`
	InitialState string         `json:"state"`
	MinCount     int            `json:"min-count"`
	MaxCount     int            `json:"max-count"`
	LifeSpan     *time.Duration `json:"lifespan,omitempty"`
	Config       ConfigType     `json:"config"`
	Needs        map[string]int `json:"needs,omitempty"`
}
