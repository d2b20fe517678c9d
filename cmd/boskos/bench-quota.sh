#!/usr/bin/env bash
# Measures acquire→release cycles/s of `boskos serve` on the embedded bolt
# store (1,000 resources) with and without a quota, using `boskos bench`
# (16 concurrent clients, each its own owner bench-<i>). The quota covers
# every client (owner "bench-*") with a max of MAX (default: the
# concurrency, so that nothing is refused and the figure is the cost of the
# counting: each acquire a transaction with the counter, each release a
# read and a transaction); a smaller MAX adds refused acquires (429,
# printed as over-quota). Rounds alternate so that a noisy machine hurts
# both sides alike; it prints each round and the ratio of the medians.
#
# Usage: cmd/boskos/bench-quota.sh    Env: DURATION (10s), ROUNDS (3), CONCURRENCY (16), MAX (CONCURRENCY)
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
CONCURRENCY="${CONCURRENCY:-16}"
MAX="${MAX:-$CONCURRENCY}"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$WORK/boskos" ./cmd/boskos
{ echo "resources:"; echo "- type: bench"; echo "  state: free"; echo "  names:"; seq -f "  - bench-%06g" 1 1000; } > "$WORK/none.yaml"
{ cat "$WORK/none.yaml"; echo "quotas:"; echo "- {owner: \"bench-*\", type: bench, max: $MAX}"; } > "$WORK/quota.yaml"

# run MODE: starts a server with config MODE.yaml (none or quota), benches
# it, prints cycles/s and the over-quota answers.
run() {
  local mode=$1 log="$WORK/serve-$1.log"
  rm -f "$WORK/bench.db"
  "$WORK/boskos" serve --config "$WORK/$mode.yaml" --store "bolt:$WORK/bench.db" --port 0 > "$log" 2>&1 &
  SERVER_PID=$!
  local addr=""
  while [ -z "$addr" ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$log" >&2; exit 1; }
    addr="$(grep -m1 -o 'msg=serving addr=[^ ]*' "$log" | sed 's/.*addr=//' || true)"
    [ -n "$addr" ] || sleep 0.2
  done
  "$WORK/boskos" bench --url "http://$addr" --type bench --concurrency "$CONCURRENCY" --duration "$DURATION" > "$WORK/bench.out"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  grep -q '^errors: 0$' "$WORK/bench.out" || { cat "$WORK/bench.out" >&2; exit 1; }
  awk '/^cycles\/s:/ {c=$2} /^over-quota:/ {q=$2} END {print c, q}' "$WORK/bench.out"
}

none=(); quota=()
for i in $(seq 1 "$ROUNDS"); do
  read -r n _ < <(run none); read -r q refused < <(run quota)
  none+=("$n"); quota+=("$q")
  echo "round $i: without a quota $n cycles/s, with a quota (max $MAX) $q cycles/s ($refused over-quota answers)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mn=$(median "${none[@]}"); mq=$(median "${quota[@]}")
echo "median: without $mn, with $mq cycles/s; with/without = $(awk -v a="$mq" -v n="$mn" 'BEGIN {printf "%.3f", a/n}')"
