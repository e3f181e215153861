"""Type-check the installed layout of verinet with ``mypy --strict``.

The distribution maps folders onto one package (``verinet`` = ``shared/``, ``verinet.gateway`` =
``services/gateway`` ...; see ``package-dir`` in pyproject.toml), so mypy cannot find
``verinet`` from the source tree. This builds a tree of symlinks shaped like the installed
package in a temporary folder and runs mypy there with the repository's configuration:

    ./run typecheck            # or: .venv/bin/python tests/typing_tree.py [mypy options]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from verinet.source_layout import package_folders

REPO_ROOT = Path(__file__).resolve().parent.parent



def build_tree(parent: Path, repo_root: Path = REPO_ROOT) -> Path:
    """Creates ``parent/verinet`` with symlinks into the source tree and returns it."""
    folders = package_folders(repo_root)
    package = parent / "verinet"
    package.mkdir()
    subpackages = {name.removeprefix("verinet."): folder for name, folder in folders.items() if name != "verinet"}
    for entry in sorted((repo_root / folders["verinet"]).iterdir()):
        if entry.name != "__pycache__" and entry.name not in subpackages:
            (package / entry.name).symlink_to(entry)
    for name, folder in subpackages.items():
        (package / name).symlink_to(repo_root / folder)
    return package


def run_mypy(
    parent: Path, *extra: str, cache_dir: Path | None = None, repo_root: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    """Runs ``mypy -p verinet`` from ``parent`` (built by :func:`build_tree`)."""
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(repo_root / "pyproject.toml"),
        "--python-executable",
        sys.executable,
        "--no-color-output",
        "--no-error-summary",
        "--show-error-codes",
        *(["--cache-dir", str(cache_dir)] if cache_dir else []),
        *extra,
        "-p",
        "verinet",
    ]
    # Without MYPYPATH pointing here, mypy would resolve `verinet` to the editable install.
    env = {**os.environ, "MYPYPATH": str(parent)}
    return subprocess.run(command, cwd=parent, env=env, capture_output=True, text=True, check=False)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="verinet-typing-") as raw:
        parent = Path(raw)
        build_tree(parent)
        result = run_mypy(parent, *argv, cache_dir=REPO_ROOT / ".mypy_cache")
    sys.stdout.write(result.stdout.replace(str(parent) + os.sep, ""))
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
