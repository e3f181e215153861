#!/usr/bin/env bash
# Builds the image and runs each entry point as its non-root user. Needs a Docker engine,
# which CI machines here do not have; tests/deploy checks the Dockerfile's stages instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-verinet:check}
docker build --tag "$tag" .
docker run --rm --read-only "$tag" python -c \
  "import os, verinet.gateway.__main__, verinet.verifier.__main__, verinet.lookup.__main__, verinet.recall_status.__main__; print('uid', os.getuid())"
