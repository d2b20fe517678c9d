package boskos

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// Config is the resources file (upstream BoskosConfig), with an optional
// quotas section of its own (upstream has no quotas).
type Config struct {
	Resources []ResourceEntry `json:"resources"`
	// Quotas cap how many resources of a type the owners matching a
	// pattern hold together at once.
	Quotas []QuotaEntry `json:"quotas,omitempty"`
}

// QuotaEntry is one entry of the quotas section: every owner matching
// Owner (an exact name, or a pattern in which '*' matches any run of
// characters, see MatchGlob) together holds at most Max resources of Type
// at once. An owner that matches several entries of a type is held to
// each of them.
type QuotaEntry struct {
	Owner string `json:"owner"`
	Type  string `json:"type"`
	// Max is required (a pointer, so that a missing max is an error and
	// not a quota of 0); 0 lets the owners hold none.
	Max *int `json:"max"`
}

// Quota is a validated quota entry.
type Quota struct {
	Owner string // exact name or pattern
	Type  string
	Max   int64
}

// Matches reports whether the quota counts a resource of rtype held by
// owner.
func (q Quota) Matches(rtype, owner string) bool {
	return q.Type == rtype && MatchGlob(q.Owner, owner)
}

// MaxQuotasPerType bounds the quota entries of one type, so that the
// counters an acquire updates fit in one store transaction beside the
// lease (a transaction holds at most 100 operations).
const MaxQuotasPerType = 16

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
	// CostPerHour is what one resource of the type costs per hour of
	// lease, in any currency: GET /v1/usage multiplies resource-hours by
	// it. Optional; must be finite and >= 0.
	CostPerHour *float64 `json:"cost-per-hour,omitempty"`
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

// MaxFieldLen is the longest type, state, owner, name or request id accepted,
// in bytes (the DNS-1123 subdomain limit, which names already obey).
const MaxFieldLen = 253

// ParseConfig reads a resources file (YAML or JSON). Unknown fields are an
// error. It does not validate: call Validate.
func ParseConfig(data []byte) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, Invalid("parse config: %v", err)
	}
	return &c, nil
}

// LoadConfig reads and parses the resources file at path. It does not
// validate: call Validate.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return c, nil
}

// Validate checks c like upstream's ValidateConfig, with upstream's messages,
// and also rejects duplicate types, negative counts, types or states that
// are too long or hold control characters, and bad quotas (an owner or type
// missing or invalid, a type the resources section does not have, a
// missing or negative max, a duplicate owner and type, more than
// MaxQuotasPerType quotas of one type). All problems are reported in one
// *Error with code EInvalid, aggregated as "[e1, e2]" (a single problem is
// printed bare).
func (c *Config) Validate() error {
	if c == nil || len(c.Resources) == 0 {
		return Invalid("empty config")
	}
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	names := map[string]bool{}
	types := map[string]int{}
	needs := map[string]int{}
	actual := map[string]int{}
	for i, e := range c.Resources {
		if e.Type == "" {
			add(".%d.type: must be set", i)
		} else {
			if err := checkText(e.Type); err != "" {
				add(".%d.type: %s", i, err)
			}
			if j, dup := types[e.Type]; dup {
				add(".%d.type: %q is a duplicate of .%d.type (each type may appear once)", i, e.Type, j)
			} else {
				types[e.Type] = i
			}
		}
		if e.State != "" {
			if err := checkText(e.State); err != "" {
				add(".%d.state: %s", i, err)
			}
		}
		if c := e.CostPerHour; c != nil && (math.IsNaN(*c) || math.IsInf(*c, 0) || *c < 0) {
			add(".%d.cost-per-hour: must be a finite number >=0", i)
		}
		var entryNames []string
		if e.IsDRLC() {
			if e.MaxCount <= 0 {
				add(".%d.max-count: must be >0", i)
			}
			if e.MinCount < 0 {
				add(".%d.min-count: must be >=0", i)
			}
			if e.MinCount > e.MaxCount {
				add(".%d.min-count: must be <= .%d.max-count", i, i)
			}
			if e.LifeSpan != nil && e.LifeSpan.Duration <= 0 {
				add(".%d.lifespan: must be >0", i)
			}
			for t, n := range e.Needs {
				if n < 0 {
					add(".%d.needs.%s: must be >=0", i, t)
				}
				if e.MaxCount > 0 {
					needs[t] += n * e.MaxCount
				}
			}
			// Upstream checks max-count fresh UUIDs here; they are always
			// valid and unique, so only their number matters.
			if e.MaxCount > 0 {
				actual[e.Type] += e.MaxCount
			}
		} else {
			if e.MinCount != 0 {
				add(".%d.min-count must be unset when the names property is set", i)
			}
			if e.MaxCount != 0 {
				add(".%d.max-count must be unset when the names property is set", i)
			}
			entryNames = e.Names
		}
		for j, name := range entryNames {
			if verrs := dns1123Subdomain(name); len(verrs) != 0 {
				add(".%d.names.%d(%s) is invalid: %v", i, j, name, verrs)
			}
			if names[name] {
				add(".%d.names.%d(%s) is a duplicate", i, j, name)
				continue
			}
			names[name] = true
		}
		actual[e.Type] += len(entryNames)
	}
	errs = append(errs, c.validateQuotas(types)...)
	needTypes := make([]string, 0, len(needs))
	for t := range needs {
		needTypes = append(needTypes, t)
	}
	sort.Strings(needTypes)
	for _, t := range needTypes {
		have, ok := actual[t]
		if !ok {
			add("need for resource %s that does not exist", t)
		}
		if needs[t] > have {
			add("not enough resource of type %s for provisioning", t)
		}
	}
	return aggregate(errs)
}

// validateQuotas checks the quotas section against the types of the
// resources section; it returns one message per problem.
func (c *Config) validateQuotas(types map[string]int) []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	seen := map[[2]string]int{}
	perType := map[string]int{}
	for i, q := range c.Quotas {
		if q.Owner == "" {
			add("quotas.%d.owner: must be set (an owner name, or a pattern such as \"ci-*\")", i)
		} else if msg := checkText(q.Owner); msg != "" {
			add("quotas.%d.owner: %s", i, msg)
		}
		switch {
		case q.Type == "":
			add("quotas.%d.type: must be set", i)
		case checkText(q.Type) != "":
			add("quotas.%d.type: %s", i, checkText(q.Type))
		default:
			if _, ok := types[q.Type]; !ok {
				add("quotas.%d.type: %q is not a type of the resources section", i, q.Type)
			}
			perType[q.Type]++
			if perType[q.Type] == MaxQuotasPerType+1 {
				add("quotas: type %q has more than %d quotas", q.Type, MaxQuotasPerType)
			}
		}
		switch {
		case q.Max == nil:
			add("quotas.%d.max: must be set (0 lets the owners hold none)", i)
		case *q.Max < 0:
			add("quotas.%d.max: must be >=0", i)
		}
		if q.Owner != "" && q.Type != "" {
			k := [2]string{q.Owner, q.Type}
			if j, dup := seen[k]; dup {
				add("quotas.%d: owner %q and type %q are a duplicate of quotas.%d", i, q.Owner, q.Type, j)
			} else {
				seen[k] = i
			}
		}
	}
	return errs
}

// QuotaList returns the quotas of c in config order. Entries without a max
// (Validate rejects them) are left out.
func (c *Config) QuotaList() []Quota {
	out := make([]Quota, 0, len(c.Quotas))
	for _, q := range c.Quotas {
		if q.Max == nil {
			continue
		}
		out = append(out, Quota{Owner: q.Owner, Type: q.Type, Max: int64(*q.Max)})
	}
	return out
}

// aggregate prints errors like Kubernetes' utilerrors.Aggregate: nil for
// none, bare for one distinct message, "[e1, e2]" otherwise.
func aggregate(errs []string) error {
	var uniq []string
	seen := map[string]bool{}
	for _, e := range errs {
		if !seen[e] {
			seen[e] = true
			uniq = append(uniq, e)
		}
	}
	switch len(uniq) {
	case 0:
		return nil
	case 1:
		return Invalid("%s", uniq[0])
	}
	return Invalid("[%s]", strings.Join(uniq, ", "))
}

// CostsPerHour returns the cost-per-hour of the types that have one.
func (c *Config) CostsPerHour() map[string]float64 {
	out := map[string]float64{}
	for _, e := range c.Resources {
		if e.CostPerHour != nil {
			out[e.Type] = *e.CostPerHour
		}
	}
	return out
}

// DRLCs returns the dynamic entries of c by type, as the ranch stores them.
// If a type appears twice (Validate rejects that), the last entry wins.
func (c *Config) DRLCs() map[string]DRLC {
	out := map[string]DRLC{}
	for _, e := range c.Resources {
		if !e.IsDRLC() {
			continue
		}
		d := DRLC{Type: e.Type, InitialState: e.State, MinCount: e.MinCount, MaxCount: e.MaxCount,
			Config: e.Config}
		if e.LifeSpan != nil {
			ls := e.LifeSpan.Duration
			d.LifeSpan = &ls
		}
		if len(e.Needs) > 0 {
			d.Needs = make(map[string]int, len(e.Needs))
			for k, v := range e.Needs {
				d.Needs[k] = v
			}
		}
		out[e.Type] = d
	}
	return out
}

// StaticResource is one named resource of the config.
type StaticResource struct {
	Type  string
	Name  string
	State string // initial state, Free when the entry has none
}

// StaticResources returns the named resources of c by name. If a name
// appears twice (Validate rejects that), the last entry wins.
func (c *Config) StaticResources() map[string]StaticResource {
	out := map[string]StaticResource{}
	for _, e := range c.Resources {
		st := e.State
		if st == "" {
			st = Free
		}
		for _, n := range e.Names {
			out[n] = StaticResource{Type: e.Type, Name: n, State: st}
		}
	}
	return out
}

// ValidateField checks one request parameter (kind names it in the message,
// e.g. "type", "owner", "state", "name", "request_id"): it must be set, at
// most MaxFieldLen bytes, valid UTF-8 and free of control characters. The
// error is an *Error with code EInvalid.
func ValidateField(kind, value string) error {
	if value == "" {
		return Invalid("invalid %s: must be set", kind)
	}
	if msg := checkText(value); msg != "" {
		return Invalid("invalid %s: %s", kind, msg)
	}
	return nil
}

// checkText returns why s is not an acceptable type, state, owner, name or
// id, or "" when it is.
func checkText(s string) string {
	if len(s) > MaxFieldLen {
		return fmt.Sprintf("must be no more than %d bytes (got %d)", MaxFieldLen, len(s))
	}
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "must not contain control characters"
		}
	}
	return ""
}

const (
	dns1123LabelFmt          = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
	dns1123SubdomainFmt      = dns1123LabelFmt + "(\\." + dns1123LabelFmt + ")*"
	dns1123SubdomainErrorMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
)

var dns1123SubdomainRegexp = regexp.MustCompile("^" + dns1123SubdomainFmt + "$")

// dns1123Subdomain mirrors k8s.io/apimachinery's IsDNS1123Subdomain, messages
// included.
func dns1123Subdomain(value string) []string {
	var errs []string
	if len(value) > MaxFieldLen {
		errs = append(errs, fmt.Sprintf("must be no more than %d characters", MaxFieldLen))
	}
	if !dns1123SubdomainRegexp.MatchString(value) {
		errs = append(errs, dns1123SubdomainErrorMsg+" (e.g. 'example.com', regex used for validation is '"+dns1123SubdomainFmt+"')")
	}
	return errs
}

// ParseValidConfig parses a resources file and validates it; the error is an
// *Error (EInvalid) listing every problem.
func ParseValidConfig(data []byte) (*Config, error) {
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, Invalid("invalid config: %v", err)
	}
	return cfg, nil
}
