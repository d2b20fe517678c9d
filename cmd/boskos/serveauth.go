package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/boskos-serverless/boskos/core/auth"
)

// authFlags are the authentication flags of `boskos serve`.
type authFlags struct {
	credentials      string
	anonymousMetrics bool
	insecureNoAuth   bool
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.credentials, "credentials", "", "credentials file (YAML principals, `boskos credentials add`): every request but /healthz then needs HTTP Basic auth; reloaded when it changes")
	fs.BoolVar(&a.anonymousMetrics, "anonymous-metrics", false, "with --credentials, let requests without credentials read GET /metric and GET /metrics")
	fs.BoolVar(&a.insecureNoAuth, "insecure-no-auth", false, "serve without --credentials on a non-loopback address (anyone who reaches it may act as any owner)")
}

// check returns the flag errors of a server that listens on addr.
func (a *authFlags) check(addr string) []string {
	var errs []string
	if a.credentials == "" && !a.insecureNoAuth && !isLoopback(addr) {
		errs = append(errs, fmt.Sprintf("--addr %q is not a loopback address: give --credentials FILE, or --insecure-no-auth to serve it without authentication", addr))
	}
	if a.credentials != "" && a.insecureNoAuth {
		errs = append(errs, "--insecure-no-auth conflicts with --credentials")
	}
	if a.credentials == "" && a.anonymousMetrics {
		errs = append(errs, "--anonymous-metrics needs --credentials (without them everything is anonymous)")
	}
	return errs
}

// isLoopback reports whether listening on host reaches only this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serveAuth loads the credentials file of a, when given, and returns the
// handler middleware that enforces it and the function that starts its
// reload watcher; both are nil without --credentials.
func serveAuth(a authFlags, log *slog.Logger, delay time.Duration, hook func(error)) (func(http.Handler) http.Handler, func(context.Context, *sync.WaitGroup), error) {
	if a.credentials == "" {
		return nil, nil, nil
	}
	creds, data, err := auth.LoadFile(a.credentials)
	if err != nil {
		return nil, nil, err
	}
	h := auth.NewHolder(creds)
	g := auth.NewGuard(h, auth.Options{AnonymousMetrics: a.anonymousMetrics, Logger: log})
	w := auth.NewWatcher(a.credentials, data, h, log, delay, hook)
	start := func(ctx context.Context, wg *sync.WaitGroup) {
		if err := w.Start(ctx, wg); err != nil {
			log.Error("credentials reload disabled", "path", a.credentials, "err", err)
		}
	}
	log.Info("authentication enabled", "credentials", a.credentials, "principals", len(creds.Principals()), "anonymous_metrics", a.anonymousMetrics)
	return g.Wrap, start, nil
}
