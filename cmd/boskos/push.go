package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/boskos-serverless/boskos/core/awsload"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/s3config"
)

// cmdConfigPush is `boskos config push --config FILE --to s3://bucket/key`:
// it validates the file with the one validator (boskos.ParseValidConfig, as
// `boskos config validate` and the reconciler do) and only then uploads it
// to the object the reconciler function reads (BOSKOS_CONFIG_URI). A file
// that fails validation uploads nothing; every error is printed.
func cmdConfigPush(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config push", stderr)
	configPath := fs.String("config", "", "resources config file (required)")
	to := fs.String("to", "", "S3 object to upload it to (required): s3://bucket/key, the reconciler's BOSKOS_CONFIG_URI")
	endpoint := fs.String("s3-endpoint", "", "S3 endpoint, e.g. http://127.0.0.1:9000; buckets are then addressed path-style (default: AWS_ENDPOINT_URL_S3, else AWS)")
	region := fs.String("region", "", "AWS region (default: the AWS SDK's)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	var errs []string
	if *configPath == "" {
		errs = append(errs, "--config is required")
	}
	var uri s3config.URI
	if *to == "" {
		errs = append(errs, "--to is required (s3://bucket/key)")
	} else if u, err := s3config.ParseURI(*to); err != nil {
		errs = append(errs, "--to: "+err.Error())
	} else {
		uri = u
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(stderr, "boskos config push: %s\n", e)
		}
		return 2
	}
	data, err := os.ReadFile(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "boskos config push: read config: %v\n", err)
		return 1
	}
	cfg, err := boskos.ParseValidConfig(data)
	if err != nil {
		fmt.Fprintf(stderr, "boskos config push: %s: %v\nnothing was uploaded\n", *configPath, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client, err := awsload.S3(ctx, s3ClientConfig(*endpoint, *region))
	if err != nil {
		fmt.Fprintf(stderr, "boskos config push: %v\n", err)
		return 1
	}
	etag, err := s3config.New(client, uri).Put(ctx, data)
	if err != nil {
		fmt.Fprintf(stderr, "boskos config push: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "pushed %s to %s (ETag %s, %d resource entries); the reconciler applies it on its next pass\n",
		*configPath, uri, etag, len(cfg.Resources))
	return 0
}

// s3ClientConfig is the S3 client of `config push`: AWS by default; with an
// endpoint (the flag, else AWS_ENDPOINT_URL_S3) path-style, and, as for a
// local DynamoDB, region us-east-1 and static credentials when the
// environment has none.
func s3ClientConfig(endpoint, region string) s3config.ClientConfig {
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL_S3")
	}
	cfg := s3config.ClientConfig{Endpoint: endpoint, Region: region}
	if endpoint == "" {
		return cfg
	}
	if cfg.Region == "" && os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		cfg.Region = "us-east-1"
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	}
	return cfg
}
