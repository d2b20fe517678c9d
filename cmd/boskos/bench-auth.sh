#!/usr/bin/env bash
# Measures acquire→release cycles/s of `boskos serve` on the embedded bolt
# store (1,000 resources) with and without --credentials, using `boskos
# bench` (16 concurrent clients, each its own owner bench-<i>, all one
# principal at bcrypt's default cost). Rounds alternate so that a noisy
# machine hurts both sides alike; it prints each round and the ratio of the
# medians (the goal: credentials cost under 10%).
#
# Usage: cmd/boskos/bench-auth.sh        Env: DURATION (10s), ROUNDS (3), CONCURRENCY (16)
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
"$WORK/boskos" credentials add bench --owners 'bench-*' --role client --file "$WORK/credentials.yaml" --generate 2>/dev/null > "$WORK/password"

# run MODE: starts a server (MODE auth or none), benches it, prints cycles/s.
run() {
  local mode=$1 log="$WORK/serve-$1.log" extra=() auth=()
  if [ "$mode" = auth ]; then
    extra=(--credentials "$WORK/credentials.yaml")
    auth=(--username bench --password-file "$WORK/password")
  fi
  rm -f "$WORK/bench.db"
  "$WORK/boskos" serve --config "$WORK/config.yaml" --store "bolt:$WORK/bench.db" --port 0 "${extra[@]}" > "$log" 2>&1 &
  SERVER_PID=$!
  local addr=""
  while [ -z "$addr" ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$log" >&2; exit 1; }
    addr="$(grep -m1 -o 'msg=serving addr=[^ ]*' "$log" | sed 's/.*addr=//' || true)"
    [ -n "$addr" ] || sleep 0.2
  done
  "$WORK/boskos" bench --url "http://$addr" --type bench --concurrency "$CONCURRENCY" --duration "$DURATION" "${auth[@]}" > "$WORK/bench.out"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  grep -q '^errors: 0$' "$WORK/bench.out" || { cat "$WORK/bench.out" >&2; exit 1; }
  awk '/^cycles\/s:/ {print $2}' "$WORK/bench.out"
}

none=(); auth=()
for i in $(seq 1 "$ROUNDS"); do
  n=$(run none); a=$(run auth)
  none+=("$n"); auth+=("$a")
  echo "round $i: without credentials $n cycles/s, with credentials $a cycles/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mn=$(median "${none[@]}"); ma=$(median "${auth[@]}")
echo "median: without $mn, with $ma cycles/s; with/without = $(awk -v a="$ma" -v n="$mn" 'BEGIN {printf "%.3f", a/n}')"
