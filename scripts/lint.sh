#!/usr/bin/env bash
# Static checks of the repository (`make lint`, run by `make test`):
#   - every Go file is gofmt'ed;
#   - `go mod tidy` would change neither go.mod nor go.sum of any module
#     (a direct requirement marked `// indirect`, a missing or unused
#     requirement, a stale go.sum line all fail);
#   - go vet passes in every module (., tests/compat, infra, tests/browser);
#   - cfn-lint accepts template.yaml;
#   - asl-validator accepts every *.asl.json tracked by git
#     (scripts/asl-validate.sh; installed from npm into .tools/asl/).
# Every check runs; the script fails at the end if any of them failed.
set -uo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"

# The Go modules of the repository (each has its own go.mod).
MODULES=(. tests/compat infra tests/browser)

failed=()

echo "== gofmt"
files=()
while IFS= read -r f; do
  [[ -f "$f" ]] && files+=("$f")
done < <(git ls-files --cached --others --exclude-standard -- '*.go')
if ((${#files[@]} == 0)); then
  echo "no Go files found"
  failed+=("gofmt")
elif ! out="$(gofmt -l "${files[@]}" 2>&1)"; then
  echo "$out"
  failed+=("gofmt")
elif [[ -n "$out" ]]; then
  echo "not gofmt'ed (run make fmt):"
  echo "$out"
  failed+=("gofmt")
fi

for m in "${MODULES[@]}"; do
  echo "== go mod tidy -diff ($m)"
  if ! (cd "$m" && "$GO" mod tidy -diff); then
    echo "go.mod/go.sum of $m are not tidy: run (cd $m && go mod tidy)"
    failed+=("go mod tidy ($m)")
  fi
done

for m in "${MODULES[@]}"; do
  echo "== go vet ($m)"
  if ! (cd "$m" && "$GO" vet ./...); then
    failed+=("go vet ($m)")
  fi
done

if [[ -f template.yaml ]]; then
  echo "== cfn-lint template.yaml"
  if ! command -v cfn-lint >/dev/null; then
    echo "cfn-lint not found (pip install cfn-lint)"
    failed+=("cfn-lint")
  elif ! cfn-lint template.yaml; then
    failed+=("cfn-lint")
  fi
fi

echo "== asl-validator (*.asl.json)"
if ! ./scripts/asl-validate.sh; then
  failed+=("asl-validator")
fi

if ((${#failed[@]} > 0)); then
  printf 'lint failed: %s\n' "$(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')" >&2
  exit 1
fi
echo "lint: ok"
