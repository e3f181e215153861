"""Recalls at unit precision: scope, last known location, notification, acknowledgement,
effectiveness and drills.

Keys (``{rc:<id>}`` hash-tags a recall's keys into one cluster slot):

``recall:{rc:<id>}``              hash  the recall: owner, class, reason, depth, mock, status, times, scope
``rcu:{rc:<id>}:<bucket>``        hash  "<gtin>|<serial>" -> unit row (JSON): lot, expiry, holder, GLN, seen, ack
``rcpu:{rc:<id>}:<partner>``      set   units a partner held when the recall was published
``rcpartners:{rc:<id>}``          set   partners holding units
``recalls:owner:<partner>``       zset  recall ids of a manufacturer by time
``rctasks:<partner>``             set   recall ids in which a partner holds units
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis

from verinet.errors import Conflict, Forbidden, InvalidInput, NotFound
from verinet.packs import PackState
from verinet.recall_status.packs import PackRepository, PackValue

CLASSES = ("I", "II", "III")
DEPTHS = ("wholesale", "retail", "consumer")
ACTIONS = ("quarantined", "returned", "destroyed")
UNIT_BUCKETS = 256
MAX_EXPLICIT_UNITS = 1_000_000

Enqueue = Callable[..., Awaitable[str | None]]
AuditAppend = Callable[[str, dict[str, Any]], Awaitable[None]]
DeliveredAt = Callable[[str], Awaitable[dict[str, float]]]


def recall_key(recall_id: str) -> str:
    return f"recall:{{rc:{recall_id}}}"


def unit_bucket_key(recall_id: str, unit: str) -> str:
    return f"rcu:{{rc:{recall_id}}}:{zlib.crc32(unit.encode()) % UNIT_BUCKETS:02x}"


def partner_units_key(recall_id: str, partner_id: str) -> str:
    return f"rcpu:{{rc:{recall_id}}}:{partner_id}"


def partners_key(recall_id: str) -> str:
    return f"rcpartners:{{rc:{recall_id}}}"


def parse_time(value: str, name: str) -> float | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"Failed to parse {name} {value!r}: expected an RFC 3339 time such as 2026-11-25T08:00:00Z.",
            code="time.format",
            field=name,
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"Failed to parse {name} {value!r}: expected a time zone offset.", code="time.format", field=name)
    return parsed.timestamp()


@dataclass(frozen=True)
class RecallScope:
    """Units in scope: the explicit ones, plus every pack of the GTINs matching all filters."""

    gtins: tuple[str, ...] = ()
    lots: tuple[str, ...] = ()
    packs: tuple[tuple[str, str], ...] = ()
    line: str = ""
    window_start: float | None = None
    window_end: float | None = None

    @property
    def has_filters(self) -> bool:
        return bool(self.lots or self.line or self.window_start is not None or self.window_end is not None)

    @property
    def lot_only(self) -> bool:
        return bool(self.lots) and not self.line and self.window_start is None and self.window_end is None

    def validate(self) -> None:
        if not self.packs and not (self.gtins and self.has_filters):
            raise InvalidInput(
                "A recall needs a scope: GTINs with lots, a line or a time window, or a list of units.",
                code="recall.scope",
                field="scope",
            )
        if self.has_filters and not self.gtins:
            raise InvalidInput("Lots, line and window filters need the GTINs they apply to.", code="recall.scope", field="gtins")
        if self.window_start is not None and self.window_end is not None and self.window_end < self.window_start:
            raise InvalidInput("The window ends before it starts.", code="recall.window", field="window_end")
        if len(self.packs) > MAX_EXPLICIT_UNITS:
            raise InvalidInput(f"At most {MAX_EXPLICIT_UNITS} explicit units a request.", code="recall.too_many", field="packs")

    def matches(self, value: PackValue) -> bool:
        if self.lots and value.lot not in self.lots:
            return False
        if self.line and value.line != self.line:
            return False
        at = value.commissioned_at
        if self.window_start is not None and (not at or at < self.window_start):
            return False
        return not (self.window_end is not None and (not at or at >= self.window_end))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"gtins": list(self.gtins)}
        if self.lots:
            out["lots"] = list(self.lots)
        if self.packs:
            out["units_listed"] = len(self.packs)
        if self.line:
            out["line"] = self.line
        for name in ("window_start", "window_end"):
            value = getattr(self, name)
            if value is not None:
                out[name] = dt.datetime.fromtimestamp(value, dt.UTC).isoformat()
        return out


@dataclass
class Unit:
    gtin: str
    serial: str
    lot: str
    expiry: str
    holder: str = ""  # partner id of the last known location; "" = not yet shipped
    gln: str = ""
    seen: float = 0.0
    event: str = ""
    ack: float = 0.0
    action: str = ""
    ack_by: str = ""

    @property
    def key(self) -> str:
        return f"{self.gtin}|{self.serial}"

    def row(self) -> bytes:
        return orjson.dumps(
            {k: v for k, v in self.__dict__.items() if k not in ("gtin", "serial") and v not in ("", 0.0)}
        )

    @classmethod
    def from_row(cls, key: str, raw: bytes) -> Unit:
        gtin, serial = key.split("|", 1)
        return cls(gtin=gtin, serial=serial, **orjson.loads(raw))


def iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat() if at else ""


@dataclass
class RecallService:
    redis: aioredis.Redis
    packs: PackRepository
    enqueue: Enqueue
    subscribers: Callable[[str], Awaitable[list[str]]]
    audit: AuditAppend
    delivered_at: DeliveredAt
    clock: Callable[[], float] = field(default=time.time)

    # -- publishing -------------------------------------------------------------------------

    async def _require_owner(self, scope: RecallScope, partner_id: str, is_admin: bool) -> None:
        for gtin in sorted(set(scope.gtins) | {g for g, _ in scope.packs}):
            await self.packs.require_owned_product(gtin, partner_id, is_admin=is_admin)

    async def _collect_units(self, scope: RecallScope) -> tuple[list[Unit], list[str]]:
        units: dict[str, Unit] = {}
        unknown: list[str] = []
        if scope.packs:
            stored = await self.packs.statuses(list(scope.packs))
            for (gtin, serial), record in zip(scope.packs, stored, strict=True):
                if record is None:
                    unknown.append(f"{gtin}|{serial}")
                    continue
                unit = Unit(gtin, serial, record.record.lot, record.record.expiry)
                units[unit.key] = unit
        if scope.has_filters:
            for gtin in scope.gtins:
                async for serial, value in self.packs.scan_gtin(gtin):
                    if scope.matches(value):
                        unit = Unit(gtin, serial, value.lot, value.expiry)
                        units.setdefault(unit.key, unit)
        found = list(units.values())
        locations = await self.packs.locations([(u.gtin, u.serial) for u in found])
        for unit, location in zip(found, locations, strict=True):
            if location is not None:
                unit.holder, unit.gln, unit.seen, unit.event = (
                    location.partner_id,
                    location.gln,
                    location.at,
                    location.event,
                )
        return found, unknown

    async def preview(self, owner: str, is_admin: bool, scope: RecallScope) -> dict[str, Any]:
        """What ``create`` would scope, with nothing written."""
        scope.validate()
        await self._require_owner(scope, owner, is_admin)
        units, unknown = await self._collect_units(scope)
        return {"preview": True, **self.scope_summary(units), "unknown_units": unknown[:1000]}

    async def create(
        self,
        owner: str,
        is_admin: bool,
        scope: RecallScope,
        recall_class: str,
        reason: str,
        depth: str,
        mock: bool,
    ) -> dict[str, Any]:
        started = self.clock()
        if recall_class not in CLASSES:
            raise InvalidInput(f"Failed to read class {recall_class!r}: expected I, II or III.", code="recall.class", field="class")
        if depth not in DEPTHS:
            raise InvalidInput(f"Failed to read depth {depth!r}: expected wholesale, retail or consumer.", code="recall.depth", field="depth")
        if not reason.strip() or len(reason) > 1000:
            raise InvalidInput("Failed to read reason: expected 1 to 1000 characters.", code="recall.reason", field="reason")
        scope.validate()
        await self._require_owner(scope, owner, is_admin)
        recall_id = f"rc_{dt.datetime.fromtimestamp(started, dt.UTC):%Y%m%d}_{secrets.token_hex(5)}"
        units, unknown = await self._collect_units(scope)
        scoped = self.clock()
        meta = {
            "id": recall_id,
            "owner": owner,
            "class": recall_class,
            "reason": reason,
            "depth": depth,
            "mock": "1" if mock else "",
            "status": "open",
            "published_at": f"{started:.3f}",
            "scoped_at": f"{scoped:.3f}",
            "scopes": orjson.dumps([scope.as_dict()]).decode(),
        }
        await self.redis.hset(recall_key(recall_id), mapping=meta)
        await self.redis.zadd(f"recalls:owner:{owner}", {recall_id: started})
        await self.redis.zadd("recalls:all", {recall_id: started})
        await self._add_units(recall_id, scope, units, mock)
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
                "units": len(units),
            },
        )
        await self._notify(recall_id, meta, units, "recall.drill" if mock else "recall.published", mock)
        summary = self.scope_summary(units)
        return {"id": recall_id, "mock": mock, "status": "open", **summary, "unknown_units": unknown[:1000]}

    async def _add_units(self, recall_id: str, scope: RecallScope, units: list[Unit], mock: bool) -> None:
        if not mock:
            if scope.lot_only and not scope.packs:
                await self.packs.recall_lots([(g, lot) for g in scope.gtins for lot in scope.lots])
            else:
                lot_recalled = {(g, lot) for g in scope.gtins for lot in scope.lots} if scope.lot_only else set()
                await self.packs.recall_lots(sorted(lot_recalled))
                await self.packs.recall_units(
                    [(u.gtin, u.serial) for u in units if (u.gtin, u.lot) not in lot_recalled], recall_id
                )
        for start in range(0, len(units), 10_000):
            pipe = self.redis.pipeline(transaction=False)
            for unit in units[start : start + 10_000]:
                pipe.hsetnx(unit_bucket_key(recall_id, unit.key), unit.key, unit.row())
                if unit.holder:
                    pipe.sadd(partner_units_key(recall_id, unit.holder), unit.key)
                    pipe.sadd(partners_key(recall_id), unit.holder)
                    pipe.sadd(f"rctasks:{unit.holder}", recall_id)
            await pipe.execute()
        await self.redis.hincrby(recall_key(recall_id), "units", len(units))

    async def _notify(self, recall_id: str, meta: dict[str, str], units: list[Unit], event: str, drill: bool) -> None:
        recall = {k: meta[k] for k in ("id", "class", "reason", "depth")}
        by_holder: dict[str, list[Unit]] = {}
        for unit in units:
            if unit.holder:
                by_holder.setdefault(unit.holder, []).append(unit)
        for partner_id, held in sorted(by_holder.items()):
            payload = {
                "recall": recall,
                "units": [{"gtin": u.gtin, "serial": u.serial, "lot": u.lot, "expiry": u.expiry, "gln": u.gln} for u in held],
                "acknowledge": f"/v1/recalls/{recall_id}/acknowledgements",
            }
            await self.enqueue(recall_id, partner_id, event, payload, drill=drill)
        for partner_id in await self.subscribers(event):
            if partner_id not in by_holder and partner_id != meta["owner"]:
                await self.enqueue(recall_id, partner_id, event, {"recall": recall, "units": []}, drill=drill)

    @staticmethod
    def scope_summary(units: Sequence[Unit]) -> dict[str, Any]:
        by_location: Counter[tuple[str, str]] = Counter((u.gln, u.holder) for u in units if u.holder)
        return {
            "units": len(units),
            "units_by_location": [
                {"gln": gln, "partner": partner, "units": n}
                for (gln, partner), n in sorted(by_location.items(), key=lambda item: (-item[1], item[0]))
            ],
            "units_not_yet_shipped": sum(1 for u in units if not u.holder),
        }

    async def extend(self, recall_id: str, owner: str, is_admin: bool, scope: RecallScope) -> dict[str, Any]:
        meta = await self._meta(recall_id, owner, is_admin, manufacturer_only=True)
        if meta["status"] != "open":
            raise Conflict(f"Recall {recall_id} is closed.", code="recall.closed")
        scope.validate()
        await self._require_owner(scope, meta["owner"], is_admin)
        units, unknown = await self._collect_units(scope)
        existing = await self._existing_keys(recall_id, [u.key for u in units])
        new_units = [u for u in units if u.key not in existing]
        await self._add_units(recall_id, scope, new_units, bool(meta["mock"]))
        scopes = [*orjson.loads(meta["scopes"]), scope.as_dict()]
        await self.redis.hset(recall_key(recall_id), "scopes", orjson.dumps(scopes).decode())
        await self.audit(recall_id, {"at": self.clock(), "action": "recall.extended", "recall": recall_id, "partner": owner, "scope": scope.as_dict(), "units": len(new_units)})
        await self._notify(recall_id, meta, new_units, "recall.drill" if meta["mock"] else "recall.updated", bool(meta["mock"]))
        return {**await self.get(recall_id, owner, is_admin), "added_units": len(new_units), "unknown_units": unknown[:1000]}

    async def _existing_keys(self, recall_id: str, keys: Sequence[str]) -> set[str]:
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.hexists(unit_bucket_key(recall_id, key), key)
        return {key for key, exists in zip(keys, await pipe.execute(), strict=True) if exists}

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
        for partner_id in sorted(m.decode() for m in await self.redis.smembers(partners_key(recall_id))):
            await self.enqueue(recall_id, partner_id, "recall.closed", {"recall": {k: meta[k] for k in ("id", "class", "reason", "depth")}, "units": []}, drill=bool(meta["mock"]))

    # -- reading ----------------------------------------------------------------------------

    async def list(self, viewer: str, is_admin: bool, status: str = "", limit: int = 100) -> list[dict[str, Any]]:
        if status not in ("", "open", "closed"):
            raise InvalidInput(f"Failed to read status {status!r}: expected open or closed.", field="status")
        index = "recalls:all" if is_admin else f"recalls:owner:{viewer}"
        out: list[dict[str, Any]] = []
        for member in await self.redis.zrevrange(index, 0, -1):
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

    async def _meta(self, recall_id: str, viewer: str, is_admin: bool, *, manufacturer_only: bool = False) -> dict[str, str]:
        raw = await self.redis.hgetall(recall_key(recall_id))
        if not raw:
            raise NotFound(f"No recall with id {recall_id!r}.", code="recall.not_found")
        meta = {k.decode(): v.decode() for k, v in raw.items()}
        if is_admin or meta["owner"] == viewer:
            return meta
        if not manufacturer_only and await self.redis.sismember(partners_key(recall_id), viewer):
            return meta
        raise NotFound(f"No recall with id {recall_id!r}.", code="recall.not_found")

    async def units(self, recall_id: str) -> list[Unit]:
        pipe = self.redis.pipeline(transaction=False)
        for bucket in range(UNIT_BUCKETS):
            pipe.hgetall(f"rcu:{{rc:{recall_id}}}:{bucket:02x}")
        units: list[Unit] = []
        for rows in await pipe.execute():
            units.extend(Unit.from_row(k.decode(), v) for k, v in rows.items())
        units.sort(key=lambda u: (u.gtin, u.serial))
        return units

    async def get(self, recall_id: str, viewer: str, is_admin: bool) -> dict[str, Any]:
        meta = await self._meta(recall_id, viewer, is_admin)
        units = await self.units(recall_id)
        if not is_admin and meta["owner"] != viewer:
            units = [u for u in units if u.holder == viewer]
        delivered = await self.delivered_at(recall_id)
        published = float(meta["published_at"])
        notified = [delivered[u.holder] for u in units if u.holder in delivered]
        acked = [u.ack for u in units if u.ack]
        total = len(units)
        now = self.clock()
        hours = max(1, math.ceil((now - published) / 3600))
        points = sorted({0, *range(1, min(hours, 72) + 1), hours})

        def share(times: list[float], until: float) -> float:
            return round(sum(1 for t in times if t <= until) / total, 4) if total else 0.0

        result: dict[str, Any] = {
            "id": recall_id,
            "owner": meta["owner"],
            "class": meta["class"],
            "reason": meta["reason"],
            "depth": meta["depth"],
            "mock": bool(meta["mock"]),
            "status": meta["status"],
            "published_at": iso(published),
            "scopes": orjson.loads(meta["scopes"]),
            **self.scope_summary(units),
            "located": sum(1 for u in units if u.holder),
            "notified": len(notified),
            "acknowledged": len(acked),
            "effectiveness": [
                {"hours": h, "notified": share(notified, published + h * 3600), "acknowledged": share(acked, published + h * 3600)}
                for h in points
            ],
        }
        if meta.get("closed_at"):
            result.update(closed_at=iso(float(meta["closed_at"])), close_reason=meta.get("close_reason", ""))
        if meta["mock"]:
            result["drill"] = self.drill_timings(meta, notified, acked, total)
        return result

    @staticmethod
    def drill_timings(meta: dict[str, str], notified: list[float], acked: list[float], total: int) -> dict[str, float | None]:
        published = float(meta["published_at"])

        def after(at: float | None) -> float | None:
            return round(at - published, 3) if at else None

        ordered = sorted(acked)
        ninety = ordered[math.ceil(0.9 * total) - 1] if total and len(ordered) >= math.ceil(0.9 * total) else None
        return {
            "seconds_to_scope": after(float(meta["scoped_at"])),
            "seconds_to_first_notification": after(min(notified)) if notified else None,
            "seconds_to_first_acknowledgement": after(ordered[0]) if ordered else None,
            "seconds_to_90_percent_acknowledged": after(ninety),
        }

    async def report(self, recall_id: str, viewer: str, is_admin: bool) -> dict[str, Any]:
        recall = await self.get(recall_id, viewer, is_admin)
        units = await self.units(recall_id)
        if not is_admin and recall["owner"] != viewer:
            units = [u for u in units if u.holder == viewer]
        delivered = await self.delivered_at(recall_id)
        states = await self.packs.statuses([(u.gtin, u.serial) for u in units])
        rows = []
        for unit, stored in zip(units, states, strict=True):
            state = ""
            if stored is not None:
                record = stored.record
                if record.product_state is PackState.WITHDRAWN:
                    state = PackState.WITHDRAWN.value
                elif record.lot_state is PackState.RECALLED:
                    state = PackState.RECALLED.value
                else:
                    state = record.pack_state.value
            rows.append(
                {
                    "gtin": unit.gtin,
                    "serial": unit.serial,
                    "lot": unit.lot,
                    "state": state,
                    "last_location": unit.gln,
                    "last_partner": unit.holder,
                    "last_seen": iso(unit.seen),
                    "notified_at": iso(delivered.get(unit.holder, 0.0)),
                    "acknowledged_at": iso(unit.ack),
                    "action": unit.action,
                }
            )
        return {"recall": recall, "rows": rows}

    # -- partners -----------------------------------------------------------------------------

    async def acknowledge(self, recall_id: str, partner_id: str, units: Sequence[tuple[str, str]], action: str) -> list[tuple[bool, str, str]]:
        if action not in ACTIONS:
            raise InvalidInput(f"Failed to read action {action!r}: expected quarantined, returned or destroyed.", code="recall.action", field="action")
        await self._meta(recall_id, partner_id, False)  # not found unless the partner is involved
        now = self.clock()
        keys = [f"{g}|{s}" for g, s in units]
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.hget(unit_bucket_key(recall_id, key), key)
        rows = await pipe.execute()
        results: list[tuple[bool, str, str]] = []
        pipe = self.redis.pipeline(transaction=False)
        acknowledged = 0
        for key, raw in zip(keys, rows, strict=True):
            if raw is None:
                results.append((False, "recall.not_in_scope", f"Unit {key} is not in recall {recall_id}."))
                continue
            unit = Unit.from_row(key, raw)
            if unit.holder != partner_id:
                results.append((False, "recall.not_holder", f"Unit {key} was not last seen with you; only its holder acknowledges it."))
                continue
            if not unit.ack:
                unit.ack = now
            unit.action, unit.ack_by = action, partner_id
            pipe.hset(unit_bucket_key(recall_id, key), key, unit.row())
            acknowledged += 1
            results.append((True, "OK", f"Unit {key} recorded as {action}."))
        if acknowledged:
            await pipe.execute()
            await self.audit(recall_id, {"at": now, "action": "recall.acknowledged", "recall": recall_id, "partner": partner_id, "units_action": action, "units": acknowledged})
        return results

    async def tasks(self, partner_id: str) -> list[dict[str, Any]]:
        out = []
        for recall_id in sorted(m.decode() for m in await self.redis.smembers(f"rctasks:{partner_id}")):
            meta = await self._meta(recall_id, partner_id, False)
            keys = sorted(m.decode() for m in await self.redis.smembers(partner_units_key(recall_id, partner_id)))
            pipe = self.redis.pipeline(transaction=False)
            for key in keys:
                pipe.hget(unit_bucket_key(recall_id, key), key)
            units = [Unit.from_row(k, raw) for k, raw in zip(keys, await pipe.execute(), strict=True) if raw]
            open_units = [u for u in units if not u.ack]
            if meta["status"] != "open" or not open_units:
                continue
            out.append(
                {
                    "recall": {k: meta[k] for k in ("id", "class", "reason", "depth")} | {"mock": bool(meta["mock"]), "published_at": iso(float(meta["published_at"]))},
                    "units_open": [{"gtin": u.gtin, "serial": u.serial, "lot": u.lot, "gln": u.gln} for u in open_units],
                    "units_acknowledged": len(units) - len(open_units),
                }
            )
        return out


def require_manufacturer(roles: Sequence[str]) -> None:
    """Recall publishing and listing are for manufacturers (admin may list and read)."""
    if "manufacturer" not in roles and "admin" not in roles:
        raise Forbidden("Only manufacturers publish recalls.", code="auth.role")
