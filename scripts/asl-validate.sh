#!/usr/bin/env bash
# Validates Amazon States Language documents offline with asl-validator
# (`make lint`, so `make test`, runs it).
#
#   scripts/asl-validate.sh            every *.asl.json tracked by git
#   scripts/asl-validate.sh FILE...    the given files (paths as given)
#   scripts/asl-validate.sh bin        print the directory of the asl-validator command
#
# Exit 0 if every document is valid, 1 if one is not (asl-validator names
# the file and the problem: a missing Next target, an unreachable state, a
# bad path or ARN, a field its JSON schemas do not know), 2 on usage errors.
#
# asl-validator comes from npm, pinned (asl-validator@4.0.0), installed
# into .tools/asl/ (a prefix of its own: npm prunes what another
# `npm install --no-save` put in a shared one) on first use.
#
# The in-process runner (core/asl) checks more than this (it also refuses
# what it does not implement); this is the reference check of the format.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools/asl"
VERSION=4.0.0
PKG="asl-validator@$VERSION"

die() { echo "asl-validate: $*" >&2; exit 2; }

installed() {
  [[ -x "$TOOLS/node_modules/.bin/asl-validator" ]] &&
    grep -q "\"version\": \"$VERSION\"" "$TOOLS/node_modules/asl-validator/package.json" 2>/dev/null
}

install() {
  if ! installed; then
    command -v npm >/dev/null || die "npm not found (Node.js is needed for $PKG)"
    mkdir -p "$TOOLS"
    # Concurrent runs (make lint, go test) may race to install: serialise.
    (
      flock 9
      if ! installed; then
        echo "asl-validate: installing $PKG into $TOOLS" >&2
        npm install --no-save --no-audit --no-fund --prefix "$TOOLS" "$PKG" >&2
      fi
    ) 9>"$TOOLS/.install.lock"
    installed || die "installation of $PKG did not produce the asl-validator command"
  fi
  echo "$TOOLS/node_modules/.bin"
}

if [[ "${1:-}" == bin ]]; then
  install
  exit 0
fi

files=()
if (($# > 0)); then
  for f in "$@"; do
    [[ -f "$f" ]] || die "no such file: $f"
    files+=("$f")
  done
else
  while IFS= read -r f; do
    [[ -f "$ROOT/$f" ]] && files+=("$ROOT/$f")
  done < <(git -C "$ROOT" ls-files -- '*.asl.json')
  if ((${#files[@]} == 0)); then
    echo "asl-validate: no *.asl.json tracked by git"
    exit 0
  fi
fi

bin="$(install)"
args=()
for f in "${files[@]}"; do
  args+=(--json-path "$f")
done
# asl-validator exits 1 if any document is invalid.
if ! "$bin/asl-validator" "${args[@]}"; then
  echo "asl-validate: invalid Amazon States Language (see above)" >&2
  exit 1
fi
