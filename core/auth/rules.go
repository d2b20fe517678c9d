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
	"/ui":             readRule,
}

// readRule is the rule of the read API (/v1/...) and of the dashboard
// (/ui/...): any authenticated principal may read. The dashboard's files
// hold no data, but asking for credentials when the page loads is what
// makes the browser prompt once and send them with the page's API calls.
var readRule = Rule{Role: RoleClient}

// prefixRules are the rules of every path under a prefix that has no rule
// of its own in rules.
var prefixRules = []struct {
	prefix string
	rule   Rule
}{
	{"/v1/", readRule},
	{"/ui/", readRule},
}

// otherPaths is the rule of paths without one of their own.
var otherPaths = Rule{Role: RoleAdmin}

// RuleFor returns the rule of path: its own, else that of the first prefix
// of prefixRules it has, else otherPaths.
func RuleFor(path string) Rule {
	if r, ok := rules[path]; ok {
		return r
	}
	for _, p := range prefixRules {
		if strings.HasPrefix(path, p.prefix) {
			return p.rule
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
