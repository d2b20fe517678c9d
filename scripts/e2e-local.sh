#!/usr/bin/env bash
# `make e2e-local`: the end-to-end checks (make e2e) against the stack that
# `make deploy-local` deployed on LocalStack (needs Docker: make localstack-up
# deploy-local first; it cannot run on this project's CI machine, which has no
# Docker).
#
#   1. reads the stack's outputs (infra/cdk.out/outputs-local-$ENV.json);
#   2. turns ApiUrl (AWS's host name) into LocalStack's address of the same API,
#      http://<api-id>.execute-api.localhost.localstack.cloud:4566
#      (E2E_LOCAL_URL overrides it);
#   3. pushes tests/compat/testdata/e2e.yaml, the suite's resources, to the
#      stack's config bucket and has the reconciler apply it (one invocation with
#      the aws CLI when it is installed, else one reconciler period's wait);
#   4. runs make e2e URL=<that address>.
#
# The stack must authenticate no one (dev's auth mode, none): the suite sends
# no credentials. dev's reaper expires leases after 30m, so the reaping scenario
# is skipped (saying so) unless the stack was deployed with a shorter
# BOSKOS_REAPER_EXPIRE and REAPER_EXPIRE/REAPER_PERIOD say so.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
ENV="${ENV:-dev}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"
OUT="${CDK_OUT:-$ROOT/infra/cdk.out}/outputs-local-$ENV.json"
die() { echo "e2e-local: $*" >&2; exit 1; }

[[ -f "$OUT" ]] || die "no $OUT: run make localstack-up deploy-local first (with Docker)"
output() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' "$OUT" "boskos-$ENV" "$1"; }
api_url="$(output ApiUrl)" || die "$OUT has no ApiUrl (an emulator without API Gateway V2: LocalStack needs a plan with it)"
bucket="$(output ConfigBucket)"
if [[ -z "${E2E_LOCAL_URL:-}" ]]; then
  id="${api_url#https://}"
  id="${id%%.*}"
  port="${AWS_ENDPOINT_URL##*:}"
  E2E_LOCAL_URL="http://$id.execute-api.localhost.localstack.cloud:${port%%/*}"
fi
echo "== the stack's API on LocalStack: $E2E_LOCAL_URL"

echo "== the suite's resources (tests/compat/testdata/e2e.yaml) into s3://$bucket/boskos.yaml"
go run ./cmd/boskos config push --config tests/compat/testdata/e2e.yaml --to "s3://$bucket/boskos.yaml" --s3-endpoint "$AWS_ENDPOINT_URL"
if command -v aws >/dev/null; then
  fn="$(aws --endpoint-url "$AWS_ENDPOINT_URL" lambda list-functions --query 'Functions[].FunctionName' --output text |
    tr '\t' '\n' | grep -m1 "^boskos-$ENV-ReconcilerFunction" || true)"
  [[ -n "$fn" ]] || die "no reconciler function boskos-$ENV-ReconcilerFunction* on $AWS_ENDPOINT_URL"
  echo "== one reconciler pass ($fn)"
  aws --endpoint-url "$AWS_ENDPOINT_URL" lambda invoke --function-name "$fn" \
    --payload '{"id":"e2e-local","detail-type":"Scheduled Event","source":"aws.events"}' /dev/stdout >/dev/null
else
  wait="${RECONCILER_WAIT:-330}"
  echo "== no aws CLI: waiting ${wait}s for the reconciler's scheduled pass (dev: every 5 minutes)"
  sleep "$wait"
fi

make --no-print-directory e2e URL="$E2E_LOCAL_URL"
