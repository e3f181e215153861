#!/usr/bin/env bash
# Installs what tests/test_readme.py needs and pip cannot: curl, which README's examples use.
# Idempotent: does nothing when curl is already there.
set -euo pipefail

if command -v curl >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "readme_tools.sh: curl is missing and apt-get is not available; install curl." >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq curl >/dev/null
echo "readme_tools.sh: installed $(curl --version | head -1)"
