// Package lambdacreds gives the API functions the client of their remote
// credentials source (BOSKOS_CREDENTIALS_SECRET: Secrets Manager;
// BOSKOS_CREDENTIALS_PARAMETER: SSM): a package of its own, so that only
// the API functions link the Secrets Manager client, not the scheduled
// jobs, whose bootstraps are closest to the 10 MiB budget.
package lambdacreds

import (
	"github.com/boskos-serverless/boskos/core/auth/awscreds"
	"github.com/boskos-serverless/boskos/core/lambdaapp"
)

// Source sets cfg.CredentialsFetch, when unset, to a read of
// cfg.CredentialsSecret or cfg.CredentialsParameter with a client built
// from cfg.AWS (and cfg.Region, the service's endpoint override): the
// option of the API functions' lambdaapp.Main. Without either it does
// nothing.
func Source(cfg *lambdaapp.Config) {
	if cfg.CredentialsFetch != nil {
		return
	}
	c := cfg.AWS.Config()
	if cfg.Region != "" {
		c.Region = cfg.Region
	}
	switch {
	case cfg.CredentialsSecret != "":
		cfg.CredentialsFetch = awscreds.Secret(awscreds.NewSecretsClient(c, cfg.SecretsEndpoint), cfg.CredentialsSecret)
	case cfg.CredentialsParameter != "":
		cfg.CredentialsFetch = awscreds.Parameter(awscreds.NewParametersClient(c, cfg.SSMEndpoint), cfg.CredentialsParameter)
	}
}
