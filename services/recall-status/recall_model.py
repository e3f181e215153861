"""A recall's model: its scope, its units and their holders, and the Redis keys that store
them. Pure values (no Redis calls); the parts of :class:`~verinet.recall_status.recalls.RecallService`
read and write them.

Keys (``{rc:<id>}`` hash-tags a recall's keys into one cluster slot):

``recall:{rc:<id>}``              hash  the recall: owner, class, reason, depth, mock, status, times, scope
``rcm:{rc:<id>}``                 hash  "<gtin>:<scope group>" -> serials of the recall's units (newline-joined)
``rcu:{rc:<id>}:<bucket>``        hash  "<gtin>|<serial>" -> unit row (JSON) of a located unit: lot, expiry, and its
                                        holders (partner, GLN, seen, event) when published
``rca:{rc:<id>}:<bucket>``        hash  "<gtin>|<serial>|<partner>" -> "<first ack time>|<action>" of a holder
``rcpu:{rc:<id>}:<partner>``      set   units a partner held when the recall was published
``rcpartners:{rc:<id>}``          set   partners holding units
``rcpsince:{rc:<id>}``            hash  partner -> when its console task began
``rcresp:{rc:<id>}``              list  holders' responses (JSON)
``rcresponded:{rc:<id>}``         set   partners that responded
``rcchecks:{rc:<id>}``            list  effectiveness checks (JSON)
``rcrem:{rc:<id>}``               hash  partner -> times of the reminders sent to it
``recalls:owner:<partner>``       zset  recall ids of a manufacturer by time
``recalls:all``                   zset  every recall id by time
``rctasks:<partner>``             set   recall ids in which a partner holds units
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.typing import EncodableT, FieldT

from verinet.callers import Role
from verinet.errors import Forbidden, InvalidInput
from verinet.recall_status.holders import holders_of
from verinet.recall_status.key_families import bucketed, tagged
from verinet.recall_status.pack_values import ScopeFilter, Whereabouts
from verinet.recall_status.strategy import RecallStrategy
from verinet.timestamps import utc

MAX_PARTNER_ID = 100
UNIT_BUCKETS = 256
MAX_EXPLICIT_UNITS = 1_000_000

Enqueue = Callable[..., Awaitable[str | None]]
PartnerNames = Callable[[Sequence[str]], Awaitable[dict[str, str]]]
AuditAppend = Callable[[str, dict[str, Any]], Awaitable[None]]
DeliveredAt = Callable[[str], Awaitable[dict[str, float]]]


# Keys of a recall (see the layout above), by its id.
recall_key = tagged("recall", tag_prefix="rc:")
members_key = tagged("rcm", tag_prefix="rc:")
partners_key = tagged("rcpartners", tag_prefix="rc:")
task_since_key = tagged("rcpsince", tag_prefix="rc:")
responses_key = tagged("rcresp", tag_prefix="rc:")
responded_key = tagged("rcresponded", tag_prefix="rc:")
checks_key = tagged("rcchecks", tag_prefix="rc:")
reminders_key = tagged("rcrem", tag_prefix="rc:")
# ... and by its id and a unit, the units spread over UNIT_BUCKETS hashes.
unit_bucket_key = bucketed("rcu", UNIT_BUCKETS, tag_prefix="rc:")
ack_bucket_key = bucketed("rca", UNIT_BUCKETS, tag_prefix="rc:")


def partner_units_key(recall_id: str, partner_id: str) -> str:
    return f"rcpu:{{rc:{recall_id}}}:{partner_id}"


def hash_fields(values: Mapping[str, str] | Mapping[str, bytes]) -> dict[FieldT, EncodableT]:
    """Values as the fields of a Redis hash (for the client's types)."""
    return dict(values.items())


async def no_names(partner_ids: Sequence[str]) -> dict[str, str]:
    return {}


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
