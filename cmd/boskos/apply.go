package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/backend"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// cmdConfigApply is `boskos config apply`: it syncs a store to a resources
// file once (static resources created and deleted, dynamic life cycles
// stored and reconciled, stale request-queue entries collected) and exits.
// It is how a deployment without a `boskos serve` (the Lambda functions)
// gets its resources; run it on every config change, e.g. from CI.
func cmdConfigApply(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config apply", stderr)
	configPath := fs.String("config", "", "resources config file (required)")
	storeSpec := fs.String("store", "", "store to apply it to (required): bolt:PATH or dynamodb:TABLE")
	endpoint := fs.String("dynamodb-endpoint", "", "DynamoDB endpoint for --store dynamodb:TABLE (default: the AWS SDK's, e.g. AWS_ENDPOINT_URL_DYNAMODB)")
	region := fs.String("dynamodb-region", "", "AWS region for --store dynamodb:TABLE (default: the AWS SDK's)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	var errs []string
	if *configPath == "" {
		errs = append(errs, "--config is required")
	}
	switch spec, err := backend.Parse(*storeSpec); {
	case *storeSpec == "":
		errs = append(errs, "--store is required (bolt:PATH or dynamodb:TABLE)")
	case err != nil:
		errs = append(errs, "--store: "+err.Error())
	case spec.Kind == backend.Memory:
		errs = append(errs, "--store memory: nothing would outlive this command; use bolt:PATH or dynamodb:TABLE")
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(stderr, "boskos config apply: %s\n", e)
		}
		return 2
	}
	cfg, _, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "boskos config apply: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := backend.OpenWith(ctx, *storeSpec, backend.Options{Dynamo: dynamoConfig(*endpoint, *region)})
	if err != nil {
		fmt.Fprintf(stderr, "boskos config apply: open store: %v\n", err)
		return 1
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	r := ranch.New(st, ranch.Options{Logger: log})
	rep, err := maintenance.Apply(ctx, r, cfg, fileOrigin(*configPath))
	if err != nil {
		fmt.Fprintf(stderr, "boskos config apply: sync %s: %v\n", *configPath, err)
		return 1
	}
	all, err := r.Resources(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "boskos config apply: list resources: %v\n", err)
		return 1
	}
	owned := 0
	for _, res := range all {
		if res.Owner != "" {
			owned++
		}
	}
	fmt.Fprintf(stdout, "applied %s to %s: %d resources (%d leased), %d stale queue entries removed\n",
		*configPath, *storeSpec, len(all), owned, rep.QueueGC)
	if len(rep.Sync.Deferred) > 0 {
		fmt.Fprintf(stdout, "some leased resources left the config or changed type (%s): apply again after they are released, or let a reconciler (boskos serve, the reconciler function) do it\n",
			strings.Join(rep.Sync.Deferred, ", "))
	}
	return 0
}
