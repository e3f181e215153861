# One image for every verinet service. Each Kubernetes Deployment picks its process:
#   python -m verinet.gateway | verinet.verifier | verinet.lookup | verinet.recall_status
# Build: docker build -t verinet:dev .      Run: docker run -p 8080:8080 --env-file ... verinet:dev
#
# The base is pinned to an exact Python and Debian release; pin its digest as well
# (python:3.11.14-slim-bookworm@sha256:...) in the registry you build from.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- builder: wheels of verinet and of everything it needs, then a venv from them -------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# Only what the distribution is built from (.dockerignore keeps the rest out as well), and the
# locks: the image holds the same versions as CI tests and .ci/audit.sh audits, and
# requirements.image.lock names each of their wheels by its hash (deploy/image_lock.py).
COPY pyproject.toml README.md requirements.lock requirements.image.lock ./
COPY shared/ shared/
COPY services/ services/
# Every third-party wheel by hash: a wheel whose bytes differ from the locked ones fails the
# build. Then verinet's own wheel, built offline with the hashed setuptools (no other index).
RUN python -m pip wheel --require-hashes --no-deps --wheel-dir /wheels -r requirements.image.lock \
 && python -m pip install --require-hashes --no-index --find-links /wheels -r requirements.image.lock \
 && python -m pip wheel --no-deps --no-index --no-build-isolation --wheel-dir /wheels -c requirements.lock ".[runtime]"
# A venv without pip, from those wheels only: the final stage gets the packages and nothing to
# install more with.
# Bytecode is compiled here, since the containers' root filesystem is read-only.
RUN python -m venv --without-pip /opt/verinet \
 && python -m pip --python /opt/verinet/bin/python install --compile --no-index \
      --find-links /wheels "verinet[runtime]" \
 && /opt/verinet/bin/python -c "import verinet.gateway.__main__, verinet.verifier.__main__, verinet.lookup.__main__, verinet.recall_status.__main__"

# --- runtime: the venv, a non-root user, no compilers, no pip ------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# PYTHONSAFEPATH: "python -m" does not put the working directory first on sys.path.
ENV PATH=/opt/verinet/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONSAFEPATH=1 \
    PYTHONUNBUFFERED=1
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
 && groupadd --system --gid 10001 verinet \
 && useradd --system --uid 10001 --gid verinet --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin verinet
COPY --from=builder /opt/verinet /opt/verinet
USER 10001:10001
WORKDIR /opt/verinet
EXPOSE 8080 50051 50052 50053 9090
# The gateway by default; Deployments set their own command.
CMD ["python", "-m", "verinet.gateway"]
