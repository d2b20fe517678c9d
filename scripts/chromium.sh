#!/usr/bin/env bash
# Prints the path of a Chromium for the dashboard's browser test
# (tests/browser), installing Debian's `chromium` package first when there is
# none (the test machines run as root; otherwise through sudo when it needs
# no password). Exit status: 0 with the path on stdout; 3 when no Chromium
# can be had because apt is unavailable (the caller skips the browser test and
# says why); 1 when the installation failed.
#
# Environment: BOSKOS_CHROMIUM, a browser to use instead of looking.
set -euo pipefail

find_browser() {
  if [[ -n "${BOSKOS_CHROMIUM:-}" ]]; then
    [[ -x "$BOSKOS_CHROMIUM" ]] && { echo "$BOSKOS_CHROMIUM"; return 0; }
    echo "chromium.sh: BOSKOS_CHROMIUM=$BOSKOS_CHROMIUM is not executable" >&2
    return 1
  fi
  local b
  for b in chromium chromium-browser google-chrome-stable google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
      command -v "$b"
      return 0
    fi
  done
  return 1
}

if find_browser; then
  exit 0
fi
if [[ -n "${BOSKOS_CHROMIUM:-}" ]]; then
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium.sh: no Chromium found and apt-get is unavailable: install Chromium (or set BOSKOS_CHROMIUM) to run the browser test" >&2
  exit 3
fi
sudo=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "chromium.sh: no Chromium found, and installing it needs root (apt-get install -y chromium)" >&2
    exit 3
  fi
fi
echo "chromium.sh: installing Debian's chromium (apt-get install -y chromium)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y --no-install-recommends chromium >&2; then
  # The package lists may be missing or stale.
  "${sudo[@]}" apt-get update >&2
  "${sudo[@]}" apt-get install -y --no-install-recommends chromium >&2
fi
find_browser || { echo "chromium.sh: chromium installed, but not found on PATH" >&2; exit 1; }
