package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/boskos-serverless/boskos/core/backend"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/metrics"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/streams"
)

// serveHooks let tests in this package follow a server's life without
// sleeping. Every field is optional.
type serveHooks struct {
	// ready is called with the listening address once requests are served.
	ready func(addr string)
	// reloaded is called after each config reload attempt (nil error when
	// the new config was applied).
	reloaded func(err error)
	// wrapStore, if set, wraps the opened store (tests inject failures).
	wrapStore func(store.Store) store.Store
	// reloadRetry replaces defaultReloadRetry.
	reloadRetry time.Duration
	// credentialsReloaded is called after each credentials reload attempt.
	credentialsReloaded func(err error)
}

// defaultReloadRetry is how long the config watcher waits before applying
// again a valid config whose application failed (a store error: DynamoDB
// throttling, a network blip), since no file event may ever come again.
const defaultReloadRetry = 5 * time.Second

// serveConfig holds the flags of `boskos serve`.
type serveConfig struct {
	configPath   string
	addr         string
	port         int
	storeSpec    string
	inMemory     bool
	requestTTL   time.Duration
	logLevel     string
	gcPeriod     time.Duration
	maxBody      int64
	dynamoURL    string
	dynamoRegion string
	shutdown     time.Duration
	debounce     time.Duration
	spread       time.Duration
	metricsPort  int
	healthPort   int

	reaperExpire      time.Duration
	reaperTarget      string
	reaperExtraStates string
	reaperStates      []string // parsed reaperExtraStates
	cleaner           bool

	janitorCommands    []string
	janitorTargets     janitor.Targets // parsed janitorCommands
	janitorConcurrency int
	janitorMaxFailures int
	janitorRetryDelay  time.Duration

	mason     bool
	masonWait time.Duration

	history          bool
	historyRetention time.Duration

	auth authFlags
}

func parseServeFlags(args []string, stderr io.Writer) (serveConfig, int, bool) {
	var c serveConfig
	fs := newFlagSet("serve", stderr)
	fs.StringVar(&c.configPath, "config", "config.yaml", "path to the resources config file (reloaded when it changes)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1", "address (host) to listen on; 0.0.0.0 for every interface")
	fs.StringVar(&c.addr, "host", "127.0.0.1", "alias of --addr")
	fs.IntVar(&c.port, "port", 8080, "port to serve the API on (0 picks a free one)")
	fs.StringVar(&c.storeSpec, "store", backend.DefaultSpec, "store: bolt:PATH, memory or dynamodb:TABLE")
	fs.BoolVar(&c.inMemory, "in_memory", false, "use an in-memory store (same as --store memory)")
	fs.DurationVar(&c.requestTTL, "request-ttl", ranch.DefaultRequestTTL, "how long a request_id keeps its place in the queue without polling")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.gcPeriod, "gc-period", time.Minute, "period of the maintenance jobs: reaper, cleaner, reconciler (dynamic resources, deferred config changes, request-queue GC) and janitor")
	fs.Int64Var(&c.maxBody, "max-body-bytes", httpapi.DefaultMaxBodyBytes, "largest accepted request body")
	fs.StringVar(&c.dynamoURL, "dynamodb-endpoint", "", "DynamoDB endpoint for --store dynamodb:TABLE (default: the AWS SDK's, e.g. AWS_ENDPOINT_URL_DYNAMODB)")
	fs.StringVar(&c.dynamoRegion, "dynamodb-region", "", "AWS region for --store dynamodb:TABLE (default: the AWS SDK's)")
	fs.DurationVar(&c.shutdown, "shutdown-timeout", 10*time.Second, "how long to let requests finish on SIGINT/SIGTERM")
	fs.DurationVar(&c.spread, "spread-window", ranch.DefaultSpreadWindow, "acquire picks at random among the free resources updated within this window of the least recently updated one, like upstream's random ties at one-second precision; spreads concurrent clients over candidates (0: strict least-recently-updated order)")
	fs.IntVar(&c.metricsPort, "metrics-port", 0, "also serve GET /metrics on this port, as upstream does on 9090 (0: only on the API port)")
	fs.IntVar(&c.healthPort, "health-port", 0, "also serve GET /healthz and /healthz/ready on this port, as upstream does on 8081 (0: only on the API port)")
	fs.DurationVar(&c.debounce, "reload-delay", 200*time.Millisecond, "wait this long after a config file event before reloading")
	fs.DurationVar(&c.reaperExpire, "reaper-expire", maintenance.DefaultReaperExpire, "the reaper resets leases not updated within this long (0 disables the reaper)")
	fs.StringVar(&c.reaperTarget, "reaper-target-state", maintenance.DefaultReaperTargetState, "state the reaper resets stale leases to")
	fs.StringVar(&c.reaperExtraStates, "reaper-extra-states", "", "comma-separated states the reaper also resets, after busy, cleaning and leased")
	fs.Func("janitor-command", "cleanup command of the janitor, upstream's convention `CMD --<kind>=<name>`: CMD for every type, or TYPE=CMD for one type (repeatable; without it no janitor runs)", func(v string) error {
		c.janitorCommands = append(c.janitorCommands, v)
		return nil
	})
	fs.IntVar(&c.janitorConcurrency, "janitor-concurrency", janitor.DefaultConcurrency, "most cleanups running at once per resource type")
	fs.IntVar(&c.janitorMaxFailures, "janitor-max-failures", janitor.DefaultMaxFailures, "consecutive failed cleanups after which a resource is quarantined")
	fs.DurationVar(&c.janitorRetryDelay, "janitor-retry-delay", janitor.DefaultRetryDelay, "a resource whose cleanup failed is not cleaned again within this delay")
	fs.BoolVar(&c.mason, "mason", true, "run Mason: build the virtual resources of the dynamic types whose config.type names a converter this server has (Command, Webhook, Lambda) with the workflow document, in process")
	fs.DurationVar(&c.masonWait, "mason-wait", mason.DefaultWait, "how long a Mason construction waits before trying again to lease needs that are not available")
	fs.BoolVar(&c.history, "history", true, "record the lease history (GET /v1/resources/{name}/history, /v1/history, /v1/usage): in the write's transaction on the embedded stores, from the table's stream with --store dynamodb:TABLE")
	fs.DurationVar(&c.historyRetention, "history-retention", ranch.DefaultHistoryRetention, "how long history records are kept (their ttl; the embedded stores are pruned every --gc-period)")
	fs.BoolVar(&c.cleaner, "cleaner", true, "run the cleaner: toBeDeleted dynamic resources release their leased resources and become tombstones")
	c.auth.register(fs)
	if code, done := parseFlags(fs, args); done {
		return c, code, true
	}
	errs := c.auth.check(c.addr)
	if c.port < 0 || c.port > 65535 {
		errs = append(errs, fmt.Sprintf("--port %d: want 0 to 65535", c.port))
	}
	for _, p := range []struct {
		name string
		n    int
	}{{"metrics-port", c.metricsPort}, {"health-port", c.healthPort}} {
		switch {
		case p.n < 0 || p.n > 65535:
			errs = append(errs, fmt.Sprintf("--%s %d: want 1 to 65535 (0: off)", p.name, p.n))
		case p.n != 0 && p.n == c.port:
			errs = append(errs, fmt.Sprintf("--%s %d: the API port already serves it", p.name, p.n))
		}
	}
	if c.metricsPort != 0 && c.metricsPort == c.healthPort {
		errs = append(errs, fmt.Sprintf("--metrics-port and --health-port are both %d", c.metricsPort))
	}
	if c.inMemory {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "store" })
		if set && c.storeSpec != "memory" {
			errs = append(errs, "--in_memory conflicts with --store "+c.storeSpec)
		}
		c.storeSpec = "memory"
	}
	if _, err := backend.Parse(c.storeSpec); err != nil {
		errs = append(errs, "--store: "+err.Error())
	}
	if c.requestTTL <= 0 {
		errs = append(errs, "--request-ttl must be positive")
	}
	if c.spread < 0 {
		errs = append(errs, "--spread-window must not be negative")
	}
	if c.gcPeriod <= 0 {
		errs = append(errs, "--gc-period must be positive")
	}
	if c.reaperExpire < 0 {
		errs = append(errs, "--reaper-expire must not be negative (0 disables the reaper)")
	}
	if err := boskos.ValidateField("--reaper-target-state", c.reaperTarget); err != nil {
		errs = append(errs, err.Error())
	}
	if c.janitorConcurrency <= 0 {
		errs = append(errs, "--janitor-concurrency must be positive")
	}
	if c.janitorMaxFailures <= 0 {
		errs = append(errs, "--janitor-max-failures must be positive")
	}
	if c.janitorRetryDelay <= 0 {
		errs = append(errs, "--janitor-retry-delay must be positive")
	}
	if c.historyRetention <= 0 {
		errs = append(errs, "--history-retention must be positive")
	}
	if c.masonWait < time.Second {
		errs = append(errs, "--mason-wait must be at least 1s")
	}
	if len(c.janitorCommands) > 0 {
		t, err := janitor.ParseCommands(c.janitorCommands, janitor.CommandOptions{})
		if err != nil {
			for _, e := range strings.Split(err.Error(), "\n") {
				errs = append(errs, e)
			}
		}
		c.janitorTargets = t
	}
	if states, err := maintenance.ParseStates(c.reaperExtraStates); err != nil {
		errs = append(errs, "--reaper-extra-states: "+err.Error())
	} else {
		c.reaperStates = states
	}
	if c.maxBody < 0 {
		errs = append(errs, "--max-body-bytes must not be negative (0: the default, 1 MiB)")
	}
	if c.shutdown < 0 {
		errs = append(errs, "--shutdown-timeout must not be negative")
	}
	if c.debounce < 0 {
		errs = append(errs, "--reload-delay must not be negative")
	}
	if _, err := parseLevel(c.logLevel); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(stderr, "boskos serve: %s\n", e)
		}
		return c, 2, true
	}
	return c, 0, false
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// loadConfig reads and validates the resources file; the error lists every
// problem found.
func loadConfig(path string) (*boskos.Config, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := boskos.ParseValidConfig(data)
	if err != nil {
		return nil, data, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, data, nil
}

// cmdServe is `boskos serve`: it serves the API until ctx ends, then shuts
// down gracefully.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, hooks *serveHooks) int {
	c, code, done := parseServeFlags(args, stderr)
	if done {
		return code
	}
	if hooks == nil {
		hooks = &serveHooks{}
	}
	level, _ := parseLevel(c.logLevel)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg, cfgData, err := loadConfig(c.configPath)
	if err != nil {
		fmt.Fprintf(stderr, "boskos serve: %v\n", err)
		return 1
	}
	if err := checkJanitorTypes(c, cfg); err != nil {
		fmt.Fprintf(stderr, "boskos serve: %s: %v\n", janitor.FlagCommand, err)
		return 2
	}

	hist := ranch.HistoryOptions{Retention: c.historyRetention}
	bopts := backend.Options{Dynamo: dynamoConfig(c.dynamoURL, c.dynamoRegion)}
	if c.history {
		bopts.OnWrite = ranch.HistoryHook(hist)
	}
	st, err := backend.OpenWith(ctx, c.storeSpec, bopts)
	if err != nil {
		fmt.Fprintf(stderr, "boskos serve: open store: %v\n", err)
		return 1
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing store", "err", err)
		}
	}()
	if hooks.wrapStore != nil {
		st = hooks.wrapStore(st)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	onAcquire, err := metrics.AcquireObserver(reg)
	if err != nil {
		fmt.Fprintf(stderr, "boskos serve: metrics: %v\n", err)
		return 1
	}
	maint, err := metrics.NewMaintenance(reg)
	if err != nil {
		fmt.Fprintf(stderr, "boskos serve: metrics: %v\n", err)
		return 1
	}
	r := ranch.New(st, ranch.Options{RequestTTL: c.requestTTL, SpreadWindow: c.spread, OnAcquire: onAcquire, Logger: log})
	// The background context of the reloads, the maintenance loop and
	// Mason's executions: it ends after the HTTP servers stopped.
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	jobs, bg, err := serveJobs(bgCtx, c, cfg, r, reg, maint, log)
	if err != nil {
		fmt.Fprintf(stderr, "boskos serve: %v\n", err)
		return 2
	}
	var feed *streams.Reader
	if c.history {
		write := func(ctx context.Context, ch []store.Change) error {
			_, err := ranch.WriteHistory(ctx, st, ch, hist)
			return err
		}
		if feed, err = backend.StreamReader(ctx, c.storeSpec, bopts, st, write, streams.Options{Logger: log}); err != nil {
			fmt.Fprintf(stderr, "boskos serve: history: %v\n", err)
			return 1
		}
		if feed == nil {
			jobs = append(jobs, maintenance.NewHistoryPruner(r, c.historyRetention))
		}
	}
	retry := hooks.reloadRetry
	if retry <= 0 {
		retry = defaultReloadRetry
	}
	w := &configWatcher{path: c.configPath, origin: fileOrigin(c.configPath), ranch: r, log: log, delay: c.debounce, retry: retry, hook: hooks.reloaded, last: sha256.Sum256(cfgData)}
	if err := w.apply(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "boskos serve: sync config %s: %v\n", c.configPath, err)
		return 1
	}
	log.Info("config applied", "path", c.configPath, "entries", len(cfg.Resources))

	guard, startAuth, err := serveAuth(c.auth, log, c.debounce, hooks.credentialsReloaded)
	if err != nil {
		fmt.Fprintf(stderr, "boskos serve: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(c.addr, strconv.Itoa(c.port)))
	if err != nil {
		fmt.Fprintf(stderr, "boskos serve: listen: %v\n", err)
		return 1
	}
	prom := metrics.NewAPI(reg, reg, r, log)
	api := httpapi.New(r, httpapi.Options{Logger: log, MaxBodyBytes: c.maxBody, Metrics: prom.Handler, ObserveRequest: prom.Observe, Middleware: guard})
	srv := newHTTPServer(api, log)
	extra, err := listenExtra(c, api, log)
	if err != nil {
		_ = ln.Close()
		fmt.Fprintf(stderr, "boskos serve: listen: %v\n", err)
		return 1
	}

	var wg sync.WaitGroup
	if err := w.start(bgCtx, &wg); err != nil {
		// Serving without reload is still useful; say so loudly.
		log.Error("config reload disabled", "path", c.configPath, "err", err)
	}
	if startAuth != nil {
		startAuth(bgCtx, &wg)
	}
	wg.Go(func() { maintenance.Loop(bgCtx, c.gcPeriod, log, nil, jobs...) })
	if feed != nil {
		// The history writer of a DynamoDB table: its stream, read from
		// the checkpoints kept in the table (several servers may read it
		// at once: the records are idempotent).
		wg.Go(func() { feed.Run(bgCtx) })
	}

	serveErr := make(chan error, 1+len(extra))
	go func() { serveErr <- srv.Serve(ln) }()
	for _, x := range extra {
		go func() { serveErr <- x.srv.Serve(x.ln) }()
		log.Info("serving "+x.what, "addr", x.ln.Addr().String())
	}
	addr := ln.Addr().String()
	log.Info("serving", "addr", addr, "url", "http://"+addr, "store", c.storeSpec)
	if hooks.ready != nil {
		hooks.ready(addr)
	}

	status := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		log.Error("server stopped", "err", err)
		status = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdown)
	defer cancel()
	for _, s := range append([]*http.Server{srv}, extraServers(extra)...) {
		if err := s.Shutdown(sctx); err != nil {
			log.Error("shutdown", "err", err)
			status = 1
		}
	}
	stopBG()
	wg.Wait()
	if bg.janitor != nil {
		// Interrupted cleanups hand their resources back before the store
		// closes.
		if err := bg.janitor.Wait(sctx); err != nil {
			log.Error("janitor: cleanups still running at shutdown; the reaper resets their leases", "running", bg.janitor.Running(), "err", err)
		}
	}
	if bg.mason != nil {
		// Interrupted constructions release what they hold as dirty.
		bg.mason.Wait()
	}
	log.Info("stopped")
	return status
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// extraListener is a port besides the API's that serves some of its paths
// (upstream's separate metrics and health ports).
type extraListener struct {
	what string
	ln   net.Listener
	srv  *http.Server
}

// listenExtra opens the --metrics-port and --health-port listeners, each
// serving its paths of api and 404 for anything else.
func listenExtra(c serveConfig, api http.Handler, log *slog.Logger) ([]extraListener, error) {
	var out []extraListener
	for _, p := range []struct {
		what  string
		port  int
		paths []string
	}{
		{"metrics", c.metricsPort, []string{"/metrics"}},
		{"health", c.healthPort, []string{"/healthz", "/healthz/ready"}},
	} {
		if p.port == 0 {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(c.addr, strconv.Itoa(p.port)))
		if err != nil {
			for _, x := range out {
				_ = x.ln.Close()
			}
			return nil, fmt.Errorf("--%s-port: %w", p.what, err)
		}
		mux := http.NewServeMux()
		for _, path := range p.paths {
			mux.Handle(path, api)
		}
		out = append(out, extraListener{what: p.what, ln: ln, srv: newHTTPServer(mux, log)})
	}
	return out, nil
}

func extraServers(xs []extraListener) []*http.Server {
	out := make([]*http.Server, len(xs))
	for i, x := range xs {
		out[i] = x.srv
	}
	return out
}

// serveJobs builds the maintenance jobs of `boskos serve`, in the order
// each period runs them: the reaper (unless --reaper-expire 0) sends stale
// leases to dirty, the cleaner tombstones toBeDeleted dynamic resources, the
// reconciler deletes tombstones, refills min-counts, applies deferred config
// changes and collects the request queue; Mason's dispatcher (unless
// --mason=false) claims dirty virtual resources and starts their
// constructions in process (ctx bounds them).
//
// The janitor, when --janitor-command is given, runs last; its cleanups
// and Mason's constructions outlive a pass: the returned background work
// is waited for before the store is closed.
func serveJobs(ctx context.Context, c serveConfig, cfg *boskos.Config, r *ranch.Ranch, reg prometheus.Registerer, m *metrics.Maintenance, log *slog.Logger) ([]maintenance.Job, background, error) {
	var jobs []maintenance.Job
	var bg background
	if c.reaperExpire > 0 {
		p, err := maintenance.NewReaper(r, maintenance.ReaperOptions{
			Expire: c.reaperExpire, TargetState: c.reaperTarget, ExtraStates: c.reaperStates,
			OnReaped: m.Reaped, Logger: log,
		})
		if err != nil {
			return nil, bg, err
		}
		jobs = append(jobs, p)
	}
	if c.cleaner {
		jobs = append(jobs, maintenance.NewCleaner(r))
	}
	jobs = append(jobs, maintenance.NewReconciler(r, maintenance.ReconcilerOptions{Logger: log}))
	if c.mason {
		obs, err := metrics.NewMason(reg)
		if err != nil {
			return nil, bg, err
		}
		convs, err := masonRegistry(log)
		if err != nil {
			return nil, bg, err
		}
		if cfg != nil {
			reportMasonTypes(cfg, convs, log)
		}
		wf := mason.NewWorkflow(r, convs, mason.Options{Wait: c.masonWait, Observer: obs, Logger: log})
		local, err := mason.NewLocal(ctx, wf, mason.LocalOptions{Logger: log})
		if err != nil {
			return nil, bg, err
		}
		bg.mason = local
		jobs = append(jobs, mason.NewDispatcher(r, convs, local, mason.DispatcherOptions{Logger: log}))
	}
	if !c.janitorTargets.Empty() {
		j, err := janitor.New(r, janitor.Options{
			Types: maintenance.ConfigTypes(r), Targets: c.janitorTargets,
			Concurrency: c.janitorConcurrency, MaxFailures: c.janitorMaxFailures, RetryDelay: c.janitorRetryDelay,
			Logger: log, OnResult: janitorMetrics(m), OnQuarantined: m.Quarantined,
		})
		if err != nil {
			return nil, bg, err
		}
		bg.janitor = j
		jobs = append(jobs, maintenance.JanitorJob(j, false))
	}
	return jobs, bg, nil
}

// background is the work of serveJobs that outlives a pass.
type background struct {
	janitor *janitor.Janitor // nil without --janitor-command
	mason   *mason.Local     // nil with --mason=false
}

// janitorMetrics counts the janitor's cleanups.
func janitorMetrics(m *metrics.Maintenance) func(janitor.Result) {
	return func(res janitor.Result) {
		switch res.Status {
		case janitor.StatusCleaned:
			m.Cleaned(res.Type)
		case janitor.StatusFailed, janitor.StatusQuarantined:
			m.Failed(res.Type)
		}
	}
}

// checkJanitorTypes refuses --janitor-command TYPE=CMD for a TYPE that the
// config does not have.
func checkJanitorTypes(c serveConfig, cfg *boskos.Config) error {
	if c.janitorTargets.Empty() {
		return nil
	}
	types := map[string]bool{}
	var list []string
	for _, e := range cfg.Resources {
		if !types[e.Type] {
			types[e.Type] = true
			list = append(list, e.Type)
		}
	}
	return c.janitorTargets.Validate(list)
}

// fileOrigin is the origin recorded with a config applied from path.
func fileOrigin(path string) ranch.Origin {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return ranch.Origin{Source: "file:" + path}
}

// configWatcher reloads the config file when it changes. It watches the
// file's directory, so editors that replace the file by renaming a new one
// over it (and Kubernetes ConfigMap symlink swaps) are seen, and it compares
// contents so that touching the file does nothing. Deferred work of a sync
// (a leased resource that left the config) is re-synced by the reconciler
// job from the config in force in the store.
type configWatcher struct {
	path   string
	origin ranch.Origin
	ranch  *ranch.Ranch
	log    *slog.Logger
	delay  time.Duration
	retry  time.Duration // wait before applying again after a store failure
	hook   func(error)
	last   [sha256.Size]byte // content of the last file handled (applied, or refused as invalid)

	mu sync.Mutex // serializes syncs, so an older config never overwrites a newer one
}

// apply syncs the store to cfg (maintenance.Apply: the config in force is
// recorded in the store).
func (w *configWatcher) apply(ctx context.Context, cfg *boskos.Config) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	rep, err := maintenance.Apply(ctx, w.ranch, cfg, w.origin)
	if err != nil {
		return err
	}
	if len(rep.Sync.Deferred) > 0 {
		w.log.Info("config sync: leased resources left the config or changed type; applied after their release",
			"path", w.path, "resources", rep.Sync.Deferred)
	}
	return nil
}

func (w *configWatcher) start(ctx context.Context, wg *sync.WaitGroup) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	dir := filepath.Dir(w.path)
	if err := fw.Add(dir); err != nil {
		fw.Close()
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	wg.Go(func() {
		defer fw.Close()
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				if timer != nil {
					timer.Stop()
				}
				return
			case ev, ok := <-fw.Events:
				if !ok {
					return
				}
				if ev.Op == fsnotify.Chmod {
					continue
				}
				// Any change in the directory may be ours (symlink swaps);
				// the content comparison filters the rest.
				if timer == nil {
					timer = time.NewTimer(w.delay)
				} else {
					timer.Reset(w.delay)
				}
				fire = timer.C
			case err, ok := <-fw.Errors:
				if !ok {
					return
				}
				w.log.Warn("config watch", "err", err)
			case <-fire:
				fire = nil
				if w.reload(ctx) {
					// The store failed: try the same content again later,
					// unless a file event comes first.
					timer.Reset(w.retry)
					fire = timer.C
				}
			}
		}
	})
	return nil
}

// reload applies the file if its content changed; a bad file is logged and
// the config in force is kept. It returns true when a valid config could not
// be applied for a store failure: the caller tries again later.
func (w *configWatcher) reload(ctx context.Context) (retry bool) {
	data, err := os.ReadFile(w.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false // mid rename-replace, or removed: keep the current config
		}
		w.log.Error("config reload: keeping the current config", "path", w.path, "err", err)
		w.done(err)
		return false
	}
	sum := sha256.Sum256(data)
	if bytes.Equal(sum[:], w.last[:]) {
		return false
	}
	cfg, err := boskos.ParseValidConfig(data)
	if err != nil {
		w.last = sum // refused as it stands: wait for the next change
		w.log.Error("config reload: keeping the current config", "path", w.path, "err", err)
		w.done(err)
		return false
	}
	if err := w.apply(ctx, cfg); err != nil {
		if ctx.Err() != nil {
			return false // shutting down
		}
		// Partly applied, perhaps: whatever the file holds next (even
		// the previous content) must be applied again.
		w.last = [sha256.Size]byte{}
		w.log.Error("config reload failed, retrying", "path", w.path, "in", w.retry, "err", err)
		w.done(err)
		return true
	}
	w.last = sum
	w.log.Info("config reloaded", "path", w.path)
	w.done(nil)
	return false
}

func (w *configWatcher) done(err error) {
	if w.hook != nil {
		w.hook(err)
	}
}

// cmdConfigValidate is `boskos config validate FILE`.
func cmdConfigValidate(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, "Usage: boskos config validate FILE\n")
		return 2
	}
	if _, _, err := loadConfig(args[0]); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}
