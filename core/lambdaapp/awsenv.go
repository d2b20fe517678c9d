package lambdaapp

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// AWSEnv is the AWS configuration that Lambda gives a function in its
// environment: the region and the execution role's credentials
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which are
// what the SDK's default chain resolves to in Lambda anyway. The functions
// build their clients from it rather than with config.LoadDefaultConfig,
// whose shared-file, SSO, STS and instance-metadata providers add about
// 1.5 MB to every bootstrap.
type AWSEnv struct {
	// Region is AWS_REGION (else AWS_DEFAULT_REGION).
	Region string
	// AccessKeyID, SecretAccessKey and SessionToken are the credentials.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Endpoint is AWS_ENDPOINT_URL, every service's endpoint override (the
	// per-service AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_S3 take
	// precedence, as in the SDK).
	Endpoint string
}

// AWSFromEnv reads an AWSEnv through lookup.
func AWSFromEnv(lookup func(string) (string, bool)) AWSEnv {
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := lookup(n); ok && strings.TrimSpace(v) != "" {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	return AWSEnv{
		Region:          get("AWS_REGION", "AWS_DEFAULT_REGION"),
		AccessKeyID:     get("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: get("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    get("AWS_SESSION_TOKEN"),
		Endpoint:        get("AWS_ENDPOINT_URL"),
	}
}

// Config returns the aws.Config of e. Without credentials in the
// environment, requests fail with the SDK's "static credentials are empty".
func (e AWSEnv) Config() aws.Config {
	c := aws.Config{
		Region:      e.Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(e.AccessKeyID, e.SecretAccessKey, e.SessionToken)),
	}
	if e.Endpoint != "" {
		c.BaseEndpoint = aws.String(e.Endpoint)
	}
	return c
}
