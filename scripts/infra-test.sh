#!/usr/bin/env bash
# The infrastructure tests (called by scripts/test.sh):
#   1. infra/'s Go tests: CDK assertion tests on one synthesized stack per
#      environment (plus a janitor variant and a deliberately broken stack),
#      cdk-nag's AwsSolutions pack, cfn-lint on every synthesized template;
#   2. scripts/deploy-local-test.sh: `make deploy-local` against moto_server,
#      checked through the SDK.
# The Lambda binaries are placeholders unless build/ holds them all (synth only
# needs the directories; moto never runs the functions).
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
t0=$(date +%s)
echo "== infra: CDK assertion tests, cdk-nag, cfn-lint (one synth per environment)"
(cd infra && go test -count=1 -timeout 15m ./...)
t1=$(date +%s)
echo "== infra: make deploy-local against moto_server"
./scripts/deploy-local-test.sh
t2=$(date +%s)
echo "infra tests: ok (assertion tests $((t1 - t0)) s, moto deploy $((t2 - t1)) s)"
