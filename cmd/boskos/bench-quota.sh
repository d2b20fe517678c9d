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
. "$(dirname "$0")/bench-lib.sh"

MAX="${MAX:-$CONCURRENCY}"
bench_pool "$WORK/none.yaml" 1000
{ cat "$WORK/none.yaml"; echo "quotas:"; echo "- {owner: \"bench-*\", type: bench, max: $MAX}"; } > "$WORK/quota.yaml"
cycles() { awk '/^cycles\/s:/ {c=$2} /^over-quota:/ {q=$2} END {print c " cycles/s (" q+0 " over-quota answers)"}' "$WORK/bench.out"; }
bench_without-quota() { bench_once "$WORK/none.yaml"; cycles; }
bench_with-quota() { bench_once "$WORK/quota.yaml"; cycles; }
bench_ab without-quota with-quota
