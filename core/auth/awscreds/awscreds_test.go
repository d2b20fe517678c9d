package awscreds_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/boskos-serverless/boskos/core/auth"
	"github.com/boskos-serverless/boskos/core/auth/awscreds"
	"github.com/boskos-serverless/boskos/core/testkit"
	"github.com/boskos-serverless/boskos/core/testkit/moto"
)

func TestMain(m *testing.M) { moto.Main(m) }

// client returns the real SDK client of moto_server's Secrets Manager
// (skipping the test without it), through this package's constructor.
func client(t *testing.T) *secretsmanager.Client {
	t.Helper()
	return awscreds.NewSecretsClient(motoConfig(), moto.Endpoint(t))
}

func motoConfig() aws.Config {
	return aws.Config{Region: moto.Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

var seq atomic.Int64

// name is a name no other test uses (moto keeps state for its lifetime).
func name(t *testing.T) string {
	return fmt.Sprintf("boskos/%s/%d", strings.ReplaceAll(t.Name(), "/", "-"), seq.Add(1))
}

func credsDoc(t *testing.T, principal string) string {
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err)
	return fmt.Sprintf("principals:\n- {name: %s, password_hash: %q, owners: [ci-*], role: client}\n", principal, h)
}

func TestSecret(t *testing.T) {
	sm := client(t)
	ctx := context.Background()
	doc := credsDoc(t, "ci")
	str := name(t)
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(str), SecretString: aws.String(doc)})
	require.NoError(t, err)
	bin := name(t)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(bin), SecretBinary: []byte(doc)})
	require.NoError(t, err)

	tests := []struct {
		name    string
		id      string
		want    string
		wantErr error
	}{
		{name: "by name", id: str, want: doc},
		{name: "by ARN", id: *created.ARN, want: doc},
		{name: "a binary secret", id: bin, want: doc},
		{name: "missing", id: "boskos/no-such-secret", wantErr: awscreds.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := awscreds.Secret(sm, tc.id)(ctx)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Contains(t, err.Error(), "awscreds: get secret "+tc.id)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}

	t.Run("a new version is read", func(t *testing.T) {
		next := credsDoc(t, "bot")
		_, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(str), SecretString: aws.String(next)})
		require.NoError(t, err)
		got, err := awscreds.Secret(sm, str)(ctx)
		require.NoError(t, err)
		assert.Equal(t, next, string(got))
	})
}

// TestRefresherOnSecret: an auth.Refresher over a secret in moto puts the
// secret's credentials in force, and after the TTL the new version's; a
// deleted secret keeps the credentials in force.
func TestRefresherOnSecret(t *testing.T) {
	sm := client(t)
	ctx := context.Background()
	id := name(t)
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(credsDoc(t, "ci"))})
	require.NoError(t, err)
	clk := testkit.NewClock()
	h := &auth.Holder{}
	results := make(chan error, 4)
	r := auth.NewRefresher(h, awscreds.Secret(sm, id), auth.RefreshOptions{
		Source: "secret " + id, TTL: time.Minute, Now: clk.Now, Logger: testkit.Quiet(),
		OnRefresh: func(err error) { results <- err },
	})
	require.NoError(t, r.Load(ctx))
	require.NotNil(t, h.Load().Lookup("ci"))

	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(credsDoc(t, "bot"))})
	require.NoError(t, err)
	r.Refresh(ctx)
	assert.NotNil(t, h.Load().Lookup("ci"), "within the TTL the old credentials stay")
	clk.Add(time.Minute)
	r.Refresh(ctx)
	require.NoError(t, <-results)
	assert.NotNil(t, h.Load().Lookup("bot"))

	_, err = sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)})
	require.NoError(t, err)
	clk.Add(time.Minute)
	r.Refresh(ctx)
	require.ErrorIs(t, <-results, awscreds.ErrNotFound)
	assert.NotNil(t, h.Load().Lookup("bot"), "a failed read keeps the credentials in force")
}

// fakeSecrets answers every GetSecretValue with err: the translation of
// errors moto does not produce (it enforces no IAM by default).
type fakeSecrets struct{ err error }

func (f fakeSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return nil, f.err
}

func TestErrorTranslation(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantIs   error
		wantText string
	}{
		{name: "access denied", err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform secretsmanager:GetSecretValue"}, wantIs: awscreds.ErrAccessDenied, wantText: "not authorized"},
		{name: "KMS refused", err: &smithy.GenericAPIError{Code: "DecryptionFailure", Message: "kms"}, wantIs: awscreds.ErrAccessDenied},
		{name: "not found", err: &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "no"}, wantIs: awscreds.ErrNotFound},
		{name: "throttled", err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "rate exceeded"}, wantText: "ThrottlingException: rate exceeded"},
		{name: "not an API error", err: errors.New("dial tcp: connection refused"), wantText: "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := awscreds.Secret(fakeSecrets{tc.err}, "s")(context.Background())
			require.Error(t, err)
			if tc.wantIs != nil {
				assert.ErrorIs(t, err, tc.wantIs)
			}
			assert.Contains(t, err.Error(), tc.wantText)
			var api smithy.APIError
			assert.False(t, errors.As(err, &api), "an SDK error type escapes the adapter")
		})
	}
}
