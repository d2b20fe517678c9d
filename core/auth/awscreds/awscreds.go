package awscreds

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/boskos-serverless/boskos/core/auth"
)

// Errors that a Fetch of this package wraps.
var (
	// ErrNotFound: the secret does not exist or is scheduled for
	// deletion.
	ErrNotFound = errors.New("no such secret")
	// ErrAccessDenied: IAM or KMS refused the read (the function's role
	// lacks secretsmanager:GetSecretValue on the secret, or kms:Decrypt on
	// its customer managed key).
	ErrAccessDenied = errors.New("access denied")
)

// SecretsAPI is the Secrets Manager method a Secret source calls
// (*secretsmanager.Client has it).
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsAPI = (*secretsmanager.Client)(nil)

// Secret returns the Fetch of the current version (AWSCURRENT) of the
// secret id (its name or ARN): its SecretString, or its SecretBinary.
func Secret(api SecretsAPI, id string) auth.Fetch {
	return func(ctx context.Context) ([]byte, error) {
		out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return nil, translate(ctx, "get secret "+id, err)
		}
		if out.SecretString != nil {
			return []byte(*out.SecretString), nil
		}
		return out.SecretBinary, nil
	}
}

// translate turns an SDK error into this package's: the operation, a
// sentinel where one applies, and the SDK's text (never its types).
func translate(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("awscreds: %s: %w", op, cerr)
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("awscreds: %s: %s", op, err.Error())
	}
	switch api.ErrorCode() {
	case "ResourceNotFoundException":
		return fmt.Errorf("awscreds: %s: %w (%s)", op, ErrNotFound, api.ErrorMessage())
	case "AccessDeniedException", "AccessDenied", "DecryptionFailure", "KMSAccessDeniedException", "UnrecognizedClientException":
		return fmt.Errorf("awscreds: %s: %w (%s: %s)", op, ErrAccessDenied, api.ErrorCode(), api.ErrorMessage())
	}
	return fmt.Errorf("awscreds: %s: %s: %s", op, api.ErrorCode(), api.ErrorMessage())
}

// NewSecretsClient returns a Secrets Manager client on cfg (the Lambda
// functions build theirs from the environment Lambda sets), at endpoint
// when it is not "" (LocalStack, moto).
func NewSecretsClient(cfg aws.Config, endpoint string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
