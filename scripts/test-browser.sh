#!/usr/bin/env bash
# The dashboard's browser test (called by scripts/test.sh; `make test-browser`):
# finds Chromium, installing Debian's package when it is missing
# (scripts/chromium.sh), then runs tests/browser, which builds boskos, starts
# `boskos serve` and drives Chromium with chromedp. The screenshots land in
# .artifacts/ (go test -artifacts). Without apt (no way to get Chromium) the
# test is skipped with a message; any other failure fails.
#
# Environment: BOSKOS_CHROMIUM (a browser to use), BOSKOS_SCREENSHOT_DIR (also
# copy the screenshots there: how docs/dashboard.png is made).
set -uo pipefail
cd "$(dirname "$0")/.."
browser="$(./scripts/chromium.sh)"
rc=$?
if [[ $rc == 3 ]]; then
  echo "SKIP: the dashboard's browser test needs Chromium, and apt-get is unavailable to install it (set BOSKOS_CHROMIUM to a Chromium or Chrome)"
  exit 0
elif [[ $rc != 0 ]]; then
  echo "test-browser: could not get Chromium (scripts/chromium.sh exit $rc)" >&2
  exit 1
fi
echo "Chromium: $browser ($("$browser" --version 2>/dev/null || echo "version unknown"))"
set -e
mkdir -p .artifacts
cd tests/browser
BOSKOS_CHROMIUM="$browser" BOSKOS_REQUIRE_BROWSER=1 \
  go test -race -count=1 -timeout 10m -artifacts -outputdir "$(cd ../.. && pwd)/.artifacts" -v ./... |
  grep -E '^(=== RUN|--- |\s+--- |ok|FAIL|PASS)|screenshot|challenges|Error|dashboard_test'
exit "${PIPESTATUS[0]}"
