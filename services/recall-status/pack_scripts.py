"""The Lua scripts of the pack store, in ``lua/pack_*.lua``: each reads or changes one GTIN's
keys atomically, in the GTIN's cluster slot, and translates between the compact stored pack
value and the expanded one Python reads (:class:`~verinet.recall_status.pack_values.PackValue`;
the translation is ``lua/pack_codec.lua``). Read once at import; :class:`PackScripts`
registers them once per Redis client
(:class:`ScriptSet`, which the custody scripts use too).
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from redis.commands.core import AsyncScript

from verinet import lua_scripts
from verinet.recall_status.pack_values import MAX_SIGHTINGS

#: The stored state numbers: position in this string of ``PackState.stored``. Persisted in every
#: pack value, so append only.
STATE_NUMBERS = "ASDTMFXLCERWI"

#: What the scripts take from Python (``{{NAME}}`` in their files).
VALUES = {"STATE_NUMBERS": STATE_NUMBERS, "MAX_SIGHTINGS": MAX_SIGHTINGS}


def script_source(name: str) -> str:
    """The script ``lua/<name>.lua`` of recall-status, with the pack store's values (custody
    scripts read and record packs too)."""
    return lua_scripts.source("verinet.recall_status", name, VALUES)


class ScriptSet:
    """Scripts registered on one Redis client: one for each attribute a subclass annotates,
    from ``lua/<prefix><attribute>.lua``, its text read once when the subclass is defined."""

    _sources: ClassVar[dict[str, str]]

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = inspect.get_annotations(cls)  # its own attributes, not ScriptSet's
        cls._sources = {name: script_source(prefix + name) for name in names}

    def __init__(self, redis: Any) -> None:
        for name, source in self._sources.items():
            setattr(self, name, redis.register_script(source))


class PackScripts(ScriptSet, prefix="pack_"):
    """The pack store's scripts (``lua/pack_*.lua``)."""

    apply_changes: AsyncScript
    commission: AsyncScript
    record_events: AsyncScript
    record_event_batch: AsyncScript
    scope: AsyncScript
    set_level_state: AsyncScript
    status: AsyncScript
