#!/usr/bin/env bash
# Runs every test of the project. It installs and starts what the tests need
# (DynamoDB Local from npm, on a free port; Debian's Chromium for the
# dashboard's browser test when it is missing), runs `make lint` (gofmt, go mod
# tidy -diff, go vet, cfn-lint, asl-validator), the main module's tests and
# the nested compatibility module's tests against it, and stops it again;
# last the browser test of the dashboard (scripts/test-browser.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

# A DynamoDB Local of this run's own (its own state directory), so that an
# instance a developer started with `make dynamodb-start` is left alone.
DYNAMODB_LOCAL_STATE="$(mktemp -d "${TMPDIR:-/tmp}/boskos-test-ddb.XXXXXX")"
export DYNAMODB_LOCAL_STATE
cleanup() {
  ./scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
  rm -rf "$DYNAMODB_LOCAL_STATE"
}
trap cleanup EXIT

echo "== lint (gofmt, go mod tidy -diff, go vet in both modules, cfn-lint, asl-validator)"
make --no-print-directory lint

echo "== DynamoDB Local"
DYNAMODB_ENDPOINT="$(./scripts/dynamodb-local.sh start | tail -n 1)"
export DYNAMODB_ENDPOINT
echo "DynamoDB Local at $DYNAMODB_ENDPOINT"

echo "== main module tests (race detector on: concurrency is the heart of this service)"
go test -race -count=1 -timeout 20m ./...

echo "== infrastructure: CDK assertion tests, cdk-nag, cfn-lint; make deploy-local against moto_server"
./scripts/infra-test.sh

echo "== upstream client compatibility and Lambda end-to-end (tests/compat)"
(cd tests/compat && go test -count=1 -timeout 20m ./...)

echo "== dashboard in a real browser (tests/browser: Chromium driven by chromedp against boskos serve)"
./scripts/test-browser.sh
