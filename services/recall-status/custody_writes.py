"""What an accepted capture writes: new packs, state changes (through the pack operations'
compare-and-set), aggregation, custody, history, sightings, the duplicate index and the
queryable events; one GTIN's keys per script call, so every call stays in one cluster slot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson
from redis.asyncio.cluster import RedisCluster

from verinet.errors import Conflict
from verinet.lifecycle import LastDecommission, Operation
from verinet.pack_operations import Change, PackQuestion, ReadPack, run_operation
from verinet.packs import PackState
from verinet.recall_status import event_store
from verinet.recall_status.custody_model import split_unit
from verinet.recall_status.custody_store import (
    SCRIPT_CHUNK,
    WRITE_CHUNK,
    CaptureStore,
    aggregation_key,
    by_gtin,
    container_parent_key,
    custody_key,
    seen_key,
    unit_parent_key,
)
from verinet.recall_status.pack_keys import HISTORY_LIMIT, bucket_of, product_key
from verinet.recall_status.pack_values import DecommissionRecord, PackChange, PackEventData
from verinet.store import run_script_batch


async def run_in_order(redis: Any, script: Any, calls: dict[str, list[tuple[list[str], list[Any]]]]) -> None:
    """Runs script calls so that the calls of one group (one GTIN) run in the order given:
    pipelined on a standalone Redis, in batches; on a cluster, each group in turn, the groups
    concurrently (a cluster pipeline takes no scripts, and concurrent calls may reorder)."""
    if isinstance(redis, RedisCluster):

        async def group(items: list[tuple[list[str], list[Any]]]) -> None:
            for keys, args in items:
                await script(keys=keys, args=args)

        groups = list(calls.values())
        for start in range(0, len(groups), 64):
            await asyncio.gather(*(group(g) for g in groups[start : start + 64]))
        return
    flat = [call for items in calls.values() for call in items]
    for start in range(0, len(flat), 64):
        await run_script_batch(redis, script, flat[start : start + 64])


class CaptureWriter(CaptureStore):
    """Writes the overlay's changes once the whole document is accepted."""

    # -- writing ------------------------------------------------------------------------------

    async def _write(self) -> None:
        # Stored as the commissioning API stores them, a bounded number of script calls a round trip.
        step = 64 * SCRIPT_CHUNK
        for start in range(0, len(self.new_packs), step):
            outcomes = await self.repository.commission(self.new_packs[start : start + step])
            if any(outcome.status == "conflict" for outcome in outcomes):
                raise Conflict(  # pragma: no cover - a concurrent commissioning
                    "A pack of the document was commissioned differently while it was being "
                    "captured; the packs before it were written.",
                    code="epcis.concurrent_change",
                )
        # The packs exist now; the rest touches disjoint keys, so it is written concurrently.
        await asyncio.gather(
            self._write_state_changes(), self._write_aggregation(), self._write_history(), self._write_seen(),
            self._write_queryable(),
        )

    async def _write_queryable(self) -> None:
        for start in range(0, len(self.queryable), WRITE_CHUNK):
            chunk = self.queryable[start : start + WRITE_CHUNK]
            await event_store.store(
                self.redis,
                self.actor.partner_id,
                [(event_store.epcis_event(e, self.actor.partner_id), e.event_time, v) for e, v in chunk],
            )

    async def _write_state_changes(self) -> None:
        now = self.now
        for (target, gln, transaction), units in self.state_changes.items():
            caller = replace(self.actor, location_gln=gln)

            async def write(changes: Sequence[Change], gln: str = gln, transaction: str = transaction) -> list[bool]:
                return await self._apply_changes(changes, gln, transaction)

            for start in range(0, len(units), 1000):
                questions = [PackQuestion(*split_unit(u), "", "") for u in units[start : start + 1000]]
                outcomes = await run_operation(
                    Operation.DECOMMISSION,
                    questions,
                    caller,
                    now,
                    self._read_for_operation,
                    write,
                    target,
                )
                late = next((d for d, _ in outcomes if not d.ok), None)
                if late is not None:  # pragma: no cover - a concurrent pack operation
                    raise Conflict(
                        f"A pack changed state while the document was being captured: "
                        f"{late.message} Events before it were written.",
                        code="epcis.concurrent_change",
                    )

    async def _read_for_operation(self, questions: Sequence[PackQuestion]) -> list[ReadPack]:
        answers = await self.repository.statuses(
            [(q.gtin, q.serial) for q in questions], with_decommission=True
        )
        reads = []
        for answer in answers:
            if answer is None:
                reads.append(ReadPack(None, None, b""))
                continue
            last = answer.last_decommission
            reads.append(
                ReadPack(
                    answer.record,
                    LastDecommission(last.state, last.partner_id, last.location_gln, dt.datetime.fromtimestamp(last.at, dt.UTC))
                    if last
                    else None,
                    answer.revision,
                )
            )
        return reads

    async def _apply_changes(self, changes: Sequence[Change], gln: str, transaction: str) -> list[bool]:
        at = self.now.timestamp()
        partner = self.actor.partner_id
        writes = []
        for change in changes:
            record = change.read.record
            new_state = change.decision.new_pack_state
            assert record is not None and new_state is not None
            writes.append(
                PackChange(
                    gtin=change.question.gtin,
                    serial=change.question.serial,
                    expected_revision=change.read.revision,
                    new_state=new_state,
                    decommission=DecommissionRecord(new_state, at, partner, gln)
                    if new_state is not PackState.ACTIVE
                    else None,
                    audit_entry=orjson.dumps(
                        {
                            "at": at,
                            "action": "decommission",
                            "gtin": change.question.gtin,
                            "serial": change.question.serial,
                            "partner": partner,
                            "location": gln,
                            "from": record.pack_state.value,
                            "to": new_state.value,
                            "transaction_id": transaction,
                        }
                    ),
                )
            )
        return await self.repository.apply(writes)

    async def _write_aggregation(self) -> None:
        """Cases and pallets (few) pipelined; units' custody and parents by script per GTIN."""
        pipe = self.redis.pipeline(transaction=False)
        for sscc in self.dirty_children:
            pipe.delete(aggregation_key(sscc))
            members = self.children.get(sscc, set())
            if members:
                pipe.sadd(aggregation_key(sscc), *members)
        for sscc in self.dirty_container_parent:
            parent = self.container_parent.get(sscc, "")
            if parent:
                pipe.set(container_parent_key(sscc), parent)
            else:
                pipe.delete(container_parent_key(sscc))
        if self.dirty_children or self.dirty_container_parent:
            await pipe.execute()
        # Units share a few values (one custody per event), so each value is sent once a chunk.
        by_value: dict[tuple[str, str], list[str]] = {}
        for key in self.dirty_custody:
            custody = self.custody.get(key)
            if custody is not None:
                by_value.setdefault(("c", custody.encode()), []).append(key)
        for key in self.dirty_unit_parent:
            by_value.setdefault(("p", self.unit_parent.get(key, "")), []).append(key)
        calls: list[tuple[list[str], list[Any]]] = []
        for (kind, value), keys in by_value.items():
            field_key = custody_key if kind == "c" else unit_parent_key
            for gtin, group in by_gtin(keys).items():
                for start in range(0, len(group), SCRIPT_CHUNK):
                    chunk = group[start : start + SCRIPT_CHUNK]
                    calls.append(([field_key(gtin, u[14:]) for u in chunk], [value, *(u[14:] for u in chunk)]))
        for start in range(0, len(calls), 64):
            await run_script_batch(self.redis, self.scripts.set_fields, calls[start : start + 64])

    async def _write_history(self) -> None:
        """History in event order, with custody events and sightings by each event's record
        code. Same encodings as ``PackRepository.record_events`` (a test holds them equal),
        with each event's entry sent once per chunk instead of once per unit. Calls are built
        and sent a batch at a time, so memory stays bounded whatever the document's size."""
        script = self.scripts.record
        pending: dict[str, list[tuple[str, int]]] = {}  # GTIN -> (serial, entry number) in order
        entries: dict[int, tuple[str, str, bytes]] = {}
        ready: dict[str, list[tuple[list[str], list[Any]]]] = {}
        ready_calls = 0

        def call(gtin: str, units: list[tuple[str, int]]) -> tuple[list[str], list[Any]]:
            local: dict[int, int] = {}
            unit_args: list[Any] = []
            for serial, number in units:
                unit_args += [serial, f"{bucket_of(serial):04x}", local.setdefault(number, len(local) + 1)]
            table: list[Any] = []
            for number in local:  # insertion order: triple numbers 1, 2, ...
                table += entries[number]
            return [product_key(gtin)], [HISTORY_LIMIT, len(local), *table, *unit_args]

        async def flush() -> None:
            nonlocal ready_calls
            if ready:
                await run_in_order(self.redis, script, ready)
            ready.clear()
            ready_calls = 0
            used = {n for units in pending.values() for _, n in units}
            for number in [n for n in entries if n not in used]:
                del entries[number]

        for number, entry in enumerate(self.history):
            sample = PackEventData("", "", entry.event, entry.partner_id, entry.gln, entry.at, entry.detail, entry.record)
            entries[number] = (entry.record, sample.place, orjson.dumps(sample.as_dict() | entry.extra))
            for key in entry.units:
                gtin = key[:14]
                units = pending.setdefault(gtin, [])
                units.append((key[14:], number))
                if len(units) >= SCRIPT_CHUNK:
                    ready.setdefault(gtin, []).append(call(gtin, units))
                    del pending[gtin]
                    ready_calls += 1
                    if ready_calls >= 64:
                        await flush()
            if len(entries) >= 4 * SCRIPT_CHUNK:  # many small events: send what is waiting
                for gtin, units in pending.items():
                    ready.setdefault(gtin, []).append(call(gtin, units))
                pending.clear()
                await flush()
        for gtin, units in pending.items():
            ready.setdefault(gtin, []).append(call(gtin, units))
        pending.clear()
        await flush()

    async def _write_seen(self) -> None:
        partner = self.actor.partner_id
        shards: dict[str, list[bytes]] = {}
        for digest in self.seen_now:
            shards.setdefault(seen_key(partner, digest), []).append(digest)
        items = list(shards.items())
        for start in range(0, len(items), 256):
            pipe = self.redis.pipeline(transaction=False)
            for key, members in items[start : start + 256]:
                pipe.sadd(key, *members)
            await pipe.execute()
