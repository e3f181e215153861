"""Recalls at unit precision: scope, last known location, notification, acknowledgement,
effectiveness and drills.

Keys (``{rc:<id>}`` hash-tags a recall's keys into one cluster slot):

``recall:{rc:<id>}``              hash  the recall: owner, class, reason, depth, mock, status, times, scope
``rcm:{rc:<id>}``                 hash  "<gtin>:<scope group>" -> serials of the recall's units (newline-joined)
``rcu:{rc:<id>}:<bucket>``        hash  "<gtin>|<serial>" -> unit row (JSON) of a located unit: lot, expiry, and its
                                        holders (partner, GLN, seen, event) when published
``rca:{rc:<id>}:<bucket>``        hash  "<gtin>|<serial>|<partner>" -> "<first ack time>|<action>" of a holder
``rcpu:{rc:<id>}:<partner>``      set   units a partner held when the recall was published
``rcpartners:{rc:<id>}``          set   partners holding units
``recalls:owner:<partner>``       zset  recall ids of a manufacturer by time
``rctasks:<partner>``             set   recall ids in which a partner holds units

The scope is fixed when the recall is published: the units are the packs that match it then
(each group of pack buckets is read, and for a published recall its members recorded, in one
atomic step); a pack commissioned later is not in the recall even if it matches. A recall by
line or window recalls its packs with one rule per GTIN plus those member lists (see
``recall_status.packs``), a lot recall with one write per lot. Members are stored as
compact lists (at most 128 per GTIN here), and per-unit rows only for units with a last known
location (what a holder is notified of and acknowledges); the report builds the rows of the
other units when it is read.

Holders follow :func:`verinet.recall_status.holders.holders_of` (custodian first, then
partners with a possession-attested sighting since). Each holder gets a task for its units,
acknowledges only those (anything else is answered alike, whether in the recall or not), at
most ``MAX_ACK_UNITS`` a request; a unit counts once however often and by how many holders it
is acknowledged. A partner other than the recall's manufacturer sees only its own holdings.

Past 500 lines, four ideas in ``RecallService``: publishing and scope (``create``, ``extend``),
the report and effectiveness (``status_report``, ``report``, ``record_check``), acknowledgements
and tasks (``acknowledge``, ``tasks``), and reminders (``follow_up``). It would be cut there, as
``status_report`` and ``strategy`` already are.
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import math
import secrets
import time
import zlib
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from verinet.callers import Role
from verinet.errors import Conflict, Forbidden, InvalidInput, NotFound
from verinet.free_text import TEXT_LIMITS, validate_text
from verinet.packs import PackState
from verinet.recall_status import locations
from verinet.recall_status.holders import holders_of
from verinet.recall_status.packs import (
    PackRepository,
    ScopeFilter,
    StoredPack,
    Whereabouts,
    scope_group_of,
)
from verinet.recall_status.status_report import (
    EffectivenessCheck,
    Facts,
    Holding,
    Location,
    Response,
    build,
)
from verinet.recall_status.strategy import (
    CLASS_I_REMINDER_DAYS,
    DEFAULT_REMINDER_DAYS,
    RecallStrategy,
)
from verinet.store import reply_bytes, reply_fields, run_script_batch
from verinet.timestamps import utc
from verinet.timestamps import utc_or_empty as iso

CLASSES = ("I", "II", "III")
DEPTHS = ("wholesale", "retail", "consumer")
ACTIONS = ("quarantined", "returned", "destroyed")
MAX_PARTNER_ID = 100
CHECK_METHODS = ("phone", "email", "visit", "letter", "portal")
CHECK_RESULTS = ("confirmed", "received_not_acted", "not_received", "no_answer")
UNIT_BUCKETS = 256
MAX_EXPLICIT_UNITS = 1_000_000
#: Units one acknowledgement request may name (the documented limit).
MAX_ACK_UNITS = 10_000

Enqueue = Callable[..., Awaitable[str | None]]
PartnerNames = Callable[[Sequence[str]], Awaitable[dict[str, str]]]
AuditAppend = Callable[[str, dict[str, Any]], Awaitable[None]]
DeliveredAt = Callable[[str], Awaitable[dict[str, float]]]


def recall_key(recall_id: str) -> str:
    return f"recall:{{rc:{recall_id}}}"


def unit_bucket_key(recall_id: str, unit: str) -> str:
    return f"rcu:{{rc:{recall_id}}}:{zlib.crc32(unit.encode()) % UNIT_BUCKETS:02x}"


def members_key(recall_id: str) -> str:
    return f"rcm:{{rc:{recall_id}}}"


def ack_bucket_key(recall_id: str, unit: str) -> str:
    return f"rca:{{rc:{recall_id}}}:{zlib.crc32(unit.encode()) % UNIT_BUCKETS:02x}"


# Records a holder's acknowledgement: its first time is kept, its action is the latest.
# KEYS: the ack hash. ARGV: per unit its field, then time and action (shared).
ACKNOWLEDGE_SCRIPT = r"""
local at, action = ARGV[#ARGV - 1], ARGV[#ARGV]
for i = 1, #ARGV - 2 do
  local before = redis.call('HGET', KEYS[1], ARGV[i])
  local first = before and string.match(before, '^[^|]*') or at
  redis.call('HSET', KEYS[1], ARGV[i], first .. '|' .. action)
end
return 1
"""


# Appends serials to member lists, in one write. ARGV: field, serials, field, serials, ...
APPEND_MEMBERS_SCRIPT = r"""
local fields = {}
for i = 1, #ARGV, 2 do fields[#fields + 1] = ARGV[i] end
local current = redis.call('HMGET', KEYS[1], unpack(fields))
local updated = {}
for n = 1, #fields do
  local before = current[n]
  updated[#updated + 1] = fields[n]
  updated[#updated + 1] = (before and before ~= '') and (before .. '\n' .. ARGV[2 * n]) or ARGV[2 * n]
end
return redis.call('HSET', KEYS[1], unpack(updated))
"""
MEMBER_WRITE_BYTES = 1 << 20  # bounds one member-append call...
MEMBER_WRITE_FIELDS = 1_000  # ...and its fields (Lua's unpack takes a few thousand values)
ROW_WRITE_UNITS = 20_000  # bounds one pipeline of unit rows
REPORT_CHUNK_ROWS = 5_000  # rows a report chunk carries: one round trip for their rows, one for their states
REPORT_READ_AHEAD = 2  # chunks a report reads while the current one is sent
REPORT_MEMBER_FIELDS = 16  # member lists (about 8,000 serials each at most) one report read fetches


def hash_fields(values: Mapping[str, str] | Mapping[str, bytes]) -> dict[FieldT, EncodableT]:
    """Values as the fields of a Redis hash (for the client's types)."""
    return dict(values.items())


def partner_units_key(recall_id: str, partner_id: str) -> str:
    return f"rcpu:{{rc:{recall_id}}}:{partner_id}"


def task_since_key(recall_id: str) -> str:
    return f"rcpsince:{{rc:{recall_id}}}"


def responses_key(recall_id: str) -> str:
    return f"rcresp:{{rc:{recall_id}}}"


def checks_key(recall_id: str) -> str:
    return f"rcchecks:{{rc:{recall_id}}}"


def reminders_key(recall_id: str) -> str:
    return f"rcrem:{{rc:{recall_id}}}"


def responded_key(recall_id: str) -> str:
    return f"rcresponded:{{rc:{recall_id}}}"


# Records reminder ``ARGV[2]`` of partner ``ARGV[1]`` at ``ARGV[3]`` unless that step (or a later
# one) is recorded already: replicas polling at once remind a partner once per step.
# KEYS: the reminders hash. Answers 1 when recorded.
REMIND_SCRIPT = r"""
local before = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local sent = 0
for _ in string.gmatch(before, '[^,]+') do sent = sent + 1 end
if sent >= tonumber(ARGV[2]) then return 0 end
local entry = ARGV[3]
for _ = sent + 2, tonumber(ARGV[2]) do entry = entry .. ',' .. ARGV[3] end
redis.call('HSET', KEYS[1], ARGV[1], before ~= '' and (before .. ',' .. entry) or entry)
return 1
"""


async def no_names(partner_ids: Sequence[str]) -> dict[str, str]:
    return {}


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

    def pack_filter(self) -> ScopeFilter:
        """The filters in stored units: packs keep their commissioning time in whole minutes,
        and a pack of minute m (commissioned at m * 60 s) is in the window when
        start <= m * 60 < end."""
        return ScopeFilter(
            lots=self.lots,
            line=self.line,
            first_minute=None if self.window_start is None else math.ceil(self.window_start / 60),
            end_minute=None if self.window_end is None else math.ceil(self.window_end / 60),
        )

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
                out[name] = utc(value)
        return out


@dataclass
class Holder:
    """One holder of a unit in a recall: where and when it had it, and its acknowledgement."""

    partner: str
    gln: str = ""
    seen: float = 0.0
    event: str = ""
    ack: float = 0.0
    action: str = ""

    def as_row(self) -> dict[str, Any]:
        return {name: value for name in ("partner", "gln", "seen", "event") if (value := getattr(self, name))}


@dataclass
class Unit:
    gtin: str
    serial: str
    lot: str
    expiry: str
    holders: list[Holder] = field(default_factory=list)  # none: not yet shipped

    @property
    def key(self) -> str:
        return f"{self.gtin}|{self.serial}"

    def row(self) -> bytes:
        out: dict[str, Any] = {name: value for name in ("lot", "expiry") if (value := getattr(self, name))}
        out["holders"] = [h.as_row() for h in self.holders]
        return orjson.dumps(out)

    def locate(self, where: Whereabouts) -> bool:
        """Sets the holders from what is stored of the unit; answers whether it has any."""
        self.holders = [Holder(h.partner_id, h.gln, h.at, h.event) for h in holders_of(where)]
        return bool(self.holders)

    def holding(self, partner_id: str) -> Holder | None:
        return next((h for h in self.holders if h.partner == partner_id), None)

    def seen_by(self, partner_id: str) -> Unit:
        """The unit as ``partner_id`` may see it: its own holding only."""
        return Unit(self.gtin, self.serial, self.lot, self.expiry, [h for h in self.holders if h.partner == partner_id])

    @property
    def last_known(self) -> Holder | None:
        """The unit's last known location: its first holder (the custodian, else the newest
        attested sighting; see ``holders_of``)."""
        return self.holders[0] if self.holders else None

    @property
    def first_ack(self) -> Holder | None:
        """The holder that acknowledged the unit first (a unit counts once)."""
        acked = [h for h in self.holders if h.ack]
        return min(acked, key=lambda h: h.ack) if acked else None

    @classmethod
    def unlocated(cls, key: str) -> Unit:
        """A unit without a stored row: no holder, lot read from its pack."""
        gtin, serial = key.split("|", 1)
        return cls(gtin=gtin, serial=serial, lot="", expiry="")

    @classmethod
    def from_row(cls, key: str, raw: bytes) -> Unit:
        gtin, serial = key.split("|", 1)
        data = orjson.loads(raw)
        if "holders" in data:
            holders = [Holder(**h) for h in data["holders"]]
        else:  # a row written before units had several holders
            holders = [Holder(data["holder"], data.get("gln", ""), data.get("seen", 0.0), data.get("event", ""), data.get("ack", 0.0), data.get("action", ""))] if data.get("holder") else []
        return cls(gtin, serial, data.get("lot", ""), data.get("expiry", ""), holders)


@dataclass
class Collected:
    """The units of a scope: member serials by (GTIN, scope group) as newline-joined chunks,
    their number, the units with a last known location, and the units listed one by one."""

    members: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    count: int = 0
    located: list[Unit] = field(default_factory=list)
    listed: list[Unit] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def add(self, gtin: str, group: int, serials: str, count: int) -> None:
        self.members.setdefault((gtin, group), []).append(serials)
        self.count += count


@dataclass
class RecallService:
    redis: aioredis.Redis
    packs: PackRepository
    enqueue: Enqueue
    audit: AuditAppend
    delivered_at: DeliveredAt
    clock: Callable[[], float] = field(default=time.time)
    partner_names: PartnerNames = no_names

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
        append = self.redis.register_script(APPEND_MEMBERS_SCRIPT)
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

    async def _tell_owner(self, recall_id: str, meta: Mapping[str, str], event: str, data: dict[str, Any]) -> None:
        """A status change of the recall to its manufacturer (its QMS follows them)."""
        await self.enqueue(recall_id, meta["owner"], event, {"recall": notice_of(meta), "audience": "manufacturer", **data}, drill=bool(meta["mock"]))

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

    # -- follow-up ----------------------------------------------------------------------------

    async def follow_up(self, now: float | None = None) -> builtins.list[tuple[str, str, int]]:
        """Reminds every consignee still silent whose next reminder is due, in every open
        recall: a ``recall.reminder`` to it, one ``recall.overdue`` to the manufacturer naming
        the consignees reminded. Answers (recall, partner, step) of the reminders sent."""
        now = self.clock() if now is None else now
        sent: builtins.list[tuple[str, str, int]] = []
        for member in cast("builtins.list[bytes]", await self.redis.zrange("recalls:all", 0, -1)):
            sent += await self.remind(member.decode(), now)
        return sent

    async def remind(self, recall_id: str, now: float) -> builtins.list[tuple[str, str, int]]:
        """Reminders of one recall due at ``now`` (see ``follow_up``)."""
        raw = reply_fields(await self.redis.hgetall(recall_key(recall_id)))
        meta = {k.decode(): v.decode() for k, v in raw.items()}
        if not meta or meta.get("status") != "open":
            return []
        schedule = strategy_of(meta).reminder_days
        partners = {reply_bytes(m).decode() for m in await self.redis.smembers(partners_key(recall_id))}
        partners -= {reply_bytes(m).decode() for m in await self.redis.smembers(responded_key(recall_id))}
        if not partners or not schedule:
            return []
        since = {k.decode(): float(v) for k, v in reply_fields(await self.redis.hgetall(task_since_key(recall_id))).items()}
        delivered = await self.delivered_at(recall_id)
        published = float(meta["published_at"])
        script = self.redis.register_script(REMIND_SCRIPT)
        reminded: builtins.list[tuple[str, str, int]] = []
        for partner in sorted(partners):
            notice = min(since.get(partner, published), delivered.get(partner, math.inf))
            step = sum(1 for days in schedule if notice + days * 86400 <= now)
            if not step or not await script(keys=[reminders_key(recall_id)], args=[partner, step, f"{now:.3f}"]):
                continue
            units = await self.redis.scard(partner_units_key(recall_id, partner))
            payload = {
                "recall": notice_of(meta),
                "reminder": {"step": step, "of": len(schedule), "notified_at": iso(notice), "units": units},
                "acknowledge": f"/v1/recalls/{recall_id}/acknowledgements",
            }
            await self.enqueue(recall_id, partner, "recall.reminder", payload, drill=bool(meta["mock"]))
            reminded.append((recall_id, partner, step))
        if reminded:
            names = await self.partner_names([p for _, p, _ in reminded])
            overdue = [{"partner": p, "name": names.get(p, ""), "reminder": step} for _, p, step in reminded]
            await self._tell_owner(recall_id, meta, "recall.overdue", {"overdue": overdue})
            await self.audit(recall_id, {"at": now, "action": "recall.reminded", "recall": recall_id, "partners": overdue})
        return reminded

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

    # -- reading ----------------------------------------------------------------------------

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

    async def get(self, recall_id: str, viewer: str, is_admin: bool) -> dict[str, Any]:
        """The recall with its effectiveness: every unit and holder for its manufacturer and
        admin; for a holder, its own units and holding only, and no other partner's id."""
        meta = await self._meta(recall_id, viewer, is_admin)
        units = await self.rows(recall_id)
        sees_all = is_admin or meta["owner"] == viewer
        if not sees_all:
            units = [u.seen_by(viewer) for u in units if u.holding(viewer)]
            total = len(units)
        else:
            total = int(meta.get("units", 0))
        located = [u for u in units if u.holders]
        delivered = await self.delivered_at(recall_id)
        published = float(meta["published_at"])
        # each unit once: notified when its first holder was, acknowledged when its first holder did
        notified = [min(times) for u in located if (times := [delivered[h.partner] for h in u.holders if h.partner in delivered])]
        acked = [first.ack for u in located if (first := u.first_ack) is not None]
        now = self.clock()
        hours = max(1, math.ceil((now - published) / 3600))
        points = sorted({0, *range(1, min(hours, 72) + 1), hours})

        def share(times: builtins.list[float], until: float) -> float:
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
            "strategy": strategy_of(meta).as_dict(),
            **await self._with_location_names(self.scope_summary(located, total)),
            "located": len(located),
            "notified": len(notified),
            "acknowledged": len(acked),
            "effectiveness": [
                {"hours": h, "notified": share(notified, published + h * 3600), "acknowledged": share(acked, published + h * 3600)}
                for h in points
            ],
            "holders": self.per_holder(located, delivered),
        }
        if not sees_all:
            del result["owner"]
            del result["strategy"]["external_reference"]  # the manufacturer's own QMS record
        if meta.get("closed_at"):
            result.update(closed_at=iso(float(meta["closed_at"])), close_reason=meta.get("close_reason", ""))
        if meta["mock"]:
            result["drill"] = self.drill_timings(meta, notified, acked, total)
        return result

    async def status_report(self, recall_id: str, viewer: str, is_admin: bool, at: float | None = None, start: float | None = None) -> dict[str, Any]:
        """The 21 CFR 7.53 status report at ``at`` (default now), for the period from ``start``
        when given: for the recall's manufacturer and admin only (``recall_status.status_report``)."""
        meta = await self._meta(recall_id, viewer, is_admin, manufacturer_only=True)
        at = self.clock() if at is None else at
        if start is not None and start > at:
            raise InvalidInput("Failed to read from: the period starts after it ends.", code="report.period", field="from")
        holdings = await self._holdings(recall_id)
        for partner, since in reply_fields(await self.redis.hgetall(task_since_key(recall_id))).items():
            if (tasked := holdings.get(partner.decode())) is not None:
                tasked.task_since = float(since)
        glns = sorted({gln for h in holdings.values() for gln in h.glns if gln})
        published = float(meta["published_at"])
        recall = {"id": recall_id, "class": meta["class"], "reason": meta["reason"], "depth": meta["depth"], "mock": bool(meta["mock"]), "status": meta["status"], "published_at": iso(published)}
        if meta.get("closed_at"):
            recall.update(closed_at=iso(float(meta["closed_at"])), close_reason=meta.get("close_reason", ""))
        facts = Facts(
            recall=recall,
            published_at=published,
            strategy=strategy_of(meta),
            holdings=list(holdings.values()),
            delivered=await self.delivered_at(recall_id),
            responses=[Response(**orjson.loads(raw)) for raw in await self.redis.lrange(responses_key(recall_id), 0, -1)],
            checks=[EffectivenessCheck(**orjson.loads(raw)) for raw in await self.redis.lrange(checks_key(recall_id), 0, -1)],
            reminders={p.decode(): [float(t) for t in v.decode().split(",") if t] for p, v in reply_fields(await self.redis.hgetall(reminders_key(recall_id))).items()},
            names=await self.partner_names(sorted(holdings)),
            locations=await self._location_details(glns),
        )
        return build(facts, at, start)

    async def _holdings(self, recall_id: str) -> dict[str, Holding]:
        """Each holder's units, lots, GLNs and acknowledgements, aggregated straight from the
        stored rows and acknowledgement buckets (two pipelines of whole-bucket reads; no unit
        objects: a report of 100,000 units stays well under a second of reading)."""
        pipe = self.redis.pipeline(transaction=False)
        for bucket in range(UNIT_BUCKETS):
            pipe.hgetall(f"rcu:{{rc:{recall_id}}}:{bucket:02x}")
        holdings: dict[str, Holding] = {}
        lot_of: dict[bytes, str] = {}
        for rows in await pipe.execute():
            for key, raw in reply_fields(rows).items():
                data = orjson.loads(raw)
                lot = data.get("lot", "")
                lot_of[key] = lot
                held = data.get("holders")
                if held is None:  # a row written before units had several holders
                    held = [{"partner": data["holder"], "gln": data.get("gln", "")}] if data.get("holder") else []
                for entry in held:
                    holding = holdings.get(entry["partner"])
                    if holding is None:
                        holding = holdings[entry["partner"]] = Holding(entry["partner"])
                    holding.units += 1
                    holding.lots[lot] += 1
                    holding.glns[entry.get("gln", "")] += 1
        pipe = self.redis.pipeline(transaction=False)
        for bucket in range(UNIT_BUCKETS):
            pipe.hgetall(f"rca:{{rc:{recall_id}}}:{bucket:02x}")
        for acks in await pipe.execute():
            for name, value in reply_fields(acks).items():
                unit, _, partner = name.rpartition(b"|")
                holding = holdings.get(partner.decode())
                if holding is not None and unit in lot_of:
                    at, _, action = value.decode().partition("|")
                    holding.acknowledgements.append((float(at), action, lot_of[unit]))
        return holdings

    @staticmethod
    def per_holder(located: Sequence[Unit], delivered: Mapping[str, float]) -> builtins.list[dict[str, Any]]:
        """Effectiveness per holder: its units, when it was notified, how many it acknowledged."""
        units: Counter[str] = Counter()
        acked: Counter[str] = Counter()
        for unit in located:
            for holding in unit.holders:
                units[holding.partner] += 1
                acked[holding.partner] += 1 if holding.ack else 0
        return [
            {"partner": p, "units": n, "notified_at": iso(delivered.get(p, 0.0)), "acknowledged": acked[p]}
            for p, n in sorted(units.items())
        ]

    @staticmethod
    def drill_timings(meta: dict[str, str], notified: builtins.list[float], acked: builtins.list[float], total: int) -> dict[str, float | None]:
        published = float(meta["published_at"])

        def after(at: float | None) -> float | None:
            return round(at - published, 3) if at else None

        ordered: builtins.list[float] = sorted(acked)
        ninety = ordered[math.ceil(0.9 * total) - 1] if total and len(ordered) >= math.ceil(0.9 * total) else None
        return {
            "seconds_to_scope": after(float(meta.get("scoped_at") or 0)),
            "seconds_to_first_notification": after(min(notified)) if notified else None,
            "seconds_to_first_acknowledgement": after(ordered[0]) if ordered else None,
            "seconds_to_90_percent_acknowledged": after(ninety),
        }

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

    # -- partners -----------------------------------------------------------------------------

    async def acknowledge(
        self,
        recall_id: str,
        partner_id: str,
        units: Sequence[tuple[str, str]],
        action: str,
        note: str = "",
        lots: Mapping[str, int] | None = None,
    ) -> builtins.list[tuple[bool, str, str]]:
        """Records ``partner_id``'s acknowledgement of the units it holds in the recall. A unit
        it does not hold is refused alike whether or not it is in the recall; a unit named
        twice counts once. The acknowledgement is also the holder's response: with a note and,
        for holders that count rather than name units, the quantity on hand of lots it holds
        (recorded whole, or refused whole when it names a lot it does not hold)."""
        lots = dict(lots or {})
        validate_text(note, "note", max_length=TEXT_LIMITS["recall response note"], required=False)
        if not units and not lots:
            raise InvalidInput('Failed to read "units": expected at least one unit, or "lots" with quantities on hand.', field="units")
        if action not in ACTIONS:
            raise InvalidInput(f"Failed to read action {action!r}: expected quarantined, returned or destroyed.", code="recall.action", field="action")
        if len(units) > MAX_ACK_UNITS:
            raise InvalidInput(
                f"Failed to read units: expected at most {MAX_ACK_UNITS} units an acknowledgement, got {len(units)}.",
                code="recall.too_many",
                field="units",
            )
        meta = await self._meta(recall_id, partner_id, False)  # not found unless the partner is involved
        now = self.clock()
        if lots:
            await self._require_held_lots(recall_id, partner_id, lots)
        keys = [f"{g}|{s}" for g, s in units]
        distinct = list(dict.fromkeys(keys))
        pipe = self.redis.pipeline(transaction=False)
        for key in distinct:
            pipe.hget(unit_bucket_key(recall_id, key), key)
        stored = {key: raw for key, raw in zip(distinct, await pipe.execute(), strict=True)}
        results: builtins.list[tuple[bool, str, str]] = []
        fields: dict[str, builtins.list[str]] = {}
        answered: set[str] = set()
        for key in keys:
            if key in answered:
                results.append((False, "recall.unit_repeated", f"Unit {key} is named more than once; it is counted once."))
                continue
            answered.add(key)
            raw = stored[key]
            if raw is None or Unit.from_row(key, reply_bytes(raw)).holding(partner_id) is None:
                results.append((False, "recall.not_held", f"Unit {key} is not one you hold in recall {recall_id}; only its holders acknowledge it."))
                continue
            fields.setdefault(ack_bucket_key(recall_id, key), []).append(f"{key}|{partner_id}")
            results.append((True, "OK", f"Unit {key} recorded as {action}."))
        if fields:
            script = self.redis.register_script(ACKNOWLEDGE_SCRIPT)
            await run_script_batch(self.redis, script, [([bucket], [*names, f"{now:.3f}", action]) for bucket, names in fields.items()])
        acknowledged = sum(len(names) for names in fields.values())
        if acknowledged or lots:
            response = {"partner": partner_id, "at": now, "action": action, "note": note, "lots": lots, "units": acknowledged}
            await self.redis.rpush(responses_key(recall_id), orjson.dumps(response))
            await self.redis.sadd(responded_key(recall_id), partner_id)
            await self._tell_owner(recall_id, meta, "recall.responded", {"response": {**response, "at": iso(now)}})
            await self.audit(
                recall_id,
                {"at": now, "action": "recall.acknowledged", "recall": recall_id, "partner": partner_id, "units_action": action, "units": acknowledged, "lots": lots, "note": note},
            )
        return results

    async def _require_held_lots(self, recall_id: str, partner_id: str, lots: Mapping[str, int]) -> None:
        """Refuses a lot quantity for a lot of which ``partner_id`` holds no unit in the recall."""
        held = {unit.lot for unit in await self._held_units(recall_id, partner_id)}
        for lot, quantity in lots.items():
            if lot not in held:
                raise InvalidInput(
                    f'Failed to read "lots": lot {lot!r} is not a lot you hold in recall {recall_id}; only its holders state quantities of it.',
                    code="recall.lot_not_held",
                    field="lots",
                )
            if not 0 <= quantity <= MAX_EXPLICIT_UNITS:
                raise InvalidInput(
                    f'Failed to read "lots": expected a quantity of 0 to {MAX_EXPLICIT_UNITS} for lot {lot!r}, got {quantity}.', code="recall.quantity", field="lots"
                )

    async def record_check(
        self, recall_id: str, viewer: str, is_admin: bool, partner_id: str, checked_by: str, method: str, result: str, note: str
    ) -> dict[str, Any]:
        """Records an effectiveness check of one consignee of the recall (its manufacturer or
        admin); audited."""
        await self._meta(recall_id, viewer, is_admin, manufacturer_only=True)
        if method not in CHECK_METHODS:
            raise InvalidInput(f"Failed to read method {method!r}: expected one of {', '.join(CHECK_METHODS)}.", code="recall.check_method", field="method")
        if result not in CHECK_RESULTS:
            raise InvalidInput(f"Failed to read result {result!r}: expected one of {', '.join(CHECK_RESULTS)}.", code="recall.check_result", field="result")
        validate_text(checked_by, "checked_by", max_length=TEXT_LIMITS["effectiveness checked by"])
        validate_text(note, "note", max_length=TEXT_LIMITS["effectiveness check note"], required=False)
        if not 0 < len(partner_id) <= MAX_PARTNER_ID:
            raise InvalidInput(f"Failed to read partner: expected a partner id of 1 to {MAX_PARTNER_ID} characters, got {len(partner_id)}.", field="partner")
        if not await self.redis.sismember(partners_key(recall_id), partner_id):
            raise InvalidInput(f"Partner {partner_id!r} holds no unit of recall {recall_id}; checks are of its consignees.", code="recall.not_consignee", field="partner")
        now = self.clock()
        check = {"partner": partner_id, "at": now, "checked_by": checked_by, "method": method, "result": result, "note": note}
        await self.redis.rpush(checks_key(recall_id), orjson.dumps(check))
        await self.audit(recall_id, {**check, "action": "recall.effectiveness_checked", "recall": recall_id, "by": viewer})
        return {**check, "at": iso(now)}



    async def tasks(self, partner_id: str) -> builtins.list[dict[str, Any]]:
        out = []
        for recall_id in sorted(reply_bytes(m).decode() for m in await self.redis.smembers(f"rctasks:{partner_id}")):
            meta = await self._meta(recall_id, partner_id, False)
            units = await self._held_units(recall_id, partner_id)
            open_units = [u for u in units if not u.holders[0].ack]
            if meta["status"] != "open" or not open_units:
                continue
            places = await self._location_details(sorted({u.holders[0].gln for u in open_units if u.holders[0].gln}))
            out.append(
                {
                    "recall": {k: meta[k] for k in ("id", "class", "reason", "depth")} | {"mock": bool(meta["mock"]), "published_at": iso(float(meta["published_at"]))},
                    "notice": recall_notice(meta, units),
                    "units_open": [{"gtin": u.gtin, "serial": u.serial, "lot": u.lot, "gln": u.holders[0].gln} for u in open_units],
                    "units_acknowledged": len(units) - len(open_units),
                    # names and addresses the holder gave its GLNs (EPCIS Location master data)
                    "locations": {g: {"name": p.name, "address": p.address} for g, p in places.items() if p.name},
                }
            )
        return out

    async def notice_letter(self, recall_id: str, viewer: str, is_admin: bool, partner_id: str = "") -> dict[str, Any]:
        """One holder's recall notice as a letter: the notice its webhook and console task carry,
        addressed to the holder by name and locations, dated when it was notified. A holder reads
        its own; the recall's manufacturer and admin read any holder's. Anyone else, and a partner
        holding nothing of the recall, gets the answer of a recall that does not exist."""
        holder = partner_id or viewer
        if len(holder) > MAX_PARTNER_ID:
            raise InvalidInput(f"Failed to read partner: expected a partner id of 1 to {MAX_PARTNER_ID} characters, got {len(holder)}.", field="partner")
        meta = await self._meta(recall_id, viewer, is_admin, manufacturer_only=holder != viewer)
        units = await self._held_units(recall_id, holder)
        if not units:
            if holder == viewer and not (is_admin or meta["owner"] == viewer):
                raise NotFound(f"No recall with id {recall_id!r}.", code="recall.not_found")
            raise NotFound(f"Partner {holder!r} holds no unit of recall {recall_id}; a notice goes to its consignees.", code="recall.not_consignee")
        # the notice of record: the first delivered webhook, else the console task
        delivered = (await self.delivered_at(recall_id)).get(holder)
        since = await self.redis.hget(task_since_key(recall_id), holder)
        notified, method = (delivered, "webhook") if delivered else (float(since) if since else float(meta["published_at"]), "console task")
        glns = sorted({u.holders[0].gln for u in units if u.holders[0].gln})
        places = await self._location_details(glns)
        return {
            "recall": {k: meta[k] for k in ("id", "class", "reason", "depth", "status")} | {"mock": bool(meta["mock"]), "published_at": iso(float(meta["published_at"]))},
            "holder": {
                "partner": holder,
                "name": (await self.partner_names([holder])).get(holder, ""),
                "locations": [{"gln": g, "name": places.get(g, Location(g)).name, "address": places.get(g, Location(g)).address} for g in glns],
            },
            "notified_at": iso(notified),
            "notified_by": method,
            "notice": recall_notice(meta, units),
            "response_form": {
                "acknowledge": f"/v1/recalls/{recall_id}/acknowledgements",
                "fields": {
                    "units": "the units you hold, each by gtin and serial",
                    "lots": "or per lot: lot and quantity_on_hand (0 when none is left)",
                    "action": "quarantined, returned or destroyed",
                    "note": "free text, optional",
                },
            },
        }


#: What a holder is asked to do, by the recall's depth (21 CFR 7.49: what to do, down to which level).
WHAT_TO_DO = {
    "wholesale": "Stop distributing these units at once and quarantine them. Return or destroy them as instructed, and tell the wholesale customers you supplied.",
    "retail": "Stop distributing and dispensing these units at once and quarantine them. Return or destroy them as instructed, and tell the retail customers (pharmacies, hospitals) you supplied.",
    "consumer": "Stop distributing and dispensing these units at once and quarantine them. Return or destroy them as instructed, and tell your customers down to patients and consumers.",
}


def recall_notice(meta: Mapping[str, str], units: Sequence[Unit]) -> dict[str, Any]:
    """The recall communication a holder gets (21 CFR 7.49): a clear heading, the products by
    GTIN and lot, the reason, what to do, how to respond and whom to ask."""
    products: dict[str, Counter[str]] = {}
    for unit in units:
        products.setdefault(unit.gtin, Counter())[unit.lot] += 1
    strategy = strategy_of(meta)
    drill = bool(meta.get("mock"))
    return {
        "heading": "RECALL DRILL: exercise only, no stock to act on" if drill else f"URGENT: DRUG RECALL (class {meta['class']})",
        "products": [{"gtin": gtin, "lots": sorted(lots), "units": sum(lots.values())} for gtin, lots in sorted(products.items())],
        "reason": meta["reason"],
        "what_to_do": WHAT_TO_DO.get(strategy.depth, WHAT_TO_DO["retail"]),
        "respond": "Acknowledge each unit you hold, or state the quantity on hand per lot, with the action taken "
        f"(quarantined, returned or destroyed): POST /v1/recalls/{meta['id']}/acknowledgements, or your console's recall tasks.",
        "contact": strategy.contact,
        "public_warning": strategy.public_warning_by if strategy.public_warning else "",
    }


def notice_of(meta: Mapping[str, str]) -> dict[str, str]:
    """What every recall event says of its recall."""
    return {k: meta[k] for k in ("id", "class", "reason", "depth")}


def strategy_of(meta: Mapping[str, str]) -> RecallStrategy:
    """A recall's stored strategy; a recall published before strategies existed has the
    default one at its depth."""
    if meta.get("strategy"):
        return RecallStrategy.from_dict(orjson.loads(meta["strategy"]))
    return RecallStrategy(depth=meta.get("depth") or "retail")


def require_manufacturer(roles: Sequence[str]) -> None:
    """Recall publishing and listing are for manufacturers (admin may list and read)."""
    if not any(role in (Role.MANUFACTURER, Role.ADMIN) for role in roles):
        raise Forbidden("Only manufacturers publish recalls.", code="auth.role")
