#!/usr/bin/env bash
# Installs what the web console's browser tests need and pip cannot: Debian's chromium
# (/usr/bin/chromium). Idempotent: does nothing when it is already there. The Python side
# (the `playwright` package) comes with the dev extra; it drives this chromium and never
# downloads a browser of its own (do not run `playwright install`).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
# shellcheck source=tests/apt_tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/../apt_tools.sh"
apt_install chromium "install Chromium so that /usr/bin/chromium exists."
test -x /usr/bin/chromium
echo "console_tools.sh: installed $(/usr/bin/chromium --version 2>/dev/null)"
