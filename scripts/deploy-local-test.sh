#!/usr/bin/env bash
# The LocalStack path, tested without Docker: starts moto_server (preinstalled
# in the machine image) on a free port, runs `make deploy-local` against it
# (the real CDK app through cdklocal: bootstrap, asset publishing, the
# CloudFormation deployment), then checks through the AWS SDK
# (infra/cmd/checklocal) that the stack created the table (keys, index),
# every function (the janitor too: the deployment gets a janitor target),
# the schedules with their dead-letter queues, and the config bucket with
# the config (the object, or on moto the BucketDeployment's asset).
# moto's gaps are printed as "gap:" lines (see the README). Stops moto again.
#
# The functions' code is a placeholder bootstrap per function (moto never runs
# them), unless BOSKOS_BUILD_DIR names a real build.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
start=$(date +%s)

MOTO="$(pyenv which moto_server 2>/dev/null || command -v moto_server || true)"
[[ -n "$MOTO" ]] || { echo "deploy-local-test: moto_server not found (preinstalled in this project's machine image)" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/boskos-deploy-local.XXXXXX")"
moto_pid=""
cleanup() {
  [[ -n "$moto_pid" ]] && kill "$moto_pid" 2>/dev/null && wait "$moto_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z "${BOSKOS_BUILD_DIR:-}" ]]; then
  export BOSKOS_BUILD_DIR="$work/build"
  for f in $(cd infra && go run ./cmd/envs -functions); do
    mkdir -p "$BOSKOS_BUILD_DIR/$f"
    printf '#!/bin/sh\n# placeholder: moto does not run functions\n' >"$BOSKOS_BUILD_DIR/$f/bootstrap"
    chmod +x "$BOSKOS_BUILD_DIR/$f/bootstrap"
  done
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
"$MOTO" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 80); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  kill -0 "$moto_pid" 2>/dev/null || { cat "$work/moto.log" >&2; exit 1; }
  sleep 0.25
done
echo "== moto_server on port $port (pid $moto_pid)"

# localhost, not 127.0.0.1: cdklocal's asset publishing does not find the bucket otherwise.
export AWS_ENDPOINT_URL="http://localhost:$port"
janitor="aws-account=account-cleaner"
# dev's auth mode, none: a stack with credentials does not deploy on moto, whose CloudFormation
# has no AWS::SecretsManager::Secret (the grants' Ref to it resolves to nothing:
# "MalformedPolicyDocument: Policy statement must contain resources"). On LocalStack,
# CDK_ARGS="-c auth=basic" make deploy-local, then checklocal with CHECK_AUTH=basic, checks it.
auth=none
export CDK_OUT="$work/cdk.out"
CDK_ARGS="-c janitorTargets=$janitor -c auth=$auth" make --no-print-directory deploy-local ENV=dev
deployed=$(date +%s)

echo "== checks through the SDK"
(cd infra && CHECK_JANITOR_TARGETS="$janitor" CHECK_AUTH="$auth" go run ./cmd/checklocal -endpoint "$AWS_ENDPOINT_URL" -env dev -cdk-out "$CDK_OUT")
end=$(date +%s)
echo "deploy-local-test: ok (deploy $((deployed - start)) s, checks $((end - deployed)) s)"
