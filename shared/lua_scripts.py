"""Lua scripts kept as ``.lua`` files in a ``lua/`` folder beside the modules that run them.

A module reads each of its scripts once, at import, with :func:`source`; the store object
made at startup registers it once per Redis client (``redis.register_script``) and keeps the
``Script`` object, which sends the script's SHA-1 and the text only when Redis does not have
it yet. Each file's header says what it does, its KEYS and ARGV and its answer.

Two conventions keep a script whole yet written once:

- a header line ``-- uses: pack_codec, audit_chain`` puts those files (fragments of local
  functions, in that order) before the script;
- ``{{NAME}}`` is replaced by ``values[NAME]``, for a constant that Python owns (the stored
  pack state numbers, say), so it is not written down twice.

>>> text = source("verinet.recall_status", "audit_append")
>>> "local function chain_append" in text and text.rstrip().endswith("return chain_append(KEYS[1], KEYS[2], ARGV[1])")
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib.resources import files

__all__ = ["source"]

USES = re.compile(r"^-- uses: *(.+)$", re.MULTILINE)
PLACEHOLDER = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")


def read(package: str, name: str) -> str:
    """The text of ``lua/<name>.lua`` of ``package`` as it is written."""
    return (files(package) / "lua" / f"{name}.lua").read_text(encoding="utf-8")


def source(package: str, name: str, values: Mapping[str, object] | None = None) -> str:
    """The script ``lua/<name>.lua`` of ``package`` ready to run: the fragments its header
    ``uses`` first, then the script, with every ``{{NAME}}`` filled from ``values``."""
    text = read(package, name)
    parts = [read(package, used.strip()) for line in USES.findall(text) for used in line.split(",")]
    whole = "\n".join([*parts, text])

    def fill(match: re.Match[str]) -> str:
        if values is None or match[1] not in values:
            raise KeyError(
                f"Failed to load Lua script {package}/lua/{name}.lua: expected a value for "
                f"{{{{{match[1]}}}}}, got none."
            )
        return str(values[match[1]])

    return PLACEHOLDER.sub(fill, whole)
