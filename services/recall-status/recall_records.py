"""What every part of a recall reads: the recall itself (and who may see it), its stored unit
rows with their acknowledgements, its members, and the names partners gave their locations;
and the one way a recall tells its manufacturer of a change. The base of the parts of
:class:`~verinet.recall_status.recalls.RecallService` (lifecycle, effectiveness, report,
acknowledgements), which hold no state of their own.
"""

from __future__ import annotations

import builtins
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from verinet import lua_scripts
from verinet.errors import NotFound
from verinet.recall_status import locations
from verinet.recall_status.pack_store import PackRepository
from verinet.recall_status.recall_model import (
    UNIT_BUCKETS,
    AuditAppend,
    DeliveredAt,
    Enqueue,
    Holder,
    PartnerNames,
    Unit,
    ack_bucket_key,
    members_key,
    no_names,
    notice_of,
    partner_units_key,
    partners_key,
    recall_key,
    unit_bucket_key,
)
from verinet.recall_status.status_report import Location
from verinet.store import reply_bytes, reply_fields

#: The recall scripts (``lua/recall_*.lua``): a holder's acknowledgement, a reminder step
#: recorded once, and appending serials to member lists.
ACKNOWLEDGE = lua_scripts.source("verinet.recall_status", "recall_acknowledge")
REMIND = lua_scripts.source("verinet.recall_status", "recall_remind")
APPEND_MEMBERS = lua_scripts.source("verinet.recall_status", "recall_append_members")


class RecallScripts:
    """The recall scripts, registered on one Redis client."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.acknowledge = redis.register_script(ACKNOWLEDGE)
        self.remind = redis.register_script(REMIND)
        self.append_members = redis.register_script(APPEND_MEMBERS)


@dataclass
class RecallRecords:
    """A recall's stored records, read for its manufacturer, its holders and admin."""

    redis: aioredis.Redis
    packs: PackRepository
    enqueue: Enqueue
    audit: AuditAppend
    delivered_at: DeliveredAt
    clock: Callable[[], float] = field(default=time.time)
    partner_names: PartnerNames = no_names
    scripts: RecallScripts = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.scripts = RecallScripts(self.redis)

    async def _meta(self, recall_id: str, viewer: str, is_admin: bool, *, manufacturer_only: bool = False) -> dict[str, str]:
        raw = await self.redis.hgetall(recall_key(recall_id))
        if not raw:
            raise NotFound(f"No recall with id {recall_id!r}.", code="recall.not_found")
        meta = {k.decode(): v.decode() for k, v in reply_fields(raw).items()}
        if is_admin or meta["owner"] == viewer:
            return meta
        if not manufacturer_only and await self.redis.sismember(partners_key(recall_id), viewer):
            return meta
        raise NotFound(f"No recall with id {recall_id!r}.", code="recall.not_found")

    async def rows(self, recall_id: str) -> builtins.list[Unit]:
        """The stored rows: one per located unit (recalls published before member lists
        existed have one per unit)."""
        pipe = self.redis.pipeline(transaction=False)
        for bucket in range(UNIT_BUCKETS):
            pipe.hgetall(f"rcu:{{rc:{recall_id}}}:{bucket:02x}")
        units: builtins.list[Unit] = []
        for rows in await pipe.execute():
            units.extend(Unit.from_row(k.decode(), v) for k, v in rows.items())
        units.sort(key=lambda u: (u.gtin, u.serial))
        await self._attach_acks(recall_id, units)
        return units

    async def _attach_acks(self, recall_id: str, units: Sequence[Unit]) -> None:
        """Sets each holder's acknowledgement, read in one round trip."""
        by_bucket: dict[str, builtins.list[tuple[str, Holder]]] = {}
        for unit in units:
            for holding in unit.holders:
                by_bucket.setdefault(ack_bucket_key(recall_id, unit.key), []).append((f"{unit.key}|{holding.partner}", holding))
        if not by_bucket:
            return
        pipe = self.redis.pipeline(transaction=False)
        for bucket, pairs in by_bucket.items():
            pipe.hmget(bucket, [name for name, _ in pairs])
        for pairs, values in zip(by_bucket.values(), await pipe.execute(), strict=True):
            for (_, holding), raw in zip(pairs, values, strict=True):
                if raw:
                    at, _, action = reply_bytes(raw).decode().partition("|")
                    holding.ack, holding.action = float(at), action

    async def _members(self, recall_id: str) -> builtins.list[tuple[str, str]]:
        """Every unit of the recall, sorted."""
        members: set[tuple[str, str]] = set()
        for field_name, serials in reply_fields(await self.redis.hgetall(members_key(recall_id))).items():
            gtin = field_name.decode().split(":", 1)[0]
            members.update((gtin, serial) for serial in serials.decode().split("\n"))
        members.update((u.gtin, u.serial) for u in await self.rows(recall_id))
        return sorted(members)

    async def _stored_rows(self, recall_id: str, keys: Sequence[str]) -> dict[str, Unit]:
        """The stored rows of ``keys`` ("<gtin>|<serial>") that have one, in one round trip."""
        by_bucket: dict[str, builtins.list[str]] = {}
        for key in keys:
            by_bucket.setdefault(unit_bucket_key(recall_id, key), []).append(key)
        pipe = self.redis.pipeline(transaction=False)
        for bucket, names in by_bucket.items():
            pipe.hmget(bucket, names)
        found: dict[str, Unit] = {}
        for names, values in zip(by_bucket.values(), await pipe.execute(), strict=True):
            for key, raw in zip(names, values, strict=True):
                if raw is not None:
                    found[key] = Unit.from_row(key, reply_bytes(raw))
        await self._attach_acks(recall_id, list(found.values()))
        return found

    async def _held_units(self, recall_id: str, partner_id: str) -> builtins.list[Unit]:
        """The units ``partner_id`` holds in the recall, as it may see them (its own holding,
        with its acknowledgement), sorted."""
        keys = sorted(reply_bytes(m).decode() for m in await self.redis.smembers(partner_units_key(recall_id, partner_id)))
        rows = await self._stored_rows(recall_id, keys)
        units = [rows[key].seen_by(partner_id) for key in keys if key in rows]
        return [u for u in units if u.holders]

    async def _location_details(self, glns: Sequence[str]) -> dict[str, Location]:
        """Names and addresses partners gave for their GLNs (EPCIS Location master data)."""
        found = await locations.lookup(self.redis, glns)
        return {gln: Location(gln, data.name, data.as_dict().get("address", "")) for gln, data in found.items()}

    async def _with_location_names(self, summary: dict[str, Any]) -> dict[str, Any]:
        """``units_by_location`` entries with the GLN's name and address where its partner gave
        them (EPCIS Location master data)."""
        known = await locations.lookup(self.redis, (e["gln"] for e in summary["units_by_location"]))
        for entry in summary["units_by_location"]:
            if entry["gln"] in known:
                entry["location"] = known[entry["gln"]].as_dict()
        return summary

    @staticmethod
    def scope_summary(located: Sequence[Unit], total: int) -> dict[str, Any]:
        """``total`` units, of which ``located`` (those with a holder) by holder and location;
        a unit with two holders counts at both locations, and once as located."""
        by_location: Counter[tuple[str, str]] = Counter((h.gln, h.partner) for u in located for h in u.holders)
        return {
            "units": total,
            "units_by_location": [
                {"gln": gln, "partner": partner, "units": n}
                for (gln, partner), n in sorted(by_location.items(), key=lambda item: (-item[1], item[0]))
            ],
            "units_not_yet_shipped": total - sum(1 for u in located if u.holders),
        }

    async def _tell_owner(self, recall_id: str, meta: Mapping[str, str], event: str, data: dict[str, Any]) -> None:
        """A status change of the recall to its manufacturer (its QMS follows them)."""
        await self.enqueue(recall_id, meta["owner"], event, {"recall": notice_of(meta), "audience": "manufacturer", **data}, drill=bool(meta["mock"]))
