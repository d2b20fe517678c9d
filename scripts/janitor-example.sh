#!/usr/bin/env bash
# An example janitor cleanup, following upstream Boskos' convention: the
# janitor runs it as
#
#   janitor-example.sh [--fail] [--sleep=SECONDS] --<kind>=<name>
#
# where <kind> is the last '-'-separated segment of the resource type
# (type gce-project: --project=<name>). The resource's JSON is on stdin.
# It pretends to clean the resource: logs what it cleans, sleeps briefly,
# and exits 0. To demonstrate failures (and quarantine), pass --fail or set
# JANITOR_EXAMPLE_FAIL=1: it then exits 1 with a reason on stderr.
#
#   boskos serve --janitor-command scripts/janitor-example.sh
#   boskos serve --janitor-command 'gce-project=scripts/janitor-example.sh --fail'
#
# Environment: JANITOR_EXAMPLE_SLEEP (seconds, default 1), JANITOR_EXAMPLE_FAIL.
set -euo pipefail

sleep_for="${JANITOR_EXAMPLE_SLEEP:-1}"
fail="${JANITOR_EXAMPLE_FAIL:-}"
kind="" name=""

for arg in "$@"; do
  case "$arg" in
    --fail) fail=1 ;;
    --sleep=*) sleep_for="${arg#--sleep=}" ;;
    --*=*)
      kind="${arg%%=*}"; kind="${kind#--}"
      name="${arg#*=}" ;;
    *) echo "janitor-example: unexpected argument: $arg" >&2; exit 2 ;;
  esac
done

if [[ -z "$kind" || -z "$name" ]]; then
  echo "usage: janitor-example.sh [--fail] [--sleep=SECONDS] --<kind>=<name>" >&2
  exit 2
fi

# Read (and ignore) the resource JSON on stdin, if any, without blocking on a terminal.
if [[ ! -t 0 ]]; then cat >/dev/null || true; fi

echo "janitor-example: cleaning $kind $name"
sleep "$sleep_for"
if [[ "$fail" == 1 || "$fail" == true ]]; then
  echo "janitor-example: failed to clean $kind $name (JANITOR_EXAMPLE_FAIL or --fail)" >&2
  exit 1
fi
echo "janitor-example: $kind $name is clean"
