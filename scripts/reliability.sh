#!/usr/bin/env bash
# Runs the long forms of the reliability suite (tests/reliability): more
# linearizability histories and operations (with the strict request_id
# queue model), more crashes, longer overload, a longer run under faults
# injected between the service and DynamoDB (3,000 grants), the cost of the
# queue under contention (2,000 grants), on every target including two
# `boskos serve` processes on one DynamoDB Local table; then the Lambda
# binaries' histories (tests/compat), then fuzzes every fuzz target for
# FUZZTIME. The figures of the run are the lines starting with
# "reliability:" (also written to $BOSKOS_RELIABILITY_ARTIFACTS/figures.txt).
# Every knob of the suite can be set in the environment (see
# tests/reliability/env_test.go), e.g.
#   BOSKOS_RELIABILITY_CRASHES=200 make reliability
#
# Each part is a test binary of its own, and so starts a fresh DynamoDB
# Local (package dynamotest; unless DYNAMODB_ENDPOINT names one to use
# throughout): one instance slows down as it accumulates the tables, items
# and stream records of the parts before (in one long run the queue-cost
# part, last, made 286 grants in 5 minutes where it makes 18 a second on a
# fresh instance).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

export BOSKOS_RELIABILITY=long
export BOSKOS_RELIABILITY_ARTIFACTS="${BOSKOS_RELIABILITY_ARTIFACTS:-$PWD/.reliability}"
mkdir -p "$BOSKOS_RELIABILITY_ARTIFACTS"
FUZZTIME="${FUZZTIME:-2m}"
RACE="${RACE--race}"
figures="$BOSKOS_RELIABILITY_ARTIFACTS/figures.txt"
: >"$figures"

# part NAME DIR GO-TEST-ARGS...: runs one part (one test binary), its log
# in NAME.log, its figures appended to figures.txt.
part() {
  local name=$1 dir=$2 status=0
  shift 2
  echo "== $name"
  local log="$BOSKOS_RELIABILITY_ARTIFACTS/$name.log"
  (cd "$dir" && go test -count=1 -v "$@") >"$log" 2>&1 || status=$?
  grep -E 'reliability:|^(--- )?(FAIL|ok|PASS)' "$log" | sed 's/^ *//' | tee -a "$figures"
  if [[ $status -ne 0 ]]; then
    echo "reliability: $name failed: see $log" >&2
    exit $status
  fi
}

echo "== reliability suite, long forms (artifacts of failures under $BOSKOS_RELIABILITY_ARTIFACTS)"
heavy='^(TestDynamoFaults|TestLinearizability|TestQueueContentionCost)$'
part crash-overload-checkers . $RACE -timeout 60m -skip "$heavy" ./tests/reliability/
part faults . $RACE -timeout 60m -run '^TestDynamoFaults$' ./tests/reliability/
part linearizability . $RACE -timeout 120m -run '^TestLinearizability$' ./tests/reliability/
part queue-cost . $RACE -timeout 60m -run '^TestQueueContentionCost$' ./tests/reliability/
echo "== linearizability of the Lambda binaries under the fake runtime (tests/compat)"
part lambda tests/compat -timeout 60m -run '^TestLinearizabilityLambda$' .

echo "== fuzzing, $FUZZTIME per target"
make --no-print-directory fuzz FUZZTIME="$FUZZTIME"
