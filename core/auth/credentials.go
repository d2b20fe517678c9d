package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/crypto/bcrypt"

	"github.com/boskos-serverless/boskos/core/boskos"
	"sigs.k8s.io/yaml"
)

// Role is what a principal may do besides acting as its owners.
type Role string

// The roles, each allowed everything the previous one is.
const (
	// RoleClient may acquire, update and release as its owners and read
	// /metric and /metrics.
	RoleClient Role = "client"
	// RoleMaintainer may also call /reset and /acquirebystate (what
	// reapers, janitors and Mason need).
	RoleMaintainer Role = "maintainer"
	// RoleAdmin may do everything, as any owner, on any path.
	RoleAdmin Role = "admin"
)

// rank orders the roles; 0 is not a role.
func (r Role) rank() int {
	switch r {
	case RoleClient:
		return 1
	case RoleMaintainer:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Allows reports whether r includes everything need allows.
func (r Role) Allows(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// Principal is one entry of the credentials file: who may call, with what
// password, as which owners, in which role.
type Principal struct {
	// Name is the HTTP Basic username (and, for a principal with IAM
	// only, the name refusals and logs give it).
	Name string `json:"name"`
	// PasswordHash is the bcrypt hash of the password ("$2a$..." or
	// "$2b$..."); the password itself is never stored. A principal
	// without one cannot authenticate with HTTP Basic.
	PasswordHash string `json:"password_hash,omitempty"`
	// IAM is the ARN of an AWS IAM principal (a user or a role) that API
	// Gateway's IAM authorization identifies as the caller; see
	// Credentials.LookupIAM for how it matches. A principal needs
	// PasswordHash or IAM (or both).
	IAM string `json:"iam,omitempty"`
	// Owners are the owner names the principal may act as: exact names,
	// or globs in which '*' matches any run of characters ("ci-*", or
	// "*" for every owner). An admin may act as any owner and needs none.
	Owners []string `json:"owners,omitempty"`
	// Role is client, maintainer or admin.
	Role Role `json:"role"`
}

// MayActAs reports whether p may send owner: p is an admin, or one of its
// owner patterns matches owner.
func (p *Principal) MayActAs(owner string) bool {
	if p.Role == RoleAdmin {
		return true
	}
	for _, pat := range p.Owners {
		if boskos.MatchGlob(pat, owner) {
			return true
		}
	}
	return false
}

// File is the YAML document of a credentials file:
//
//	principals:
//	- name: ci
//	  password_hash: $2a$10$...
//	  owners: [ci-*, bot]
//	  role: client
//	- name: ci-runner
//	  iam: arn:aws:iam::123456789012:role/ci-runner
//	  owners: [ci-*]
//	  role: client
type File struct {
	Principals []Principal `json:"principals"`
}

// Credentials is a validated credentials file, ready for lookups. It is
// immutable; a reload builds a new one.
type Credentials struct {
	file   File
	byName map[string]*Principal
	// byIAM holds the principals with an IAM ARN: by the ARN, and role
	// ARNs also by the roleKey of their sessions.
	byIAM map[string]*Principal
	// basic: some principal has a password hash.
	basic bool
}

// Lookup returns the principal called name, or nil.
func (c *Credentials) Lookup(name string) *Principal {
	if c == nil {
		return nil
	}
	return c.byName[name]
}

// LookupIAM returns the principal of the IAM caller arn (API Gateway's
// requestContext.authorizer.iam.userArn), or nil. A principal's iam ARN
// matches the caller with exactly that ARN (an IAM user, or a role as
// given); a role ARN (arn:aws:iam::ACCOUNT:role/[PATH/]NAME) also matches
// every session of the role, arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION,
// which is how a caller that assumed the role (a CI job, a Lambda
// function, an EC2 instance) is identified.
func (c *Credentials) LookupIAM(arn string) *Principal {
	if c == nil || arn == "" {
		return nil
	}
	if p := c.byIAM[arn]; p != nil {
		return p
	}
	if k, ok := sessionRoleKey(arn); ok {
		return c.byIAM[k]
	}
	return nil
}

// HasBasic reports whether some principal can authenticate with HTTP
// Basic (has a password hash).
func (c *Credentials) HasBasic() bool { return c != nil && c.basic }

// roleKey is the key under which a role's sessions find it: its
// partition, account and name (a session's ARN has no path).
func roleKey(partition, account, name string) string {
	return "role-session:" + partition + ":" + account + ":" + name
}

// sessionRoleKey returns the roleKey of an assumed-role session ARN
// (arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION).
func sessionRoleKey(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sts" {
		return "", false
	}
	res, ok := strings.CutPrefix(parts[5], "assumed-role/")
	if !ok {
		return "", false
	}
	name, session, ok := strings.Cut(res, "/")
	if !ok || name == "" || session == "" {
		return "", false
	}
	return roleKey(parts[1], parts[4], name), true
}

// checkIAM returns why arn is not an IAM principal ARN this file can map,
// or "", and the role's roleKey when arn is a role's.
func checkIAM(arn string) (msg, role string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[5] == "" {
		return "is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)", ""
	}
	if strings.ContainsAny(arn, "*?") || strings.ContainsFunc(arn, unicode.IsSpace) {
		return "must be one ARN, without wildcards or spaces", ""
	}
	switch parts[2] {
	case "iam":
		if parts[4] == "" {
			return "has no account", ""
		}
		if res, ok := strings.CutPrefix(parts[5], "role/"); ok {
			name := res[strings.LastIndex(res, "/")+1:]
			if name == "" {
				return "has no role name", ""
			}
			return "", roleKey(parts[1], parts[4], name)
		}
		return "", ""
	case "sts":
		return "", ""
	}
	return fmt.Sprintf("is a %s ARN: want an IAM user or role (arn:aws:iam::ACCOUNT:role/NAME, :user/NAME) or an STS assumed-role session", parts[2]), ""
}

// Principals returns a copy of the principals, in file order.
func (c *Credentials) Principals() []Principal { return slices.Clone(c.file.Principals) }

// maxNameLen bounds principal names and owner patterns (as boskos fields).
const maxNameLen = 253

// Parse reads and validates a credentials file. The error lists every
// problem found, one per line (errors.Join), each naming the principal.
func Parse(data []byte) (*Credentials, error) {
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	return New(f)
}

// New validates f and returns its Credentials; the error lists every
// problem found, one per line.
func New(f File) (*Credentials, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(f.Principals) == 0 {
		add("principals: none: every request would be refused (add one with `boskos credentials add`)")
	}
	c := &Credentials{file: f, byName: map[string]*Principal{}, byIAM: map[string]*Principal{}}
	for i := range f.Principals {
		p := &f.Principals[i]
		where := fmt.Sprintf("principals[%d]", i)
		if p.Name != "" {
			where += fmt.Sprintf(" (%q)", p.Name)
		}
		if msg := checkName(p.Name); msg != "" {
			add("%s: name %s", where, msg)
		} else if strings.Contains(p.Name, ":") {
			add("%s: name must not contain ':' (HTTP Basic separates the username from the password with it)", where)
		} else if _, dup := c.byName[p.Name]; dup {
			add("%s: name is used by an earlier principal", where)
		} else {
			c.byName[p.Name] = p
		}
		switch {
		case p.PasswordHash == "" && p.IAM == "":
			add("%s: password_hash or iam must be set (a bcrypt hash: `boskos credentials add` writes one; or an IAM ARN)", where)
		case p.PasswordHash != "":
			if msg := checkHash(p.PasswordHash); msg != "" {
				add("%s: password_hash %s", where, msg)
			} else {
				c.basic = true
			}
		}
		if p.IAM != "" {
			msg, role := checkIAM(p.IAM)
			switch {
			case msg != "":
				add("%s: iam %q %s", where, p.IAM, msg)
			case c.byIAM[p.IAM] != nil || (role != "" && c.byIAM[role] != nil):
				add("%s: iam %q is used by an earlier principal", where, p.IAM)
			default:
				c.byIAM[p.IAM] = p
				if role != "" {
					c.byIAM[role] = p
				}
			}
		}
		if p.Role.rank() == 0 {
			add("%s: role %q: want client, maintainer or admin", where, p.Role)
		}
		if len(p.Owners) == 0 && p.Role != RoleAdmin && p.Role.rank() > 0 {
			add("%s: owners: must list at least one owner name or glob for role %s", where, p.Role)
		}
		for j, o := range p.Owners {
			if msg := checkName(o); msg != "" {
				add("%s: owners[%d] %s", where, j, msg)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// checkName returns why s is not an acceptable name or owner pattern, or
// "" when it is.
func checkName(s string) string {
	switch {
	case s == "":
		return "must be set"
	case len(s) > maxNameLen:
		return fmt.Sprintf("must be no more than %d bytes (got %d)", maxNameLen, len(s))
	case strings.ContainsFunc(s, unicode.IsControl):
		return "must not contain control characters"
	}
	return ""
}

// checkHash returns why h is not a bcrypt hash, or "". It never quotes h:
// a plain password put there by mistake must not reach a log.
func checkHash(h string) string {
	if h == "" {
		return "must be set (a bcrypt hash: `boskos credentials add` writes one)"
	}
	if _, err := bcrypt.Cost([]byte(h)); err != nil || !(strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")) {
		return "is not a bcrypt hash ($2a$/$2b$/$2y$...; never a plain password)"
	}
	return ""
}

// HashPassword returns the bcrypt hash of password at bcrypt's default
// cost.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("empty password")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// GeneratePassword returns a random password of 32 URL-safe characters
// (192 bits).
func GeneratePassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Upsert returns f with p added, or replacing the principal of the same
// name in place; replaced reports which.
func Upsert(f File, p Principal) (out File, replaced bool) {
	out.Principals = slices.Clone(f.Principals)
	for i := range out.Principals {
		if out.Principals[i].Name == p.Name {
			out.Principals[i] = p
			return out, true
		}
	}
	out.Principals = append(out.Principals, p)
	return out, false
}

// Marshal returns the YAML of f.
func Marshal(f File) ([]byte, error) {
	b, err := yaml.Marshal(f)
	if err != nil {
		return nil, err
	}
	return append([]byte("# boskos credentials: edit with `boskos credentials add`; passwords are bcrypt hashes\n"), b...), nil
}

// AddToFile adds or replaces p in the credentials file at path (created
// when missing) and writes it back atomically (a temporary file renamed
// over it, mode 0600), so a server watching it never reads half a file.
// The whole result is validated first: an invalid file is left as it was.
func AddToFile(path string, p Principal) (replaced bool, err error) {
	var f File
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return false, err
	case len(bytes.TrimSpace(data)) > 0:
		if err := yaml.UnmarshalStrict(data, &f); err != nil {
			return false, fmt.Errorf("%s: %w", path, err)
		}
	}
	f, replaced = Upsert(f, p)
	if _, err := New(f); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	out, err := Marshal(f)
	if err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return replaced, os.Rename(tmp.Name(), path)
}

// LoadFile reads and validates the credentials file at path.
func LoadFile(path string) (*Credentials, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read credentials: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, data, fmt.Errorf("%s: %w", path, err)
	}
	return c, data, nil
}
