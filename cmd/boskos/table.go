package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/boskos-serverless/boskos/core/awsload"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// dynamoConfig builds the DynamoDB client configuration from flags. With an
// endpoint (flag or AWS_ENDPOINT_URL_DYNAMODB), that is DynamoDB Local or
// LocalStack: when no region or credentials are configured in the
// environment, it uses us-east-1 and static dummy credentials, which local
// engines accept.
func dynamoConfig(endpoint, region string) dynamostore.ClientConfig {
	cfg := dynamostore.ClientConfig{Endpoint: endpoint, Region: region}
	local := endpoint != "" || os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	if !local {
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

// cmdTable is `boskos table create|delete`: it creates (and waits until
// active, with the index and Time to Live) or deletes the DynamoDB table.
func cmdTable(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("table "+verb, stderr)
	table := fs.String("table", "", "DynamoDB table name (required)")
	endpoint := fs.String("endpoint", "", "DynamoDB endpoint, e.g. http://127.0.0.1:8000 (default: the AWS SDK's, e.g. AWS_ENDPOINT_URL_DYNAMODB)")
	region := fs.String("region", "", "AWS region (default: the AWS SDK's)")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the table")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *table == "" {
		fmt.Fprintf(stderr, "boskos table %s: --table is required\n", verb)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client, err := awsload.DynamoDB(ctx, dynamoConfig(*endpoint, *region))
	if err != nil {
		fmt.Fprintf(stderr, "boskos table %s: %v\n", verb, err)
		return 1
	}
	if verb == "create" {
		err = dynamostore.CreateTable(ctx, client, *table)
	} else {
		err = dynamostore.DeleteTable(ctx, client, *table)
	}
	if err != nil {
		fmt.Fprintf(stderr, "boskos table %s: %v\n", verb, err)
		return 1
	}
	past := map[string]string{"create": "created", "delete": "deleted"}[verb]
	fmt.Fprintf(stdout, "table %s %s\n", *table, past)
	return 0
}
