"""The package is `mypy --strict` and `ruff check` clean (STYLE rule 10), except for the modules
in ALLOWED, a list that only shrinks."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import load_script
from verinet.source_layout import package_folders
from verinet.source_layout import source_path as layout_source_path

REPO_ROOT = Path(__file__).resolve().parent.parent


#: Repository paths whose mypy or ruff findings do not fail the tests yet, with the reason.
#: Remove a path once its branch is merged and it is clean (the tests print which are).
ALLOWED: dict[str, str] = {}

#: The installed layout (package-dir in pyproject.toml), to turn installed paths into source paths.
PACKAGE_FOLDERS = package_folders(REPO_ROOT)

FINDING = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):(?:\d+:)? (?P<text>.+)$", re.MULTILINE)


def load_typing_tree() -> ModuleType:
    return load_script(REPO_ROOT / "tests" / "typing_tree.py")


def source_path(installed: str) -> str:
    return layout_source_path(installed, PACKAGE_FOLDERS)


@pytest.fixture(scope="module")
def mypy_findings(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    """Runs mypy once for the module, with a fresh cache (about 5 s)."""
    parent = tmp_path_factory.mktemp("typing")
    typing_tree = load_typing_tree()
    typing_tree.build_tree(parent)
    result = typing_tree.run_mypy(parent, "--show-column-numbers", cache_dir=parent / "cache")
    assert result.returncode in (0, 1), f"mypy did not run:\n{result.stdout}{result.stderr}"
    output = result.stdout.replace(str(parent) + "/", "")
    return [
        (source_path(m["path"]), f'{m["line"]}: {m["text"]}')
        for m in FINDING.finditer(output)
        if m["text"].startswith("error:")
    ]


@pytest.fixture(scope="module")
def ruff_findings() -> list[tuple[str, str]]:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff is not installed: pip install -e '.[dev]'"
    result = subprocess.run(
        [ruff, "check", "--no-cache", "--output-format", "concise", "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), f"ruff did not run:\n{result.stdout}{result.stderr}"
    return [(m["path"], f'{m["line"]}: {m["text"]}') for m in FINDING.finditer(result.stdout)]


def split(findings: list[tuple[str, str]], tool: str) -> list[str]:
    """Prints the counts per allowed path; returns the findings outside ALLOWED."""
    allowed = Counter(path for path, _ in findings if path in ALLOWED)
    print(f"\n{tool}: {len(findings)} findings, {sum(allowed.values())} in allowed paths")
    for path in sorted(ALLOWED):
        print(f"  {path}: {allowed[path] or 'clean'} ({ALLOWED[path]})")
    return [f"{path}:{text}" for path, text in findings if path not in ALLOWED]


def test_mypy_strict_finds_no_errors_outside_the_allowed_modules(
    mypy_findings: list[tuple[str, str]],
) -> None:
    outside = split(mypy_findings, "mypy --strict")
    assert not outside, "mypy --strict errors:\n" + "\n".join(outside)


def test_ruff_finds_nothing_outside_the_allowed_modules(
    ruff_findings: list[tuple[str, str]],
) -> None:
    outside = split(ruff_findings, "ruff check")
    assert not outside, "ruff check findings:\n" + "\n".join(outside)
