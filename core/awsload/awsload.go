// Package awsload builds AWS clients from the SDK's default configuration
// sources (environment, shared config and credentials files, SSO, the
// instance or task role), for the CLI and the local server. The Lambda
// functions do not import it: they build their clients from the
// environment Lambda sets (core/lambdaapp.AWSEnv), so their bootstraps do
// not link the SDK's configuration loader and the credential providers it
// pulls in (about 260 KB).
package awsload

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/boskos-serverless/boskos/core/s3config"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/streams"
)

// Config loads the SDK's default configuration, with region and
// credentials replaced when set.
func Config(ctx context.Context, region string, creds aws.CredentialsProvider) (aws.Config, error) {
	var loads []func(*config.LoadOptions) error
	if region != "" {
		loads = append(loads, config.WithRegion(region))
	}
	if creds != nil {
		loads = append(loads, config.WithCredentialsProvider(creds))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// DynamoDB returns a DynamoDB client configured by cfg over the default
// configuration (dynamostore.NewClientFromConfig).
func DynamoDB(ctx context.Context, cfg dynamostore.ClientConfig) (*dynamodb.Client, error) {
	awsCfg, err := Config(ctx, cfg.Region, cfg.Credentials)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: %w", err)
	}
	return dynamostore.NewClientFromConfig(awsCfg, cfg), nil
}

// DynamoDBStreams returns a DynamoDB Streams client configured by cfg over
// the default configuration (streams.NewClientFromConfig).
func DynamoDBStreams(ctx context.Context, cfg dynamostore.ClientConfig) (*dynamodbstreams.Client, error) {
	awsCfg, err := Config(ctx, cfg.Region, cfg.Credentials)
	if err != nil {
		return nil, fmt.Errorf("dynamodb streams: %w", err)
	}
	return streams.NewClientFromConfig(awsCfg, cfg), nil
}

// S3 returns an S3 client configured by cfg over the default configuration
// (s3config.NewClientFromConfig).
func S3(ctx context.Context, cfg s3config.ClientConfig) (*s3.Client, error) {
	awsCfg, err := Config(ctx, cfg.Region, cfg.Credentials)
	if err != nil {
		return nil, fmt.Errorf("s3config: %w", err)
	}
	return s3config.NewClientFromConfig(awsCfg, cfg), nil
}
