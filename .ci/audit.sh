#!/usr/bin/env bash
# Audits every package of the lock file (requirements.lock) for known vulnerabilities.
#
#   .ci/audit.sh                        audit requirements.lock (no venv needed)
#   .ci/audit.sh --lock FILE [--ignore FILE]
#
# The work is done by .ci/audit.py (standard library only; its header lists the sources and
# the AUDIT_* settings). It audits the lock, not a venv: the lock is what ./run and CI install.
# PyPI's project JSON answers for the latest release of each project, so a lock at the latest
# releases (./run lock) can be audited completely even where pip-audit's per-version sources
# (PyPI's per-version JSON, OSV) are unreachable; where they answer, they are asked too.
#
# Exit codes:
#   0  every package was audited and no known vulnerability is left unexplained
#   1  a known vulnerability that .ci/audit-ignore.txt does not explain
#   2  the audit is incomplete: no advisory source answered for some packages (a package
#      behind its latest release where the per-version sources are unreachable, or no network)
#   3  the audit could not run (no Python 3.11+, a malformed lock or ignore file, a bad setting)
#
# Known vulnerabilities that are accepted go in .ci/audit-ignore.txt, one a line:
#   VULN-ID  reason it does not apply or why it is accepted, and until when
# An id matches a vulnerability's id or any of its aliases (PYSEC-, GHSA-, CVE-).
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "audit: cannot audit: $PYTHON is not Python 3.11 or newer (set PYTHON=...)" >&2
  exit 3
fi
exec "$PYTHON" .ci/audit.py "$@"
