"""A recall's report: the recall and its effectiveness, then a row per unit (its state, last
known location, notification and acknowledgement), streamed in sorted chunks read ahead of
the sender.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

from verinet.packs import PackState
from verinet.recall_status.pack_values import StoredPack
from verinet.recall_status.recall_effectiveness import Effectiveness
from verinet.recall_status.recall_model import Unit, members_key, partner_units_key
from verinet.store import reply_bytes
from verinet.timestamps import utc_or_empty as iso

REPORT_CHUNK_ROWS = 5_000  # rows a report chunk carries: one round trip for their rows, one for their states
REPORT_READ_AHEAD = 2  # chunks a report reads while the current one is sent
REPORT_MEMBER_FIELDS = 16  # member lists (about 8,000 serials each at most) one report read fetches


class RecallReports(Effectiveness):
    """The report is the recall as ``get`` answers it, followed by its rows."""

    async def report(self, recall_id: str, viewer: str, is_admin: bool) -> tuple[dict[str, Any], AsyncGenerator[builtins.list[dict[str, Any]]]]:
        """The recall (its summary and effectiveness), and its report rows in chunks of at most
        ``REPORT_CHUNK_ROWS``, in GTIN and serial order: every unit for its manufacturer or
        admin, a partner's own units for a partner. Errors (unknown recall, not visible to
        ``viewer``) are raised here, before any row is read."""
        recall = await self.get(recall_id, viewer, is_admin)
        delivered = await self.delivered_at(recall_id)
        if not is_admin and recall.get("owner") != viewer:
            return recall, self._report_rows(recall_id, self._partner_units(recall_id, viewer), delivered, holder=viewer)
        return recall, self._report_rows(recall_id, self._member_units(recall_id), delivered)

    async def _member_units(self, recall_id: str) -> AsyncIterator[builtins.list[str]]:
        """Every unit of the recall ("<gtin>|<serial>") in sorted chunks; one GTIN's serials are
        held at a time, as the member lists store them."""
        fields = [reply_bytes(f).decode() for f in await self.redis.hkeys(members_key(recall_id))]
        if not fields:  # published before member lists existed: a row per unit
            keys = sorted(unit.key for unit in await self.rows(recall_id))
            for start in range(0, len(keys), REPORT_CHUNK_ROWS):
                yield keys[start : start + REPORT_CHUNK_ROWS]
            return
        by_gtin: dict[str, builtins.list[str]] = {}
        for name in fields:
            by_gtin.setdefault(name.split(":", 1)[0], []).append(name)
        for gtin, names in sorted(by_gtin.items()):
            serials: set[str] = set()
            for start in range(0, len(names), REPORT_MEMBER_FIELDS):
                for raw in await self.redis.hmget(members_key(recall_id), names[start : start + REPORT_MEMBER_FIELDS]):
                    if raw:
                        serials.update(reply_bytes(raw).decode().split("\n"))
            ordered = sorted(serials)
            del serials
            for start in range(0, len(ordered), REPORT_CHUNK_ROWS):
                yield [f"{gtin}|{serial}" for serial in ordered[start : start + REPORT_CHUNK_ROWS]]

    async def _partner_units(self, recall_id: str, partner_id: str) -> AsyncIterator[builtins.list[str]]:
        """The units ``partner_id`` held when the recall was published, in sorted chunks."""
        keys = sorted(reply_bytes(m).decode() for m in await self.redis.smembers(partner_units_key(recall_id, partner_id)))
        for start in range(0, len(keys), REPORT_CHUNK_ROWS):
            yield keys[start : start + REPORT_CHUNK_ROWS]

    async def _report_rows(
        self, recall_id: str, chunks: AsyncIterator[builtins.list[str]], delivered: Mapping[str, float], holder: str = ""
    ) -> AsyncGenerator[builtins.list[dict[str, Any]]]:
        """Report rows of each chunk of units (only ``holder``'s when given), with the packs'
        current states. The next chunks are read while the caller sends this one."""

        async def read(keys: builtins.list[str]) -> builtins.list[dict[str, Any]]:
            rows = await self._stored_rows(recall_id, keys)
            units = [rows.get(key) or Unit.unlocated(key) for key in keys]
            if holder:
                units = [unit.seen_by(holder) for unit in units if unit.holding(holder)]
            states = await self.packs.statuses([(u.gtin, u.serial) for u in units])
            return [self._report_row(unit, stored, delivered) for unit, stored in zip(units, states, strict=True)]

        pending: builtins.list[asyncio.Task[builtins.list[dict[str, Any]]]] = []
        try:
            async for keys in chunks:
                pending.append(asyncio.ensure_future(read(keys)))
                if len(pending) > REPORT_READ_AHEAD and (rows := await pending.pop(0)):
                    yield rows
            while pending:
                if rows := await pending.pop(0):
                    yield rows
        finally:
            for task in pending:
                task.cancel()

    @staticmethod
    def _report_row(unit: Unit, stored: StoredPack | None, delivered: Mapping[str, float]) -> dict[str, Any]:
        state = ""
        lot = unit.lot
        if stored is not None:
            record = stored.record
            lot = lot or record.lot
            if record.product_state is PackState.WITHDRAWN:
                state = PackState.WITHDRAWN.value
            elif record.lot_state is PackState.RECALLED:
                state = PackState.RECALLED.value
            else:
                state = record.pack_state.value
        last_known, first_ack = unit.last_known, unit.first_ack
        notified = [delivered[h.partner] for h in unit.holders if h.partner in delivered]
        return {
            "gtin": unit.gtin,
            "serial": unit.serial,
            "lot": lot,
            "state": state,
            "last_location": last_known.gln if last_known else "",
            "last_partner": last_known.partner if last_known else "",
            "last_seen": iso(last_known.seen if last_known else 0.0),
            "notified_at": iso(min(notified, default=0.0)),
            "acknowledged_at": iso(first_ack.ack if first_ack else 0.0),
            "action": first_ack.action if first_ack else "",
        }
