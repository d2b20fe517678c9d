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
. "$(dirname "$0")/bench-lib.sh"

bench_pool "$WORK/config.yaml" 1000
cycles() { awk '/^cycles\/s:/ {print $2 " cycles/s"}' "$WORK/bench.out"; }
bench_history-off() { bench_once "$WORK/config.yaml" --history=false; cycles; }
bench_history-on() { bench_once "$WORK/config.yaml" --history=true; cycles; }
bench_ab history-off history-on
