// Package lambdacreds gives the API functions the client of their remote
// credentials source (BOSKOS_CREDENTIALS_SECRET: Secrets Manager): a
// package of its own, so that only the API functions link the Secrets
// Manager client, not the scheduled jobs, whose bootstraps are closest to
// the 10 MiB budget.
package lambdacreds

import (
	"github.com/boskos-serverless/boskos/core/auth/awscreds"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

// Source sets cfg.CredentialsFetch, when unset, to a read of
// cfg.CredentialsSecret with a client built from cfg.AWS (and cfg.Region,
// cfg.SecretsEndpoint): the option of the API functions' lambdaapp.Main.
// Without a secret it does nothing.
func Source(cfg *lambdaapp.Config) {
	if cfg.CredentialsFetch != nil || cfg.CredentialsSecret == "" {
		return
	}
	c := cfg.AWS.Config()
	if cfg.Region != "" {
		c.Region = cfg.Region
	}
	cfg.CredentialsFetch = awscreds.Secret(awscreds.NewSecretsClient(c, cfg.SecretsEndpoint), cfg.CredentialsSecret)
}
