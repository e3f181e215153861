#!/usr/bin/env bash
# Installs what tests/test_readme.py needs and pip cannot: curl, which README's examples use.
# Idempotent: does nothing when curl is already there.
set -euo pipefail

if command -v curl >/dev/null 2>&1; then
  exit 0
fi
# shellcheck source=tests/apt_tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt_tools.sh"
apt_install curl "install curl."
echo "readme_tools.sh: installed $(curl --version | head -1)"
