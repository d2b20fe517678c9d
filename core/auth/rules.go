package auth

import (
	"fmt"
	"strings"
)

// Rule is what a path asks of the caller.
type Rule struct {
	// Open paths need no credentials at all (health probes).
	Open bool
	// Role is the least role that may call the path.
	Role Role
	// Owner means the request's owner query parameter must be one the
	// principal may act as (when the parameter is set: without it the
	// handler answers 400 and changes nothing).
	Owner bool
	// Read marks the metric reads that Options.AnonymousMetrics opens to
	// callers without credentials.
	Read bool
}

// rules are the rules of the API's paths. Any other path (upstream's
// catch-all, and operator endpoints that have no rule yet) needs an admin:
// a new endpoint is closed until it is given a rule here.
var rules = map[string]Rule{
	"/healthz":        {Open: true},
	"/healthz/ready":  {Open: true},
	"/acquire":        {Role: RoleClient, Owner: true},
	"/update":         {Role: RoleClient, Owner: true},
	"/release":        {Role: RoleClient, Owner: true},
	"/metric":         {Role: RoleClient, Read: true},
	"/metrics":        {Role: RoleClient, Read: true},
	"/acquirebystate": {Role: RoleMaintainer, Owner: true},
	"/reset":          {Role: RoleMaintainer},
	// The history reads need any valid credentials (they show owners and
	// request ids; no anonymous access).
	"/v1/history": {Role: RoleClient},
	"/v1/usage":   {Role: RoleClient},
}

// resourceHistoryRule is the rule of /v1/resources/{name}/history.
var resourceHistoryRule = Rule{Role: RoleClient}

// otherPaths is the rule of paths without one of their own.
var otherPaths = Rule{Role: RoleAdmin}

// RuleFor returns the rule of path.
func RuleFor(path string) Rule {
	if r, ok := rules[path]; ok {
		return r
	}
	if name, ok := strings.CutPrefix(path, "/v1/resources/"); ok {
		if name, ok = strings.CutSuffix(name, "/history"); ok && name != "" && !strings.Contains(name, "/") {
			return resourceHistoryRule
		}
	}
	return otherPaths
}

// Denied is why an authenticated principal may not make a request (a 403).
type Denied struct {
	Principal string
	Path      string
	// Owner is set when the principal may not act as it; otherwise the
	// principal lacks NeedRole.
	Owner    string
	HasRole  Role
	NeedRole Role
}

func (d *Denied) Error() string {
	if d.Owner != "" {
		return fmt.Sprintf("principal %q may not act as owner %q", d.Principal, d.Owner)
	}
	return fmt.Sprintf("principal %q (role %s) may not call %s: it needs role %s", d.Principal, d.HasRole, d.Path, d.NeedRole)
}

// Authorize decides whether p may call path with the given owner parameter
// ("" when the request has none): nil, or a *Denied.
func Authorize(p *Principal, path, owner string) error {
	rule := RuleFor(path)
	if rule.Open {
		return nil
	}
	if !p.Role.Allows(rule.Role) {
		return &Denied{Principal: p.Name, Path: path, HasRole: p.Role, NeedRole: rule.Role}
	}
	if rule.Owner && owner != "" && !p.MayActAs(owner) {
		return &Denied{Principal: p.Name, Path: path, Owner: owner, HasRole: p.Role}
	}
	return nil
}
