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
. "$(dirname "$0")/bench-lib.sh"

bench_pool "$WORK/config.yaml" 1000
"$WORK/boskos" credentials add bench --owners 'bench-*' --role client --file "$WORK/credentials.yaml" --generate 2>/dev/null > "$WORK/password"
cycles() { awk '/^cycles\/s:/ {print $2 " cycles/s"}' "$WORK/bench.out"; }
bench_without-credentials() { bench_once "$WORK/config.yaml"; cycles; }
bench_with-credentials() {
  bench_once "$WORK/config.yaml" --credentials "$WORK/credentials.yaml" -- --username bench --password-file "$WORK/password"
  cycles
}
bench_ab without-credentials with-credentials
