"""Recalls at unit precision: publishing a recall and fixing its scope, extending, changing
its strategy, closing and listing recalls: the lifecycle in :class:`RecallService`, which is
also the one object the servicer holds. The rest of a recall is a module each, joined here:

``recall_model``            the scope, units and holders, and the Redis keys of a recall
``recall_records``          what every part reads (the recall, its unit rows, members, locations)
``recall_effectiveness``    the recall with its effectiveness, checks, the status report's facts
``recall_report``           the report rows, streamed
``recall_acknowledgements`` a holder's notice, tasks, acknowledgements, letter and reminders

The scope is fixed when the recall is published: the units are the packs that match it then
(each group of pack buckets is read, and for a published recall its members recorded, in one
atomic step); a pack commissioned later is not in the recall even if it matches. A recall by
line or window recalls its packs with one rule per GTIN plus those member lists (see
``recall_status.pack_store``), a lot recall with one write per lot. Members are stored as
compact lists (at most 128 per GTIN here), and per-unit rows only for units with a last known
location (what a holder is notified of and acknowledges); the report builds the rows of the
other units when it is read.

Holders follow :func:`verinet.recall_status.holders.holders_of` (custodian first, then
partners with a possession-attested sighting since). Each holder gets a task for its units,
acknowledges only those (anything else is answered alike, whether in the recall or not), at
most ``MAX_ACK_UNITS`` a request; a unit counts once however often and by how many holders it
is acknowledged. A partner other than the recall's manufacturer sees only its own holdings.
"""

from __future__ import annotations

import builtins
import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any, cast

import orjson

from verinet.errors import Conflict, InvalidInput
from verinet.recall_status.pack_store import scope_group_of
from verinet.recall_status.recall_acknowledgements import Acknowledgements, recall_notice
from verinet.recall_status.recall_model import (
    Collected,
    Holder,
    RecallScope,
    Unit,
    hash_fields,
    members_key,
    partner_units_key,
    partners_key,
    recall_key,
    strategy_of,
    task_since_key,
    unit_bucket_key,
)
from verinet.recall_status.recall_report import RecallReports
from verinet.recall_status.strategy import (
    CLASS_I_REMINDER_DAYS,
    DEFAULT_REMINDER_DAYS,
    RecallStrategy,
)
from verinet.store import reply_bytes
from verinet.timestamps import utc_or_empty as iso

CLASSES = ("I", "II", "III")
DEPTHS = ("wholesale", "retail", "consumer")


MEMBER_WRITE_BYTES = 1 << 20  # bounds one member-append call...
MEMBER_WRITE_FIELDS = 1_000  # ...and its fields (Lua's unpack takes a few thousand values)
ROW_WRITE_UNITS = 20_000  # bounds one pipeline of unit rows


class RecallService(RecallReports, Acknowledgements):
    """A recall's lifecycle; with it, through its bases, its effectiveness and report
    (:class:`RecallReports`) and its holders' side (:class:`Acknowledgements`)."""

    # -- publishing -------------------------------------------------------------------------
    async def _require_owner(self, scope: RecallScope, partner_id: str, is_admin: bool) -> None:
        for gtin in sorted(set(scope.gtins) | {g for g, _ in scope.packs}):
            await self.packs.require_owned_product(gtin, partner_id, is_admin=is_admin)

    async def _collect_units(
        self, scope: RecallScope, *, mode: str = "list", recall_id: str = "", skip: frozenset[str] = frozenset()
    ) -> Collected:
        """The units in scope, minus ``skip`` ("<gtin>|<serial>"). Filters are evaluated in
        Redis; ``mode="mark"`` records each match as a member of the recall as it is read."""
        found = Collected()
        listed: set[str] = set()
        if scope.packs:
            stored = await self.packs.statuses(list(scope.packs))
            present: builtins.list[Unit] = []
            for (gtin, serial), record in zip(scope.packs, stored, strict=True):
                if record is None:
                    found.unknown.append(f"{gtin}|{serial}")
                elif f"{gtin}|{serial}" not in skip:
                    present.append(Unit(gtin, serial, record.record.lot, record.record.expiry))
            wheres = await self.packs.whereabouts([(u.gtin, u.serial) for u in present])
            for unit, whereabouts in zip(present, wheres, strict=True):
                listed.add(unit.key)
                found.listed.append(unit)
                found.add(unit.gtin, scope_group_of(unit.serial), unit.serial, 1)
                if unit.locate(whereabouts):
                    found.located.append(unit)
        if scope.has_filters:
            where = scope.pack_filter()
            drop = listed | skip
            for gtin in scope.gtins:
                scan_mode = "list" if mode == "count" and drop else mode
                async for group in self.packs.scan_scope(gtin, where, mode=scan_mode, recall_id=recall_id):
                    if not group.count:
                        continue
                    if scan_mode == "count":
                        found.count += group.count
                    elif not drop:
                        found.add(gtin, group.group, group.serials.decode(), group.count)
                    else:
                        kept = [s for s in group.serials.decode().split("\n") if f"{gtin}|{s}" not in drop]
                        if kept:
                            found.add(gtin, group.group, "\n".join(kept), len(kept))
                    for serial, value, whereabouts in group.located:
                        key = f"{gtin}|{serial}"
                        if key in listed or key in skip:
                            continue
                        unit = Unit(gtin, serial, value.lot, value.expiry)
                        if unit.locate(whereabouts):
                            found.located.append(unit)
        return found

    async def preview(self, owner: str, is_admin: bool, scope: RecallScope) -> dict[str, Any]:
        """What ``create`` would scope, with nothing written."""
        scope.validate()
        await self._require_owner(scope, owner, is_admin)
        found = await self._collect_units(scope, mode="count" if not scope.packs else "list")
        summary = await self._with_location_names(self.scope_summary(found.located, found.count))
        return {"preview": True, **summary, "unknown_units": found.unknown[:1000]}

    async def create(
        self,
        owner: str,
        is_admin: bool,
        scope: RecallScope,
        recall_class: str,
        reason: str,
        depth: str,
        mock: bool,
        strategy: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        started = self.clock()
        if recall_class not in CLASSES:
            raise InvalidInput(f"Failed to read class {recall_class!r}: expected I, II or III.", code="recall.class", field="class")
        if depth not in DEPTHS:
            raise InvalidInput(f"Failed to read depth {depth!r}: expected wholesale, retail or consumer.", code="recall.depth", field="depth")
        if not reason.strip() or len(reason) > 1000:
            raise InvalidInput("Failed to read reason: expected 1 to 1000 characters.", code="recall.reason", field="reason")
        schedule = CLASS_I_REMINDER_DAYS if recall_class == "I" else DEFAULT_REMINDER_DAYS
        plan = RecallStrategy(depth=depth, reminder_days=schedule).changed(strategy or {})
        depth = plan.depth
        scope.validate()
        await self._require_owner(scope, owner, is_admin)
        recall_id = f"rc_{dt.datetime.fromtimestamp(started, dt.UTC):%Y%m%d}_{secrets.token_hex(5)}"
        meta = {
            "id": recall_id,
            "owner": owner,
            "class": recall_class,
            "reason": reason,
            "depth": depth,
            "mock": "1" if mock else "",
            "status": "open",
            "published_at": f"{started:.3f}",
            "scopes": orjson.dumps([scope.as_dict()]).decode(),
            "strategy": orjson.dumps(plan.as_dict()).decode(),
        }
        await self.redis.hset(recall_key(recall_id), mapping=hash_fields(meta))
        await self.redis.zadd(f"recalls:owner:{owner}", {recall_id: started})
        await self.redis.zadd("recalls:all", {recall_id: started})
        found = await self._mark_and_collect(recall_id, scope, mock, rule_index=0)
        meta["scoped_at"] = f"{self.clock():.3f}"
        await self.redis.hset(recall_key(recall_id), "scoped_at", meta["scoped_at"])
        await self._add_units(recall_id, found)
        await self.audit(
            recall_id,
            {
                "at": started,
                "action": "recall.drill" if mock else "recall.published",
                "recall": recall_id,
                "partner": owner,
                "class": recall_class,
                "reason": reason,
                "scope": scope.as_dict(),
                "strategy": plan.as_dict(),
                "units": found.count,
            },
        )
        await self._notify(recall_id, meta, found.located, "recall.drill" if mock else "recall.published", mock)
        summary = await self._with_location_names(self.scope_summary(found.located, found.count))
        return {"id": recall_id, "mock": mock, "status": "open", **summary, "unknown_units": found.unknown[:1000]}

    async def _mark_and_collect(
        self, recall_id: str, scope: RecallScope, mock: bool, rule_index: int, skip: frozenset[str] = frozenset()
    ) -> Collected:
        """Collects the units and, unless a drill, makes them recalled before answering: a lot
        recall is one write per lot; a line or window scope one rule per GTIN, then its member
        lists, written as each group of buckets is read; listed units are marked by a pipeline."""
        if mock:
            return await self._collect_units(scope, skip=skip)
        if scope.lot_only:
            lot_recalled = {(g, lot) for g in scope.gtins for lot in scope.lots}
            await self.packs.recall_lots(sorted(lot_recalled))
            found = await self._collect_units(scope, skip=skip)
        else:
            lot_recalled = set()
            if scope.has_filters:
                # the rule first: a pack matching it is recalled once its bucket's members name it
                for gtin in scope.gtins:
                    await self.packs.add_recall_rule(gtin, recall_id, rule_index, scope.pack_filter())
            found = await self._collect_units(scope, mode="mark", recall_id=recall_id, skip=skip)
        await self.packs.recall_units(
            [(u.gtin, u.serial) for u in found.listed if (u.gtin, u.lot) not in lot_recalled], recall_id
        )
        return found

    async def _add_units(self, recall_id: str, found: Collected) -> None:
        """Stores the members and the rows of located units, in bounded writes."""
        append = self.scripts.append_members
        args: builtins.list[str] = []
        size = 0
        for (gtin, group), serials in found.members.items():
            joined = "\n".join(serials)
            args += [f"{gtin}:{group}", joined]
            size += len(joined)
            if size >= MEMBER_WRITE_BYTES or len(args) >= 2 * MEMBER_WRITE_FIELDS:
                await append(keys=[members_key(recall_id)], args=args)
                args, size = [], 0
        if args:
            await append(keys=[members_key(recall_id)], args=args)
        # one write per row bucket (and pipeline), not per unit
        rows: dict[str, dict[str, bytes]] = {}
        held: dict[str, list[str]] = {}
        for unit in found.located:
            rows.setdefault(unit_bucket_key(recall_id, unit.key), {})[unit.key] = unit.row()
            for holding in unit.holders:
                held.setdefault(holding.partner, []).append(unit.key)
        pipe = self.redis.pipeline(transaction=False)
        queued = 0
        for key, mapping in rows.items():
            pipe.hset(key, mapping=hash_fields(mapping))
            queued += len(mapping)
            if queued >= ROW_WRITE_UNITS:
                await pipe.execute()
                pipe, queued = self.redis.pipeline(transaction=False), 0
        if queued:
            await pipe.execute()
        pipe = self.redis.pipeline(transaction=False)
        for holder, keys in held.items():
            for start in range(0, len(keys), ROW_WRITE_UNITS):
                pipe.sadd(partner_units_key(recall_id, holder), *keys[start : start + ROW_WRITE_UNITS])
            pipe.sadd(f"rctasks:{holder}", recall_id)
        if held:
            pipe.sadd(partners_key(recall_id), *held)
            since = f"{self.clock():.3f}"
            for holder in held:  # when its console task began (the notice without a webhook)
                pipe.hsetnx(task_since_key(recall_id), holder, since)
        pipe.hincrby(recall_key(recall_id), "units", found.count)
        await pipe.execute()

    async def _notify(self, recall_id: str, meta: dict[str, str], units: builtins.list[Unit], event: str, drill: bool) -> None:
        """Each holder of units in scope is told of its own units, and nobody else is told but
        the recall's manufacturer, which gets the counts."""
        holders = {h.partner for u in units for h in u.holders}
        await self._tell_owner(recall_id, meta, event, {"summary": {"units": len(units), "holders": len(holders)}})
        recall = {k: meta[k] for k in ("id", "class", "reason", "depth")}
        by_holder: dict[str, list[tuple[Unit, Holder]]] = {}
        for unit in units:
            for holding in unit.holders:
                by_holder.setdefault(holding.partner, []).append((unit, holding))
        for partner_id, held in sorted(by_holder.items()):
            payload = {
                "recall": recall,
                "notice": recall_notice(meta, [u for u, _ in held]),
                "units": [{"gtin": u.gtin, "serial": u.serial, "lot": u.lot, "expiry": u.expiry, "gln": h.gln} for u, h in held],
                "acknowledge": f"/v1/recalls/{recall_id}/acknowledgements",
            }
            await self.enqueue(recall_id, partner_id, event, payload, drill=drill)

    async def extend(self, recall_id: str, owner: str, is_admin: bool, scope: RecallScope) -> dict[str, Any]:
        meta = await self._meta(recall_id, owner, is_admin, manufacturer_only=True)
        if meta["status"] != "open":
            raise Conflict(f"Recall {recall_id} is closed.", code="recall.closed")
        scope.validate()
        await self._require_owner(scope, meta["owner"], is_admin)
        existing = frozenset(f"{g}|{s}" for g, s in await self._members(recall_id))
        scopes = [*orjson.loads(meta["scopes"]), scope.as_dict()]
        found = await self._mark_and_collect(recall_id, scope, bool(meta["mock"]), len(scopes) - 1, skip=existing)
        await self._add_units(recall_id, found)
        await self.redis.hset(recall_key(recall_id), "scopes", orjson.dumps(scopes).decode())
        await self.audit(recall_id, {"at": self.clock(), "action": "recall.extended", "recall": recall_id, "partner": owner, "scope": scope.as_dict(), "units": found.count})
        await self._notify(recall_id, meta, found.located, "recall.drill" if meta["mock"] else "recall.updated", bool(meta["mock"]))
        return {**await self.get(recall_id, owner, is_admin), "added_units": found.count, "unknown_units": found.unknown[:1000]}

    async def set_strategy(self, recall_id: str, viewer: str, is_admin: bool, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Changes the strategy of a recall (its manufacturer or admin only), open or closed (a
        CAPA reference often comes after closing); the change is an entry in the recall's audit
        chain with the strategy before and after."""
        meta = await self._meta(recall_id, viewer, is_admin, manufacturer_only=True)
        before = strategy_of(meta)
        after = before.changed(changes)
        if after != before:
            await self.redis.hset(recall_key(recall_id), mapping={"strategy": orjson.dumps(after.as_dict()).decode(), "depth": after.depth})
            await self.audit(
                recall_id,
                {"at": self.clock(), "action": "recall.strategy_changed", "recall": recall_id, "partner": viewer, "before": before.as_dict(), "after": after.as_dict()},
            )
        return await self.get(recall_id, viewer, is_admin)

    async def close(self, recall_id: str, owner: str, is_admin: bool, reason: str) -> dict[str, Any]:
        meta = await self._meta(recall_id, owner, is_admin, manufacturer_only=True)
        if meta["status"] != "open":
            raise Conflict(f"Recall {recall_id} is already closed.", code="recall.closed")
        now = self.clock()
        await self.redis.hset(recall_key(recall_id), mapping={"status": "closed", "closed_at": f"{now:.3f}", "close_reason": reason})
        await self.audit(recall_id, {"at": now, "action": "recall.closed", "recall": recall_id, "partner": owner, "reason": reason})
        meta = await self._meta(recall_id, owner, is_admin, manufacturer_only=True)
        await self._notify_closed(recall_id, meta)
        return await self.get(recall_id, owner, is_admin)

    async def _notify_closed(self, recall_id: str, meta: dict[str, str]) -> None:
        await self._tell_owner(recall_id, meta, "recall.closed", {"summary": {"close_reason": meta.get("close_reason", "")}})
        for partner_id in sorted(reply_bytes(m).decode() for m in await self.redis.smembers(partners_key(recall_id))):
            await self.enqueue(recall_id, partner_id, "recall.closed", {"recall": {k: meta[k] for k in ("id", "class", "reason", "depth")}, "units": []}, drill=bool(meta["mock"]))

    async def list(self, viewer: str, is_admin: bool, status: str = "", limit: int = 100) -> builtins.list[dict[str, Any]]:
        if status not in ("", "open", "closed"):
            raise InvalidInput(f"Failed to read status {status!r}: expected open or closed.", field="status")
        index = "recalls:all" if is_admin else f"recalls:owner:{viewer}"
        out: builtins.list[dict[str, Any]] = []
        for member in cast("builtins.list[bytes]", await self.redis.zrevrange(index, 0, -1)):
            meta = await self._meta(member.decode(), viewer, is_admin, manufacturer_only=True)
            if status and meta["status"] != status:
                continue
            out.append(
                {
                    "id": meta["id"],
                    "class": meta["class"],
                    "reason": meta["reason"],
                    "depth": meta["depth"],
                    "mock": bool(meta["mock"]),
                    "status": meta["status"],
                    "published_at": iso(float(meta["published_at"])),
                    "units": int(meta.get("units", 0)),
                }
            )
            if len(out) >= min(limit or 100, 1000):
                break
        return out
