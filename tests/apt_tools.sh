#!/usr/bin/env bash
# What the tools scripts of the tests (tests/readme_tools.sh, tests/gateway/console_tools.sh)
# share: installing a Debian package that pip cannot provide. Sourced, not run.

# apt_install PACKAGE HINT: installs PACKAGE with apt-get (through sudo when not root), or
# fails with HINT, what to install by hand, on a machine without apt-get.
apt_install() {
  local package=$1 hint=$2
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "${0##*/}: $package is missing and apt-get is not available; $hint" >&2
    return 1
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "$package" >/dev/null
}
