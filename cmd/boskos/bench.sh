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
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100 10000 100000)
. "$(dirname "$0")/bench-lib.sh"

declare -A RESULT
for n in "${SIZES[@]}"; do
  bench_pool "$WORK/config-$n.yaml" "$n"
  echo "== $n resources" >&2
  bench_once "$WORK/config-$n.yaml"
  sed 's/^/   /' "$WORK/bench.out" >&2
  RESULT[$n]="$(awk '/^cycles\/s:/ {print $2}' "$WORK/bench.out")"
done

echo
printf "%-12s %12s\n" resources cycles/s
for n in "${SIZES[@]}"; do printf "%-12s %12s\n" "$n" "${RESULT[$n]}"; done
first="${SIZES[0]}"; last="${SIZES[${#SIZES[@]}-1]}"
if [ "$first" != "$last" ]; then
  awk -v a="${RESULT[$first]}" -v b="${RESULT[$last]}" -v f="$first" -v l="$last" \
    'BEGIN { r = (b > 0) ? a / b : 0; printf "ratio %s/%s: %.2f (goal: <= 1.25) %s\n", f, l, r, (r <= 1.25 ? "OK" : "OVER") }'
fi
