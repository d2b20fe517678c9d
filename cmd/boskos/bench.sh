#!/usr/bin/env bash
# Measures acquire→release cycles/s of `boskos serve` on the embedded bolt
# store seeded with 100, 10,000 and 100,000 resources, using `boskos bench`
# (16 concurrent clients by default), and prints cycles/s for each size and
# the ratio of the smallest to the largest pool (the goal: acquire costs the
# same at any pool size, so the ratio stays under 1.25).
#
# Usage: cmd/boskos/bench.sh [SIZES...]        (default: 100 10000 100000)
# Env:   DURATION (10s), CONCURRENCY (16), KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-10s}"
CONCURRENCY="${CONCURRENCY:-16}"
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100 10000 100000)

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "building boskos..." >&2
go build -o "$WORK/boskos" ./cmd/boskos

declare -A RESULT
for n in "${SIZES[@]}"; do
  cfg="$WORK/config-$n.yaml"
  {
    echo "resources:"
    echo "- type: bench"
    echo "  state: free"
    echo "  names:"
    seq -f "  - bench-%06g" 1 "$n"
  } > "$cfg"
  log="$WORK/serve-$n.log"
  "$WORK/boskos" serve --config "$cfg" --store "bolt:$WORK/bench-$n.db" --port 0 > "$log" 2>&1 &
  SERVER_PID=$!
  start=$(date +%s)
  addr=""
  while [ -z "$addr" ]; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "server for $n resources died:" >&2; tail -n 20 "$log" >&2; exit 1; fi
    if [ $(( $(date +%s) - start )) -gt 900 ]; then echo "server for $n resources did not start" >&2; exit 1; fi
    addr="$(grep -m1 -o 'msg=serving addr=[^ ]*' "$log" | sed 's/.*addr=//' || true)"
    [ -n "$addr" ] || sleep 0.5
  done
  echo "== $n resources (server at $addr, seeded)" >&2
  out="$("$WORK/boskos" bench --url "http://$addr" --type bench --concurrency "$CONCURRENCY" --duration "$DURATION")"
  echo "$out" | sed 's/^/   /' >&2
  RESULT[$n]="$(echo "$out" | awk '/^cycles\/s:/ {print $2}')"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
done

echo
printf "%-12s %12s\n" resources cycles/s
for n in "${SIZES[@]}"; do printf "%-12s %12s\n" "$n" "${RESULT[$n]}"; done
first="${SIZES[0]}"; last="${SIZES[${#SIZES[@]}-1]}"
if [ "$first" != "$last" ]; then
  awk -v a="${RESULT[$first]}" -v b="${RESULT[$last]}" -v f="$first" -v l="$last" \
    'BEGIN { r = (b > 0) ? a / b : 0; printf "ratio %s/%s: %.2f (goal: <= 1.25) %s\n", f, l, r, (r <= 1.25 ? "OK" : "OVER") }'
fi
