#!/usr/bin/env bash
# Runs the CDK (Go) app in infra/ through the pinned CDK CLI.
#
#   scripts/cdk.sh synth                 every environment's template into infra/cdk.out/,
#                                        then cfn-lint on each
#   scripts/cdk.sh deploy|diff|destroy ENV   the stack of ENV (dev, staging, prod) in the AWS
#                                        account of the environment's credentials
#   scripts/cdk.sh deploy-local [ENV]    cdklocal bootstrap + deploy to $AWS_ENDPOINT_URL
#                                        (default LocalStack's http://localhost:4566)
#   scripts/cdk.sh bootstrap             cdk bootstrap of the account and region of the credentials
#   scripts/cdk.sh bin                   print the directory of the cdk and cdklocal commands
#
# The CLI comes from npm, pinned: aws-cdk@2.1148.1 (aws-cdk@3 refuses the cloud assembly of
# the v2.270 library) and aws-cdk-local@3.0.4 next to it, installed into .tools/cdk/ (a
# prefix of its own: npm prunes what another `npm install --no-save` put in a shared one).
#
# Environment:
#   BOSKOS_BUILD_DIR  the build/<function>/bootstrap tree (default build/, from make build)
#   CDK_ARGS          extra arguments for the CLI, e.g. "-c janitorTargets=gce-project=cleaner"
#   AWS_ENDPOINT_URL  deploy-local's endpoint (LocalStack, or moto_server in the tests)
#   CDK_OUT           the cloud assembly directory (default infra/cdk.out)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${CDK_OUT:-$ROOT/infra/cdk.out}"
TOOLS="$ROOT/.tools/cdk"
PKGS=(aws-cdk@2.1148.1 aws-cdk-local@3.0.4)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export CDK_DISABLE_CLI_TELEMETRY=true

die() { echo "cdk: $*" >&2; exit 1; }

install() {
  if [[ ! -x "$TOOLS/node_modules/.bin/cdk" || ! -x "$TOOLS/node_modules/.bin/cdklocal" ]] ||
     ! grep -q '"version": "2.1148.1"' "$TOOLS/node_modules/aws-cdk/package.json" 2>/dev/null; then
    command -v npm >/dev/null || die "npm not found (Node.js is needed for the CDK CLI)"
    mkdir -p "$TOOLS"
    (
      flock 9
      if [[ ! -x "$TOOLS/node_modules/.bin/cdklocal" ]] ||
         ! grep -q '"version": "2.1148.1"' "$TOOLS/node_modules/aws-cdk/package.json" 2>/dev/null; then
        echo "cdk: installing ${PKGS[*]} into $TOOLS" >&2
        npm install --no-save --no-audit --no-fund --prefix "$TOOLS" "${PKGS[@]}" >&2
      fi
    ) 9>"$TOOLS/.install.lock"
  fi
  echo "$TOOLS/node_modules/.bin"
}

envs() { (cd "$ROOT/infra" && go run ./cmd/envs); }

check_env() {
  [[ -n "${1:-}" ]] || die "ENV is required: make ${CMD} ENV=dev|staging|prod"
  grep -qx -- "$1" <(envs) || die "unknown ENV $1 (one of: $(envs | tr '\n' ' '))"
}

CMD="${1:-}"
shift || true
# shellcheck disable=SC2206
EXTRA=(${CDK_ARGS:-})
case "$CMD" in
  bin) install ;;
  bootstrap)
    bin="$(install)"
    (cd "$ROOT/infra" && "$bin/cdk" bootstrap -o "$OUT" "${EXTRA[@]}")
    ;;
  synth)
    bin="$(install)"
    out="$OUT"
    rm -rf "$out"
    (cd "$ROOT/infra" && "$bin/cdk" synth -c env=all --quiet -o "$out" "${EXTRA[@]}")
    failed=0
    for e in $(envs); do
      tpl="$out/boskos-$e.template.json"
      [[ -f "$tpl" ]] || die "synth wrote no $tpl"
      echo "$tpl"
      # W3005 (a DependsOn that a GetAtt already implies): the CDK adds it on purpose, so
      # that a function's role policy exists before the function.
      if ! cfn-lint --ignore-checks W3005 -- "$tpl"; then failed=1; fi
    done
    [[ $failed == 0 ]] || die "cfn-lint found problems in the synthesized templates"
    ;;
  deploy|diff|destroy)
    check_env "${1:-}"
    bin="$(install)"
    args=()
    args=(-o "$OUT")
    [[ "$CMD" == deploy ]] && args+=(--require-approval never --outputs-file "$OUT/outputs-$1.json")
    [[ "$CMD" == destroy ]] && args+=(--force)
    (cd "$ROOT/infra" && "$bin/cdk" "$CMD" -c env="$1" "boskos-$1" "${args[@]}" "${EXTRA[@]}")
    ;;
  deploy-local)
    env="${1:-dev}"
    check_env "$env"
    bin="$(install)"
    export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}"
    export AWS_ENDPOINT_URL_S3="${AWS_ENDPOINT_URL_S3:-$AWS_ENDPOINT_URL}"
    export AWS_S3_FORCE_PATH_STYLE=1
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
    export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"
    account="${LOCAL_ACCOUNT:-000000000000}"
    [[ "$AWS_ENDPOINT_URL" == *4566* ]] || account="${LOCAL_ACCOUNT:-123456789012}" # moto's default account
    # Bootstrap from outside infra/ (no cdk.json there): with the environment given it
    # need not synthesize the app, which the deploy does once.
    (cd "$ROOT" && "$bin/cdklocal" bootstrap "aws://$account/$AWS_REGION" -o "$OUT/bootstrap")
    (cd "$ROOT/infra" &&
      "$bin/cdklocal" deploy -c env="$env" "boskos-$env" -o "$OUT" --require-approval never \
        --outputs-file "$OUT/outputs-local-$env.json" "${EXTRA[@]}")
    ;;
  *) echo "usage: $0 synth | deploy|diff|destroy ENV | deploy-local [ENV] | bootstrap | bin" >&2; exit 2 ;;
esac
