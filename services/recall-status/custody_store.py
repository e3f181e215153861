"""What a capture reads: the overlay of stored state it checks events against (units, their
custody and cases, product and lot states), loaded from Redis a chunk of events at a time,
the partner's capture lock, and the digests that drop events captured before. Writing the
accepted capture back is :mod:`verinet.recall_status.custody_writes`.

Key layout (beside those of :mod:`verinet.recall_status.pack_store`; keys of a GTIN carry
``{gtin}``, keys of a logistic unit ``{sscc}``, keys of a partner ``{partner...}``, so every
key, script and pipeline is Redis Cluster safe):

``agg:{S}``                set    children of SSCC S: ``u<GTIN-14><serial>`` units and
                                  ``c<SSCC-18>`` cases or pallets
``ctr:{S}``                string SSCC that S is packed in
``aggp:{G}:<bucket>``      hash   serial -> SSCC the unit is packed in
``cus:{G}:<bucket>``       hash   serial -> custody: ``H|<partner>|<gln>`` held, or
                                  ``T|<partner>|<gln>|<GLN>,<GLN>`` shipped by that partner
                                  from that GLN to those destinations, not yet received.
                                  No entry: held by the product's manufacturer.
``epcisseen:{P:<hh>}``     set    16-byte digests of the eventIDs and event hashes partner P
                                  captured, in 256 shards by their first byte
``epcislock:{P}``          string held while a capture of partner P runs
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from redis.commands.core import AsyncScript

from verinet.errors import Conflict
from verinet.lifecycle import LastDecommission
from verinet.packs import PackRecord, PackState
from verinet.recall_status.custody_model import (
    Actor,
    CaptureOutcome,
    Custody,
    CustodyEvent,
    HistoryEntry,
    split_unit,
    target_state,
)
from verinet.recall_status.key_families import bucketed, tagged
from verinet.recall_status.pack_keys import BUCKETS, bucket_key, lot_state_key, product_key
from verinet.recall_status.pack_scripts import ScriptSet
from verinet.recall_status.pack_store import PackRepository
from verinet.recall_status.pack_values import NewPack, PackValue
from verinet.store import run_script_batch

SCRIPT_CHUNK = 500  # units per script call (all keys of one GTIN: one cluster slot)
LOCK_MILLISECONDS = 600_000
WRITE_CHUNK = 5_000

class CustodyScripts(ScriptSet, prefix="custody_"):
    """The scripts of custody capture (``lua/custody_*.lua``): made once by the servicer and
    handed to each capture."""

    release_lock: AsyncScript
    read_units: AsyncScript
    read_fields: AsyncScript
    set_fields: AsyncScript
    record: AsyncScript


aggregation_key = tagged("agg")  # by SSCC
container_parent_key = tagged("ctr")  # by SSCC
lock_key = tagged("epcislock")  # by partner
unit_parent_key = bucketed("aggp", BUCKETS)  # by GTIN, serial
custody_key = bucketed("cus", BUCKETS)  # by GTIN, serial


def seen_key(partner_id: str, digest: bytes) -> str:
    return f"epcisseen:{{{partner_id}:{digest[0]:02x}}}"


def by_gtin(units: Iterable[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for key in units:
        groups.setdefault(key[:14], []).append(key)
    return groups


class CaptureStore:
    """A capture's overlay: stored state as loaded, changed by the events accepted so far."""

    def __init__(
        self,
        repository: PackRepository,
        actor: Actor,
        now: dt.datetime,
        scripts: CustodyScripts | None = None,
    ) -> None:
        self.repository = repository
        self.redis = repository.redis
        self.scripts = scripts or CustodyScripts(self.redis)
        self.actor = actor
        self.now = now
        self.outcome = CaptureOutcome(applied=False)
        self._lock_token = ""
        # The overlay: stored state as loaded, changed by the events accepted so far. A unit's
        # pack is kept as stored (bytes, decoded when a rule needs its fields) or as commissioned.
        self.values: dict[str, PackValue | bytes | None] = {}
        self._custody_codes: dict[bytes, Custody] = {}
        self.custody: dict[str, Custody | None] = {}
        self.unit_parent: dict[str, str] = {}
        self.children: dict[str, set[str]] = {}
        self.container_parent: dict[str, str] = {}
        self.owners: dict[str, str] = {}
        self.records: dict[str, tuple[PackRecord, LastDecommission | None]] = {}
        self.gtin_states: dict[str, tuple[PackState, dict[str, PackState]]] = {}
        # what to write when the document is accepted
        self.new_packs: list[NewPack] = []
        self.history: list[HistoryEntry] = []
        self.state_changes: dict[tuple[PackState, str, str], list[str]] = {}
        self.dirty_custody: set[str] = set()
        self.dirty_unit_parent: set[str] = set()
        self.dirty_children: set[str] = set()
        self.dirty_container_parent: set[str] = set()
        self.seen_now: set[bytes] = set()
        # applied events with the partners who may query them (event_store)
        self.queryable: list[tuple[CustodyEvent, set[str]]] = []

    # -- lifecycle ----------------------------------------------------------------------------

    async def begin(self) -> None:
        """Takes the partner's capture lock: one capture at a time per partner."""
        token = secrets.token_hex(8)
        taken = await self.redis.set(
            lock_key(self.actor.partner_id), token, nx=True, px=LOCK_MILLISECONDS
        )
        if not taken:
            raise Conflict(
                "Another EPCIS capture of yours is in progress; retry when it has finished.",
                code="epcis.capture_in_progress",
            )
        self._lock_token = token

    async def release(self) -> None:
        if self._lock_token:
            script = self.scripts.release_lock
            await script(keys=[lock_key(self.actor.partner_id)], args=[self._lock_token])
            self._lock_token = ""

    # -- duplicates ---------------------------------------------------------------------------

    @staticmethod
    def digests(event: CustodyEvent) -> list[bytes]:
        found = [event.event_hash[:16]] if event.event_hash else []
        if event.event_id:
            found.append(hashlib.sha256(b"eventID\x00" + event.event_id.encode()).digest()[:16])
        return found

    async def _drop_duplicates(self, events: Sequence[CustodyEvent]) -> list[CustodyEvent]:
        partner = self.actor.partner_id
        asked = [self.digests(event) for event in events]
        shards: dict[str, list[bytes]] = {}
        for digests in asked:
            for digest in digests:
                shards.setdefault(seen_key(partner, digest), []).append(digest)
        stored: set[bytes] = set()
        if shards:
            pipe = self.redis.pipeline(transaction=False)
            for key, members in shards.items():
                pipe.smismember(key, members)
            for members, found in zip(shards.values(), await pipe.execute(), strict=True):
                stored.update(m for m, hit in zip(members, found, strict=True) if hit)
        fresh = []
        for event, digests in zip(events, asked, strict=True):
            if any(d in stored or d in self.seen_now for d in digests):
                self.outcome.duplicates += 1
                continue
            self.seen_now.update(digests)
            fresh.append(event)
        return fresh

    # -- loading stored state -----------------------------------------------------------------

    async def _load(self, events: Sequence[CustodyEvent]) -> None:
        containers = {c for e in events for c in (*e.containers, e.parent) if c}
        await self._load_containers(containers)
        units = {u for e in events for u in e.units}
        for sscc in containers:
            units.update(self._units_inside(sscc))
        await self._load_units([u for u in units if u not in self.values])
        packed = {u for e in events if e.type == "AggregationEvent" and e.action == "ADD" for u in e.units}
        await self._load_parents([u for u in packed if u not in self.unit_parent])
        changing = {
            u
            for e in events
            if target_state(e.biz_step, e.disposition) is not None
            for u in self._expand_quietly(e)
        }
        await self._load_records([u for u in changing if u not in self.records])

    async def _load_containers(self, ssccs: Iterable[str]) -> None:
        pending = [s for s in set(ssccs) if s not in self.children]
        while pending:
            pipe = self.redis.pipeline(transaction=False)
            for sscc in pending:
                pipe.smembers(aggregation_key(sscc))
                pipe.get(container_parent_key(sscc))
            replies = await pipe.execute()
            found: set[str] = set()
            for n, sscc in enumerate(pending):
                members = {m.decode() for m in replies[2 * n]}
                parent = replies[2 * n + 1]
                self.children[sscc] = members
                self.container_parent[sscc] = parent.decode() if parent else ""
                found.update(m[1:] for m in members if m[0] == "c")
                if self.container_parent[sscc]:
                    found.add(self.container_parent[sscc])
            pending = [s for s in found if s not in self.children]

    async def _load_units(self, units: Sequence[str]) -> None:
        calls: list[tuple[list[str], list[Any]]] = []
        chunks: list[tuple[str, list[str]]] = []
        for gtin, keys in by_gtin(units).items():
            for start in range(0, len(keys), SCRIPT_CHUNK):
                chunk = keys[start : start + SCRIPT_CHUNK]
                script_keys = [product_key(gtin)]
                serials = []
                for key in chunk:
                    serial = key[14:]
                    script_keys += [bucket_key(gtin, serial), custody_key(gtin, serial)]
                    serials.append(serial)
                calls.append((script_keys, serials))
                chunks.append((gtin, chunk))
        if not calls:
            return
        replies = await run_script_batch(self.redis, self.scripts.read_units, calls)
        for (gtin, chunk), reply in zip(chunks, replies, strict=True):
            self.owners[gtin] = reply[0].decode() if reply[0] else ""
            for n, key in enumerate(chunk):
                value, custody = reply[1 + 2 * n], reply[2 + 2 * n]
                self.values[key] = value
                if custody:
                    known = self._custody_codes.get(custody)
                    if known is None:  # a shipment's units share one code: decode it once
                        if len(self._custody_codes) >= 10_000:
                            self._custody_codes.clear()
                        known = self._custody_codes[custody] = Custody.decode(custody)
                    self.custody[key] = known
                else:
                    self.custody[key] = None

    async def _load_parents(self, units: Sequence[str]) -> None:
        """The case each unit is packed in, for units about to be packed."""
        calls: list[tuple[list[str], list[Any]]] = []
        chunks: list[list[str]] = []
        for gtin, keys in by_gtin(units).items():
            for start in range(0, len(keys), SCRIPT_CHUNK):
                chunk = keys[start : start + SCRIPT_CHUNK]
                calls.append(([unit_parent_key(gtin, u[14:]) for u in chunk], [u[14:] for u in chunk]))
                chunks.append(chunk)
        if not calls:
            return
        replies = await run_script_batch(self.redis, self.scripts.read_fields, calls)
        for chunk, reply in zip(chunks, replies, strict=True):
            for key, parent in zip(chunk, reply, strict=True):
                self.unit_parent[key] = parent.decode() if parent else ""

    async def _load_records(self, units: Sequence[str]) -> None:
        """Full records (batch and product state, last decommission) for state changes."""
        stored = [u for u in units if self.values.get(u) is not None]
        for start in range(0, len(stored), WRITE_CHUNK):
            chunk = stored[start : start + WRITE_CHUNK]
            answers = await self.repository.statuses(
                [split_unit(u) for u in chunk], with_decommission=True
            )
            for key, answer in zip(chunk, answers, strict=True):
                if answer is None:  # pragma: no cover - read just before
                    continue
                last = answer.last_decommission
                self.records[key] = (
                    answer.record,
                    LastDecommission(
                        last.state, last.partner_id, last.location_gln, dt.datetime.fromtimestamp(last.at, dt.UTC)
                    )
                    if last
                    else None,
                )
        fresh_gtins = sorted({u[:14] for u in units if u not in self.records} - self.gtin_states.keys())
        if fresh_gtins:
            pipe = self.redis.pipeline(transaction=False)
            for gtin in fresh_gtins:
                pipe.hget(product_key(gtin), "state")
                pipe.hgetall(lot_state_key(gtin))
            replies = await pipe.execute()
            for n, gtin in enumerate(fresh_gtins):
                product_state, lots = replies[2 * n], replies[2 * n + 1]
                self.gtin_states[gtin] = (
                    PackState.from_stored(product_state.decode()) if product_state else PackState.ACTIVE,
                    {k.decode(): PackState.from_stored(v.decode()) for k, v in lots.items()},
                )

    # -- expansion ----------------------------------------------------------------------------

    def _units_inside(self, sscc: str, seen: set[str] | None = None) -> list[str]:
        seen = set() if seen is None else seen
        if sscc in seen:
            return []
        seen.add(sscc)
        found = []
        for member in self.children.get(sscc, ()):
            if member[0] == "u":
                found.append(member[1:])
            else:
                found.extend(self._units_inside(member[1:], seen))
        return found

    def _event_epcs(self, event: CustodyEvent) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The units and containers an event is about (an observed aggregation: parent too)."""
        if event.type == "AggregationEvent" and event.action == "OBSERVE" and event.parent:
            return event.units, (event.parent, *event.containers)
        return event.units, event.containers

    def _expand_quietly(self, event: CustodyEvent) -> list[str]:
        units, containers = self._event_epcs(event)
        found = list(units)
        for sscc in containers:
            found.extend(self._units_inside(sscc))
        return found
