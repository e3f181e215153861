#!/usr/bin/env bash
# Installs what the web console's browser tests need and pip cannot: Debian's chromium
# (/usr/bin/chromium). Idempotent: does nothing when it is already there. The Python side
# (the `playwright` package) comes with the dev extra; it drives this chromium and never
# downloads a browser of its own (do not run `playwright install`).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "console_tools.sh: /usr/bin/chromium is missing and apt-get is not available;" \
       "install Chromium so that /usr/bin/chromium exists." >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq chromium >/dev/null
test -x /usr/bin/chromium
echo "console_tools.sh: installed $(/usr/bin/chromium --version 2>/dev/null)"
