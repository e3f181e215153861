"""requirements.image.lock: the Docker image's wheels, each by its hash, at the versions of
requirements.lock (what CI tests and .ci/audit.sh audits). deploy/image_lock.py writes it."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import load_script

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def image_lock() -> ModuleType:
    return load_script(REPO_ROOT / "deploy" / "image_lock.py")


def test_the_image_lock_pins_the_runtime_closure_at_the_versions_of_requirements_lock(image_lock: ModuleType) -> None:
    expected = image_lock.image_pins((REPO_ROOT / "requirements.lock").read_text())
    written = image_lock.parse_image_lock((REPO_ROOT / "requirements.image.lock").read_text())
    assert {name: version for name, (version, _) in written.items()} == expected, (
        "requirements.image.lock differs from requirements.lock: run .venv/bin/python deploy/image_lock.py"
    )


def test_every_wheel_of_the_image_is_named_by_a_sha256(image_lock: ModuleType) -> None:
    written = image_lock.parse_image_lock((REPO_ROOT / "requirements.image.lock").read_text())
    for name, (_, hashes) in written.items():
        assert hashes, f"{name} has no hash: pip --require-hashes would refuse the whole file"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", digest) for digest in hashes), name


def test_the_image_holds_what_verinet_needs_and_builds_with(image_lock: ModuleType) -> None:
    closure = image_lock.runtime_closure()
    assert {"grpcio", "aiohttp", "redis", "cryptography", "uvloop"} <= closure  # uvloop: the runtime extra
    assert "pytest" not in closure and "verinet" not in closure
    assert "setuptools" in image_lock.image_pins((REPO_ROOT / "requirements.lock").read_text())


def test_a_package_the_lock_lacks_stops_the_writer(image_lock: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"Failed to find \[.*'grpcio'.*\] in requirements\.lock"):
        image_lock.image_pins("aiohttp==3.0\n")
