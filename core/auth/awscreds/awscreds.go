package awscreds

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/boskos-serverless/boskos/core/auth"
)

// Errors that a Fetch of this package wraps.
var (
	// ErrNotFound: the secret or parameter does not exist (or, for a
	// secret, is scheduled for deletion).
	ErrNotFound = errors.New("no such secret or parameter")
	// ErrAccessDenied: IAM or KMS refused the read (the function's role
	// lacks secretsmanager:GetSecretValue, ssm:GetParameter or
	// kms:Decrypt on it).
	ErrAccessDenied = errors.New("access denied")
	// ErrNotSecure: the parameter is not a SecureString (the credentials
	// must be stored encrypted).
	ErrNotSecure = errors.New("not a SecureString parameter")
)

// SecretsAPI is the Secrets Manager method a Secret source calls
// (*secretsmanager.Client has it).
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ParametersAPI is the SSM request a Parameter source makes: GetParameter
// of name with decryption. It is not the SDK's signature: the SDK's ssm
// package is not linked (see ParametersClient).
type ParametersAPI interface {
	GetParameter(ctx context.Context, name string) (Param, error)
}

// Param is the part of an SSM parameter a Parameter source reads.
type Param struct {
	// Type is String, StringList or SecureString.
	Type string
	// Value is the value, decrypted.
	Value string
}

// TypeSecureString is the SSM type of an encrypted parameter.
const TypeSecureString = "SecureString"

var (
	_ SecretsAPI    = (*secretsmanager.Client)(nil)
	_ ParametersAPI = (*ParametersClient)(nil)
)

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

// Parameter returns the Fetch of the SecureString parameter name (its name
// or ARN), decrypted. A parameter of another type is ErrNotSecure.
func Parameter(api ParametersAPI, name string) auth.Fetch {
	return func(ctx context.Context) ([]byte, error) {
		p, err := api.GetParameter(ctx, name)
		if err != nil {
			return nil, translate(ctx, "get parameter "+name, err)
		}
		if p.Type != TypeSecureString {
			return nil, fmt.Errorf("awscreds: get parameter %s: %w (it is a %s: store the credentials encrypted)", name, ErrNotSecure, p.Type)
		}
		return []byte(p.Value), nil
	}
}

// translate turns an SDK error into this package's: the operation, a
// sentinel where one applies, and the SDK's text (never its types).
func translate(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("awscreds: %s: %w", op, cerr)
	}
	// smithy.APIError, and the ParametersClient's errors.
	var api interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if !errors.As(err, &api) {
		return fmt.Errorf("awscreds: %s: %s", op, err.Error())
	}
	switch api.ErrorCode() {
	case "ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound", "InvalidKeyId":
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
