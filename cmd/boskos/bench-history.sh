#!/usr/bin/env bash
# Measures acquire→release cycles/s of `boskos serve` on the embedded bolt
# store (1,000 resources) with the lease history on (--history: each acquire
# and release writes its record in its own transaction) and off, using
# `boskos bench` (16 concurrent clients). Rounds alternate so that a noisy
# machine hurts both sides alike; it prints each round and the ratio of the
# medians (the goal: within 15%).
#
# Usage: cmd/boskos/bench-history.sh    Env: DURATION (10s), ROUNDS (3), CONCURRENCY (16)
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
CONCURRENCY="${CONCURRENCY:-16}"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$WORK/boskos" ./cmd/boskos
{ echo "resources:"; echo "- type: bench"; echo "  state: free"; echo "  names:"; seq -f "  - bench-%06g" 1 1000; } > "$WORK/config.yaml"

# run ON: starts a server with --history=ON, benches it, prints cycles/s.
run() {
  local log="$WORK/serve-$1.log"
  rm -f "$WORK/bench.db"
  "$WORK/boskos" serve --config "$WORK/config.yaml" --history="$1" --store "bolt:$WORK/bench.db" --port 0 > "$log" 2>&1 &
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
  awk '/^cycles\/s:/ {print $2}' "$WORK/bench.out"
}

off=(); on=()
for i in $(seq 1 "$ROUNDS"); do
  f=$(run false); n=$(run true)
  off+=("$f"); on+=("$n")
  echo "round $i: history off $f cycles/s, on $n cycles/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mf=$(median "${off[@]}"); mo=$(median "${on[@]}")
echo "median: off $mf, on $mo cycles/s; on/off = $(awk -v a="$mo" -v n="$mf" 'BEGIN {printf "%.3f", a/n}')"
