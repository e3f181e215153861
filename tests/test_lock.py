"""requirements.lock pins exactly what ./run installs for the tests, so it cannot go stale silently.

./run installs the dev extra constrained to the lock; a dependency added to pyproject.toml but
not locked installs unconstrained, and these tests name it. The audit (.ci/audit.py) reads the
lock, so a package missing from it would go unaudited as well.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCK = REPO_ROOT / "requirements.lock"
LOCK_LINE = re.compile(r"^(?P<name>[a-z0-9]+(?:-[a-z0-9]+)*)==(?P<version>[^\s;@]+)$")
#: Seeded by `python -m venv` itself (3.11 seeds setuptools, 3.12 no longer does); the lock holds
#: the versions ./run moves them to.
VENV_SEEDS = {"setuptools"}


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            match = LOCK_LINE.match(line)
            assert match, f"requirements.lock: {line!r} is not a normalized name==version"
            pins[match["name"]] = match["version"]
    return pins


def installed() -> dict[str, str]:
    """Every distribution of the venv running the tests, but verinet itself."""
    return {
        canonical_name(d.metadata["Name"]): d.version
        for d in metadata.distributions()
        if canonical_name(d.metadata["Name"]) != "verinet"
    }


def test_the_lock_pins_every_package_of_the_test_venv_at_the_version_installed() -> None:
    pins, venv = locked(), installed()

    unlocked = sorted(f"{name}=={version}" for name, version in venv.items() if name not in pins)
    moved = sorted(
        f"{name}: locked {pins[name]}, installed {version}"
        for name, version in venv.items()
        if name in pins and pins[name] != version
    )
    assert not unlocked, f"installed but not locked (run ./run lock): {unlocked}"
    assert not moved, (
        f"installed at another version than locked (run ./run test to reinstall): {moved}"
    )


def test_every_locked_package_is_installed_in_the_test_venv() -> None:
    pins, venv = locked(), installed()

    stale = sorted(name for name in pins if name not in venv and name not in VENV_SEEDS)
    assert not stale, f"locked but no longer installed (run ./run lock): {stale}"


def test_the_lock_is_sorted_with_one_line_a_package() -> None:
    names = list(locked())
    lines = [line for line in LOCK.read_text().splitlines() if line and not line.startswith("#")]

    assert len(names) == len(lines), "a package is pinned twice"
    assert names == sorted(names), "./run lock writes the lock sorted by name"
