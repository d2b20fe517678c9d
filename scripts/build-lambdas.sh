#!/usr/bin/env bash
# Builds every Lambda function under functions/ as a `bootstrap` binary for the
# provided.al2023 runtime, one directory per function: $BUILD_DIR/<name>/bootstrap.
# That is the API functions (acquire, release, ...) and the scheduled jobs
# (reaper, reconciler, cleaner, janitor): every functions/<name>/main.go.
#
# Defaults target AWS (linux/arm64, Graviton). Override for local runs, e.g.
# the end-to-end tests build for the host with
#   GOARCH=$(go env GOARCH) BUILD_DIR=/tmp/x scripts/build-lambdas.sh
#
# Environment:
#   GOOS       target OS (default linux)
#   GOARCH     target architecture (default arm64)
#   BUILD_DIR  output directory (default build/ at the repository root)
#   FUNCTIONS  space-separated subset of function names (default: all)
#   BOOTSTRAP_MAX_BYTES  the build fails when a linux/arm64 bootstrap is larger
#              (default 10000000, the 10 MB budget; checked only for the AWS target, as
#              host builds for tests differ in size)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

export GOOS="${GOOS:-linux}"
export GOARCH="${GOARCH:-arm64}"
export CGO_ENABLED=0
out="${BUILD_DIR:-$root/build}"
case "$out" in /*) ;; *) out="$root/$out" ;; esac

if [ -n "${FUNCTIONS:-}" ]; then
  read -r -a names <<<"$FUNCTIONS"
else
  names=()
  for d in functions/*/; do
    [ -f "$d/main.go" ] && names+=("$(basename "$d")")
  done
fi
[ "${#names[@]}" -gt 0 ] || { echo "build-lambdas: no functions found under functions/" >&2; exit 1; }

# One go build for all packages shares the compilation of their common code;
# it writes one executable per package, named after its directory.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pkgs=()
for n in "${names[@]}"; do pkgs+=("./functions/$n"); done
go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o "$tmp/" "${pkgs[@]}"

max="${BOOTSTRAP_MAX_BYTES:-10000000}"
too_big=()
for n in "${names[@]}"; do
  mkdir -p "$out/$n"
  mv -f "$tmp/$n" "$out/$n/bootstrap"
  size=$(wc -c <"$out/$n/bootstrap")
  echo "$out/$n/bootstrap ($GOOS/$GOARCH, $size bytes)"
  if [ "$GOOS/$GOARCH" = linux/arm64 ] && [ "$size" -gt "$max" ]; then
    too_big+=("$n ($size bytes)")
  fi
done
if [ "${#too_big[@]}" -gt 0 ]; then
  echo "build-lambdas: bootstraps over $max bytes: ${too_big[*]}" >&2
  echo "  (keep SDK clients and heavy libraries out of functions that do not use them: see README, Deploying)" >&2
  exit 1
fi
