package auth

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Realm is the realm of the WWW-Authenticate challenge of a 401.
const Realm = "boskos"

// Defaults of Options.
const (
	DefaultCacheTTL        = 30 * time.Second
	DefaultFailureBurst    = 10
	DefaultFailureInterval = 6 * time.Second
	DefaultChecksPerAddr   = 4
	defaultMaxEntries      = 100_000
)

// Holder holds the credentials in force; a reload (Watcher) or, later, a
// secret fetched from AWS swaps them with Store. The zero value holds none.
// It is safe for concurrent use.
type Holder struct{ p atomic.Pointer[Credentials] }

// NewHolder returns a Holder of c.
func NewHolder(c *Credentials) *Holder {
	h := &Holder{}
	h.Store(c)
	return h
}

// Load returns the credentials in force (nil: none).
func (h *Holder) Load() *Credentials { return h.p.Load() }

// Store puts c in force; verified credentials cached for the previous ones
// are not used any more.
func (h *Holder) Store(c *Credentials) { h.p.Store(c) }

// Options tune a Guard. The zero value of each field means its default.
type Options struct {
	// AnonymousMetrics lets requests without an Authorization header read
	// GET /metric and GET /metrics.
	AnonymousMetrics bool
	// CacheTTL is how long a verified Authorization header is trusted
	// without checking its password again (default DefaultCacheTTL).
	CacheTTL time.Duration
	// FailureBurst failed attempts are allowed at once per client address
	// and per principal, then one per FailureInterval (defaults
	// DefaultFailureBurst, DefaultFailureInterval); beyond, 429.
	FailureBurst    int
	FailureInterval time.Duration
	// ChecksPerAddr is how many password checks (bcrypt) run at once for
	// one client address; more wait (default DefaultChecksPerAddr).
	ChecksPerAddr int
	// MaxEntries bounds the cache and the failure table (default 100,000).
	MaxEntries int
	// Now is the clock of the cache and the rate limits (default time.Now).
	Now func() time.Time
	// Logger receives refusals (default slog.Default()); never passwords
	// or headers.
	Logger *slog.Logger
}

// Guard enforces HTTP Basic authentication and the role rules (RuleFor) in
// front of the Boskos handler. It is safe for concurrent use.
type Guard struct {
	creds *Holder
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	fails *limiter
	slots *slots

	mu    sync.Mutex
	cache map[[sha256.Size]byte]cached

	dummyOnce sync.Once
	dummy     []byte // hash compared for unknown principals

	bcrypts atomic.Int64 // password checks done (tests: the cache works)
}

// cached is a verified Authorization header.
type cached struct {
	creds   *Credentials // the credentials it was verified against
	p       *Principal
	expires time.Time
}

// NewGuard returns a guard over the credentials of h.
func NewGuard(h *Holder, opts Options) *Guard {
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.FailureBurst <= 0 {
		opts.FailureBurst = DefaultFailureBurst
	}
	if opts.FailureInterval <= 0 {
		opts.FailureInterval = DefaultFailureInterval
	}
	if opts.ChecksPerAddr <= 0 {
		opts.ChecksPerAddr = DefaultChecksPerAddr
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = defaultMaxEntries
	}
	g := &Guard{creds: h, opts: opts, log: opts.Logger, now: opts.Now, cache: map[[sha256.Size]byte]cached{}}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.fails = newLimiter(opts.FailureBurst, opts.FailureInterval, opts.MaxEntries)
	g.slots = &slots{size: opts.ChecksPerAddr, sem: map[string]*slot{}}
	return g
}

// Wrap returns next behind the guard. When the holder has no credentials
// every request goes to next unchanged. Otherwise, except on open paths
// (/healthz): no or bad credentials answer 401 with a Basic challenge,
// throttled failures 429 with Retry-After, and a principal that lacks the
// role or may not act as the owner 403; next is not called then, so
// nothing changes.
//
// A request whose context carries an IAM caller (WithIAMCaller: API
// Gateway verified its signature) is the principal of that ARN
// (Credentials.LookupIAM), with the same role and owner rules; an ARN
// that maps to no principal answers 403 (AWS authenticated the caller,
// this service does not know it). A request with neither an IAM caller
// nor an Authorization header, when no principal has a password, answers
// 403 as well: API Gateway answers unsigned requests to IAM routes so, and
// a Basic challenge could never be met.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		creds := g.creds.Load()
		rule := RuleFor(r.URL.Path)
		if creds == nil || rule.Open {
			next.ServeHTTP(w, r)
			return
		}
		header := r.Header.Get("Authorization")
		anonymous := rule.Read && g.opts.AnonymousMetrics && (r.Method == http.MethodGet || r.Method == http.MethodHead)
		if arn, ok := IAMCaller(r.Context()); ok {
			// API Gateway verified the caller (the Authorization header
			// is its SigV4 signature, not Basic credentials).
			p := creds.LookupIAM(arn)
			if p == nil {
				if anonymous {
					next.ServeHTTP(w, r)
					return
				}
				g.log.Info("auth: IAM caller not in the credentials", "iam", arn, "path", r.URL.Path)
				http.Error(w, fmt.Sprintf("IAM principal %q is not in the credentials (principals[].iam)", arn), http.StatusForbidden)
				return
			}
			g.serveAuthorized(w, r, p, next)
			return
		}
		if header == "" && anonymous {
			next.ServeHTTP(w, r)
			return
		}
		if header == "" && !creds.HasBasic() {
			// Every principal is an IAM one: a request without an IAM
			// identity came through a route without IAM authorization.
			g.log.Info("auth: request without an IAM identity, and the credentials have no password: check the API's IAM authorization", "path", r.URL.Path)
			http.Error(w, "this API authorizes with AWS IAM (SigV4-signed requests): the request carries no IAM identity", http.StatusForbidden)
			return
		}
		p, status, retry := g.authenticate(r, creds, header)
		switch status {
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`"`)
			http.Error(w, "authentication required: missing or invalid username or password", status)
			return
		case http.StatusTooManyRequests:
			secs := int64(math.Ceil(retry.Seconds()))
			w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
			http.Error(w, fmt.Sprintf("too many failed authentication attempts: retry in %ds", max(secs, 1)), status)
			return
		}
		g.serveAuthorized(w, r, p, next)
	})
}

// serveAuthorized passes r to next when the authenticated principal p may
// make it (Authorize), and answers 403 otherwise.
func (g *Guard) serveAuthorized(w http.ResponseWriter, r *http.Request, p *Principal, next http.Handler) {
	if err := Authorize(p, r.URL.Path, r.URL.Query().Get("owner")); err != nil {
		g.log.Info("auth: request denied", "principal", p.Name, "path", r.URL.Path, "reason", err.Error())
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	next.ServeHTTP(w, r)
}

// authenticate returns the principal of header, or the status to answer
// (401 or 429, with the wait of a 429).
func (g *Guard) authenticate(r *http.Request, creds *Credentials, header string) (*Principal, int, time.Duration) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return nil, http.StatusUnauthorized, 0
	}
	now := g.now()
	key := sha256.Sum256([]byte(header))
	if p := g.cachedPrincipal(key, creds, now); p != nil {
		return p, 0, 0
	}
	addr := clientAddr(r)
	if !g.slots.acquire(addr, r.Context().Done()) {
		return nil, http.StatusUnauthorized, 0 // the caller went away
	}
	defer g.slots.release(addr)
	now = g.now()
	if p := g.cachedPrincipal(key, creds, now); p != nil {
		return p, 0, 0 // verified while this request waited
	}
	p := creds.Lookup(user)
	if p != nil && p.PasswordHash == "" {
		p = nil // an IAM-only principal has no password: as unknown
	}
	keys := []string{"addr:" + addr}
	if p != nil {
		keys = append(keys, "principal:"+p.Name)
	}
	if wait := g.fails.wait(now, keys...); wait > 0 {
		g.log.Debug("auth: failed attempts throttled", "addr", addr, "principal", principalName(p), "retry_in", wait)
		return nil, http.StatusTooManyRequests, wait
	}
	if !g.verify(p, pass) {
		g.fails.fail(now, keys...)
		g.log.Info("auth: authentication failed", "addr", addr, "principal", principalName(p))
		return nil, http.StatusUnauthorized, 0
	}
	g.remember(key, cached{creds: creds, p: p, expires: now.Add(g.opts.CacheTTL)}, now)
	return p, 0, 0
}

// verify checks pass against p's hash; for an unknown principal (nil) it
// spends the same time on a dummy hash and fails, so response times do not
// tell which names exist. bcrypt compares in constant time.
func (g *Guard) verify(p *Principal, pass string) bool {
	g.bcrypts.Add(1)
	if p == nil {
		g.dummyOnce.Do(func() {
			g.dummy, _ = bcrypt.GenerateFromPassword([]byte("no such principal"), bcrypt.DefaultCost)
		})
		_ = bcrypt.CompareHashAndPassword(g.dummy, []byte(pass))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(p.PasswordHash), []byte(pass)) == nil
}

func (g *Guard) cachedPrincipal(key [sha256.Size]byte, creds *Credentials, now time.Time) *Principal {
	g.mu.Lock()
	e, ok := g.cache[key]
	g.mu.Unlock()
	// The key is a SHA-256 of the whole header; compare the credentials
	// set by identity: a reload invalidates every entry.
	if !ok || e.creds != creds || !now.Before(e.expires) {
		return nil
	}
	return e.p
}

func (g *Guard) remember(key [sha256.Size]byte, e cached, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.cache) >= g.opts.MaxEntries {
		for k, old := range g.cache {
			if old.creds != e.creds || !now.Before(old.expires) {
				delete(g.cache, k)
			}
		}
		if len(g.cache) >= g.opts.MaxEntries {
			clear(g.cache) // a flood of valid headers: start again
		}
	}
	g.cache[key] = e
}

// clientAddr is the host of r.RemoteAddr (the peer of the local server;
// API Gateway's source IP in Lambda).
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func principalName(p *Principal) string {
	if p == nil {
		return "(unknown)"
	}
	return p.Name
}
