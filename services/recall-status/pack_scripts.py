"""The Lua scripts of the pack store, in ``lua/pack_*.lua``: each reads or changes one GTIN's
keys atomically, in the GTIN's cluster slot, and translates between the compact stored pack
value and the expanded one Python reads (:class:`~verinet.recall_status.pack_values.PackValue`;
the translation is ``lua/pack_codec.lua``). Read once at import; :class:`PackScripts`
registers them once per Redis client.
"""

from __future__ import annotations

import redis.asyncio as aioredis
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


APPLY_CHANGES = script_source("pack_apply_changes")
COMMISSION = script_source("pack_commission")
RECORD_EVENTS = script_source("pack_record_events")
RECORD_EVENT_BATCH = script_source("pack_record_event_batch")
SCOPE = script_source("pack_scope")
SET_LEVEL_STATE = script_source("pack_set_level_state")
STATUS = script_source("pack_status")


class PackScripts:
    """The pack store's scripts, registered on one Redis client."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.apply_changes: AsyncScript = redis.register_script(APPLY_CHANGES)
        self.commission: AsyncScript = redis.register_script(COMMISSION)
        self.record_events: AsyncScript = redis.register_script(RECORD_EVENTS)
        self.record_event_batch: AsyncScript = redis.register_script(RECORD_EVENT_BATCH)
        self.scope: AsyncScript = redis.register_script(SCOPE)
        self.set_level_state: AsyncScript = redis.register_script(SET_LEVEL_STATE)
        self.status: AsyncScript = redis.register_script(STATUS)
