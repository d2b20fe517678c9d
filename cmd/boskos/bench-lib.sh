# Shared by the benchmark scripts next to it (bench.sh, bench-history.sh,
# bench-auth.sh, bench-quota.sh); sourced, not run. It builds boskos into a
# work directory that is removed on exit (KEEP=1 keeps it), and gives:
#   bench_pool FILE N       a config of N free resources of type bench
#   bench_once CONFIG [serve flags...] [-- bench flags...]
#                           starts `boskos serve` on CONFIG and a fresh bolt
#                           store, runs `boskos bench` against it (type bench,
#                           CONCURRENCY clients for DURATION), stops the
#                           server; the bench's output is in $WORK/bench.out
#   bench_ab A B            runs `bench_X` for X in A and B alternately, ROUNDS
#                           times (so that a noisy machine hurts both alike);
#                           each bench_X prints its figure, first field
#                           cycles/s; bench_ab prints each round and the
#                           ratio of the medians B/A
# Env: DURATION (10s), ROUNDS (3), CONCURRENCY (16), KEEP.
# shellcheck shell=bash
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
CONCURRENCY="${CONCURRENCY:-16}"
WORK="$(mktemp -d)"
SERVER_PID=""
bench_cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap bench_cleanup EXIT

echo "building boskos..." >&2
go build -o "$WORK/boskos" ./cmd/boskos

bench_pool() {
  { echo "resources:"; echo "- type: bench"; echo "  state: free"; echo "  names:"; seq -f "  - bench-%06g" 1 "$2"; } > "$1"
}

bench_once() {
  local config=$1 serve=() bench=() log="$WORK/serve.log" addr="" start
  shift
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; bench=("$@"); break; fi
    serve+=("$1"); shift
  done
  rm -f "$WORK/bench.db"
  "$WORK/boskos" serve --config "$config" --store "bolt:$WORK/bench.db" --port 0 "${serve[@]}" > "$log" 2>&1 &
  SERVER_PID=$!
  start=$(date +%s)
  while [ -z "$addr" ]; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "boskos serve died:" >&2; tail -n 20 "$log" >&2; exit 1; fi
    if [ $(( $(date +%s) - start )) -gt 900 ]; then echo "boskos serve did not start in 15 minutes" >&2; exit 1; fi
    addr="$(grep -m1 -o 'msg=serving addr=[^ ]*' "$log" | sed 's/.*addr=//' || true)"
    [ -n "$addr" ] || sleep 0.2
  done
  "$WORK/boskos" bench --url "http://$addr" --type bench --concurrency "$CONCURRENCY" --duration "$DURATION" "${bench[@]}" > "$WORK/bench.out"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  grep -q '^errors: 0$' "$WORK/bench.out" || { cat "$WORK/bench.out" >&2; exit 1; }
}

bench_median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

bench_ab() {
  local a=$1 b=$2 i fa fb as=() bs=() ma mb
  for i in $(seq 1 "$ROUNDS"); do
    fa=$("bench_$a"); fb=$("bench_$b")
    as+=("${fa%% *}"); bs+=("${fb%% *}")
    echo "round $i: $a $fa, $b $fb"
  done
  ma=$(bench_median "${as[@]}"); mb=$(bench_median "${bs[@]}")
  echo "median cycles/s: $a $ma, $b $mb; $b/$a = $(awk -v x="$mb" -v y="$ma" 'BEGIN {printf "%.3f", x/y}')"
}
