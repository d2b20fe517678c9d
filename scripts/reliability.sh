#!/usr/bin/env bash
# Runs the long forms of the reliability suite (tests/reliability): more
# linearizability histories and operations (with the strict request_id
# queue model), more crashes, longer overload, a longer run under faults
# injected between the service and DynamoDB (3,000 grants), the cost of the
# queue under contention (2,000 grants), on every target including two
# `boskos serve` processes on one DynamoDB Local table, then fuzzes every fuzz target for FUZZTIME. The figures of
# the run are the lines starting with "reliability:" (also written to
# $BOSKOS_RELIABILITY_ARTIFACTS/figures.txt). Every knob of the suite can be
# set in the environment (see tests/reliability/env_test.go), e.g.
#   BOSKOS_RELIABILITY_CRASHES=200 make reliability
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

export BOSKOS_RELIABILITY=long
export BOSKOS_RELIABILITY_ARTIFACTS="${BOSKOS_RELIABILITY_ARTIFACTS:-$PWD/.reliability}"
mkdir -p "$BOSKOS_RELIABILITY_ARTIFACTS"
FUZZTIME="${FUZZTIME:-2m}"
RACE="${RACE--race}"

if [[ -z "${DYNAMODB_ENDPOINT:-}" ]]; then
  DYNAMODB_LOCAL_STATE="$(mktemp -d "${TMPDIR:-/tmp}/boskos-reliability-ddb.XXXXXX")"
  export DYNAMODB_LOCAL_STATE
  cleanup() {
    ./scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
    rm -rf "$DYNAMODB_LOCAL_STATE"
  }
  trap cleanup EXIT
  DYNAMODB_ENDPOINT="$(./scripts/dynamodb-local.sh start | tail -n 1)"
  export DYNAMODB_ENDPOINT
fi
echo "== DynamoDB Local at $DYNAMODB_ENDPOINT"

echo "== reliability suite, long forms (artifacts of failures under $BOSKOS_RELIABILITY_ARTIFACTS)"
log="$BOSKOS_RELIABILITY_ARTIFACTS/test.log"
status=0
go test $RACE -count=1 -timeout 90m -v ./tests/reliability/ >"$log" 2>&1 || status=$?
grep -E 'reliability:|^(--- )?(FAIL|ok|PASS)' "$log" | sed 's/^ *//' | tee "$BOSKOS_RELIABILITY_ARTIFACTS/figures.txt"
if [[ $status -ne 0 ]]; then
  echo "reliability suite failed: see $log" >&2
  exit $status
fi

echo "== linearizability of the Lambda binaries under the fake runtime (tests/compat)"
log="$BOSKOS_RELIABILITY_ARTIFACTS/lambda.log"
(cd tests/compat && go test -count=1 -timeout 60m -v -run '^TestLinearizabilityLambda$' .) >"$log" 2>&1 || status=$?
grep -E 'reliability:|^(--- )?(FAIL|ok|PASS)' "$log" | sed 's/^ *//' | tee -a "$BOSKOS_RELIABILITY_ARTIFACTS/figures.txt"
if [[ $status -ne 0 ]]; then
  echo "Lambda linearizability failed: see $log" >&2
  exit $status
fi

echo "== fuzzing, $FUZZTIME per target"
make --no-print-directory fuzz FUZZTIME="$FUZZTIME"
