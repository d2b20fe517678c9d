#!/usr/bin/env bash
# Runs every test of the project. It installs what the tests need (DynamoDB
# Local from npm; Debian's Chromium for the dashboard's browser test when it
# is missing), runs `make lint` (gofmt, go mod tidy -diff, go vet, cfn-lint,
# asl-validator), the main module's tests, the infrastructure tests, the
# nested compatibility module's tests (tests/compat), and last the browser
# test of the dashboard (scripts/test-browser.sh).
#
# Every test binary that needs DynamoDB starts a DynamoDB Local of its own
# (package dynamotest, on a free port, stopped when the binary ends): one
# instance shared by the whole run slows down as it collects the tables,
# items and stream records of every package before (the last ones, and
# tests/compat, ran several times slower and timed out at times), and two
# packages that run at once each get a core of their own.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
# A DYNAMODB_ENDPOINT of the developer's is left alone: the tests start their own.
unset DYNAMODB_ENDPOINT

echo "== lint (gofmt, go mod tidy -diff, go vet in both modules, cfn-lint, asl-validator)"
make --no-print-directory lint

echo "== DynamoDB Local (installed once; each test binary that needs it starts its own)"
./scripts/dynamodb-local.sh install

echo "== main module tests (race detector on: concurrency is the heart of this service)"
go test -race -count=1 -timeout 20m ./...

echo "== infrastructure: CDK assertion tests, cdk-nag, cfn-lint; make deploy-local against moto_server"
./scripts/infra-test.sh

echo "== upstream client compatibility and Lambda end-to-end (tests/compat)"
(cd tests/compat && go test -count=1 -timeout 20m ./...)

echo "== dashboard in a real browser (tests/browser: Chromium driven by chromedp against boskos serve)"
./scripts/test-browser.sh
