"""Which source folder holds which ``verinet`` package: read from pyproject.toml, written nowhere else.

The distribution maps fixed folders onto one import namespace (``verinet`` = ``shared/``,
``verinet.recall_status`` = ``services/recall-status/`` ...). The map is ``package-dir`` in
pyproject.toml's ``[tool.setuptools]``; the tools that work on the source tree (proto code
generation, the type check, the tests that turn installed paths back into source paths) read it
here instead of keeping their own copies.

A development tool only: an installed ``verinet`` has no pyproject.toml beside it.

>>> folders = {"verinet": "shared", "verinet.recall_status": "services/recall-status"}
>>> folder_of("verinet.recall_status.v1", folders)
'services/recall-status/v1'
>>> folder_of("verinet.common.v1", folders)
'shared/common/v1'
>>> source_path("verinet/recall_status/holders.py", folders)
'services/recall-status/holders.py'
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

__all__ = ["REPO_ROOT", "folder_of", "package_folders", "source_path"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def package_folders(repo_root: Path = REPO_ROOT) -> dict[str, str]:
    """pyproject.toml's ``package-dir``: dotted package name -> folder relative to the repository."""
    with (repo_root / "pyproject.toml").open("rb") as file:
        settings = tomllib.load(file)
    folders = settings["tool"]["setuptools"]["package-dir"]
    return {str(package): str(folder) for package, folder in folders.items()}


def folder_of(package: str, folders: Mapping[str, str]) -> str:
    """The folder of a dotted package: its own entry, else its nearest mapped parent's plus the rest."""
    parts = package.split(".")
    for cut in range(len(parts), 0, -1):
        base = ".".join(parts[:cut])
        if base in folders:
            return "/".join([folders[base], *parts[cut:]])
    raise ValueError(f"Failed to place package {package!r}: no package-dir entry covers it; expected one of {sorted(folders)}.")


def source_path(installed: str, folders: Mapping[str, str]) -> str:
    """An installed path (``verinet/lookup/servicer.py``) as the source path it comes from.

    A path outside the mapped packages is returned as it is.

    >>> source_path("tests/conftest.py", {"verinet": "shared"})
    'tests/conftest.py'
    """
    *package, name = installed.split("/")
    try:
        return f"{folder_of('.'.join(package), folders)}/{name}"
    except ValueError:
        return installed
