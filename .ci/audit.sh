#!/usr/bin/env bash
# Audits every package installed in the project's venv for known vulnerabilities (pip-audit).
#
#   .ci/audit.sh            audit .venv (run ./run test or ./run up first to create it)
#   VENV=path .ci/audit.sh  audit another venv
#
# pip-audit runs from a venv of its own (AUDIT_VENV, default ~/.cache/verinet/audit-venv), so it
# adds nothing to the project's venv. It asks PyPI's JSON API for each installed version
# (https://pypi.org/pypi/NAME/VERSION/json, its "vulnerabilities"), falling back to OSV.
#
# Exit codes:
#   0  every package was audited and no known vulnerability is left unexplained
#   1  a known vulnerability that .ci/audit-ignore.txt does not explain
#   2  the audit is incomplete: the advisory service did not answer for some packages
#      (pip-audit alone would print "No known vulnerabilities found" here: it skips them)
#   3  pip-audit could not be installed or run
#
# Known vulnerabilities that are accepted go in .ci/audit-ignore.txt, one a line:
#   VULN-ID  reason it does not apply or why it is accepted, and until when
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
AUDIT_VENV=${AUDIT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/verinet/audit-venv}
PYTHON=${PYTHON:-python3}
TIMEOUT=${AUDIT_TIMEOUT_SECONDS:-15}    # each HTTP request
DEADLINE=${AUDIT_DEADLINE_SECONDS:-600} # the whole audit, per service
IGNORE_FILE=.ci/audit-ignore.txt

say() { echo "audit: $*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  say "no venv at $VENV: run ./run test (or ./run up) first"
  exit 3
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if [ ! -x "$AUDIT_VENV/bin/pip-audit" ]; then
  say "installing pip-audit into $AUDIT_VENV"
  if ! { "$PYTHON" -m venv "$AUDIT_VENV" &&
         timeout "$DEADLINE" "$AUDIT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pip-audit>=2.7,<3"; } >"$OUT/install.log" 2>&1; then
    grep -v '^WARNING: Location' "$OUT/install.log" | tail -5 >&2
    say "failed to install pip-audit from PyPI"
    exit 3
  fi
fi

mapfile -t SITE < <("$VENV/bin/python" -c 'import sysconfig; p = sysconfig.get_paths(); print(p["purelib"]); print(p["platlib"])' | sort -u)
PATHS=()
for dir in "${SITE[@]}"; do PATHS+=(--path "$dir"); done
IGNORES=()
if [ -f "$IGNORE_FILE" ]; then
  while read -r id _; do
    case "$id" in ''|'#'*) continue ;; esac
    IGNORES+=(--ignore-vuln "$id")
  done < "$IGNORE_FILE"
fi

run_audit() {  # $1: service (pypi or osv); writes $OUT/$1.json
  timeout "$DEADLINE" "$AUDIT_VENV/bin/pip-audit" "${PATHS[@]}" --skip-editable --progress-spinner off \
    --timeout "$TIMEOUT" -s "$1" -f json -o "$OUT/$1.json" "${IGNORES[@]}" >"$OUT/$1.log" 2>&1
  local rc=$?
  if [ $rc -eq 124 ]; then say "$1: no answer within ${DEADLINE}s"; fi
  return $rc
}

# Reads pip-audit's JSON: prints a summary, exits 0 (clean), 1 (vulnerable) or 2 (incomplete).
summarize() {
  "$AUDIT_VENV/bin/python" - "$1" "$2" <<'EOF'
import json, sys
path, service = sys.argv[1], sys.argv[2]
try:
    report = json.load(open(path))
except (OSError, ValueError):
    print(f"audit: {service}: no report", file=sys.stderr)
    sys.exit(2)
deps = report.get("dependencies", [])
skipped = [d for d in deps if d.get("skip_reason")]
vulnerable = [d for d in deps if d.get("vulns")]
audited = len(deps) - len(skipped)
print(f"audit: {service}: {len(deps)} packages, {audited} audited, {len(skipped)} not audited, "
      f"{len(vulnerable)} with known vulnerabilities", file=sys.stderr)
for d in vulnerable:
    for v in d["vulns"]:
        fixes = ", ".join(v.get("fix_versions", [])) or "no fix yet"
        print(f"  {d['name']} {d['version']}: {v['id']} (fixed in {fixes}) {' '.join(v.get('aliases', []))}", file=sys.stderr)
if vulnerable:
    sys.exit(1)
if skipped:
    for d in skipped[:5]:
        print(f"  not audited: {d['skip_reason']}", file=sys.stderr)
    if len(skipped) > 5:
        print(f"  ... and {len(skipped) - 5} more", file=sys.stderr)
    sys.exit(2)
sys.exit(0)
EOF
}

status=2
for service in pypi osv; do
  say "auditing ${SITE[*]} against $service"
  run_audit "$service"
  summarize "$OUT/$service.json" "$service"
  status=$?
  if [ $status -ne 2 ]; then break; fi
  grep -m3 -iE 'error|fail|resolve|timed out' "$OUT/$service.log" >&2 || true
done

case $status in
  0) say "OK: every package audited, no known vulnerability left unexplained" ;;
  1) say "FAILED: known vulnerabilities above; upgrade, or explain each in $IGNORE_FILE" ;;
  *) say "INCOMPLETE: the advisory services (PyPI's per-version JSON API, OSV) did not answer for every package; nothing was proven"
     status=2 ;;
esac
exit $status
