"""The values of the pack store as Python reads and writes them: a pack's expanded value
(``PackValue``), its last decommission, custody events and sightings (``Location``,
``Whereabouts``), events to record, products, commissioning outcomes, and recall scope
filters. Each value's ``encode``/``decode`` is the one place its stored form is written down;
the compact integer form is the Lua scripts' (:mod:`verinet.recall_status.pack_scripts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import orjson

from verinet.errors import InvalidInput
from verinet.packs import PackRecord, PackState
from verinet.timestamps import UtcSeconds, utc

MAX_SIGHTINGS = 8

#: How an event is recorded (one character, as the record scripts take it): ``A`` a failed
#: check (history only), ``S`` a bare sighting (history only), ``P`` a possession-attested
#: sighting, ``C`` a state change (custody event if made by the custodian, else as ``P``),
#: ``L`` a custody event (EPCIS shipping, receiving, the custodian's state change).
RECORD_CODES = frozenset("ASPCL")

FIELD_SEPARATOR = "\x1f"  # never in CSET 82 lots, so it cannot be confused with data


@dataclass(frozen=True, slots=True)
class ScopeFilter:
    """Which packs of a GTIN a recall scope takes: by lots, line and commissioning minutes
    (``first_minute`` included, ``end_minute`` excluded); empty means any."""

    lots: tuple[str, ...] = ()
    line: str = ""
    first_minute: int | None = None
    end_minute: int | None = None

    def encode(self) -> str:
        bounds = ("" if m is None else str(m) for m in (self.first_minute, self.end_minute))
        return FIELD_SEPARATOR.join((self.line, *bounds, *self.lots))


@dataclass(frozen=True, slots=True)
class ScopeGroup:
    """The packs of one scope group that match: how many, their serials joined by newlines,
    and those with a custody event or an attested sighting."""

    group: int
    count: int
    serials: bytes
    located: list[tuple[str, PackValue, Whereabouts]]


@dataclass(frozen=True, slots=True)
class DecommissionRecord:
    state: PackState
    at: float
    partner_id: str
    location_gln: str

    def encode(self) -> bytes:
        return f"{self.state.stored}|{self.at:.3f}|{self.partner_id}|{self.location_gln}".encode()

    @classmethod
    def decode(cls, raw: bytes) -> DecommissionRecord:
        state, at, partner, gln = raw.decode().split("|", 3)
        return cls(PackState.from_stored(state), float(at), partner, gln)


@dataclass(frozen=True, slots=True)
class PackChange:
    gtin: str
    serial: str
    expected_revision: bytes
    new_state: PackState
    decommission: DecommissionRecord | None
    audit_entry: bytes  # JSON of the audit event


class StoredPack(NamedTuple):
    """A pack record with what an operation needs to decide and to write back safely (a named
    tuple: one is made per pack read)."""

    record: PackRecord
    last_decommission: DecommissionRecord | None
    revision: bytes


@dataclass(frozen=True, slots=True)
class PackValue:
    """One stored pack, packed into a short string: state, expiry, lot and production context."""

    state: PackState
    expiry: str
    lot: str
    line: str = ""
    commissioned_minute: int = 0  # minutes since the Unix epoch; 0 when unknown

    def encode(self) -> bytes:
        text = f"{self.state.stored}{self.expiry:<6.6}{self.lot}"
        if self.line or self.commissioned_minute:
            text += f"{FIELD_SEPARATOR}{self.line}{FIELD_SEPARATOR}{self.commissioned_minute:x}"
        return text.encode()

    @classmethod
    def decode(cls, raw: bytes) -> PackValue:
        text = raw.decode()
        lot, _, production = text[7:].partition(FIELD_SEPARATOR)
        line, _, minute = production.partition(FIELD_SEPARATOR)
        return cls(
            PackState.from_stored(text[0]),
            text[1:7].strip(),
            lot,
            line,
            int(minute, 16) if minute else 0,
        )

    @property
    def commissioned_at(self) -> float:
        return self.commissioned_minute * 60.0

    def with_state(self, state: PackState) -> PackValue:
        return PackValue(state, self.expiry, self.lot, self.line, self.commissioned_minute)


@dataclass(frozen=True, slots=True)
class PackEventData:
    """Where a pack was seen or handled: the partner, the GLN, when, by which event, and how
    it is recorded (``record``, one of ``RECORD_CODES``)."""

    gtin: str
    serial: str
    event: str
    partner_id: str
    gln: str
    at: float
    detail: str = ""
    record: str = "S"
    outcome: str = ""

    def as_dict(self, stamp: Callable[[float], str] = utc) -> dict[str, object]:
        """The pack history's entry (``stamp``: :func:`utc`, or a faster one of the same output)."""
        out: dict[str, object] = {
            "event": self.event,
            "partner": self.partner_id,
            "gln": self.gln,
            "at": stamp(self.at),
            "detail": self.detail,
        }
        if self.outcome:
            out["outcome"] = self.outcome
        if self.record == "A":
            out["attempt"] = True
        elif self.record == "P":
            out["possession_attested"] = True
        return out

    @property
    def place(self) -> str:
        """The custody event or sighting as the record scripts store it."""
        return f"{self.at:.3f}|{self.event}|{self.partner_id}|{self.gln}"


def require_record_code(code: str) -> str:
    if code not in RECORD_CODES:
        raise InvalidInput(
            f"Failed to record a pack event: expected a record code of {', '.join(sorted(RECORD_CODES))}, got {code!r}.",
            code="events.record",
        )
    return code


@dataclass(frozen=True, slots=True)
class PackEventBatchData:
    """One event seen on many packs at once: the same partner, location, time and event,
    with each pack's GTIN, serial, detail and record code (columns of equal length; no
    record codes: every pack a bare sighting)."""

    event: str
    partner_id: str
    gln: str
    at: float
    gtins: Sequence[str]
    serials: Sequence[str]
    details: Sequence[str]
    records: Sequence[str] = ()

    def history_entry(self, detail: str, record: str = "S") -> bytes:
        return orjson.dumps(
            PackEventData("", "", self.event, self.partner_id, self.gln, self.at, detail, record).as_dict()
        )


@dataclass(frozen=True, slots=True)
class Location:
    """A custody event or a sighting: when, which event, which partner, at which GLN."""

    at: float
    event: str
    partner_id: str
    gln: str

    @classmethod
    def decode(cls, raw: bytes) -> Location:
        at, event, partner, gln = raw.decode().split("|", 3)
        return cls(float(at), event, partner, gln)


@dataclass(frozen=True, slots=True)
class Whereabouts:
    """What is stored of where a pack is: its last custody event (None: never moved from its
    manufacturer) and the possession-attested sightings recorded since."""

    custody: Location | None = None
    sightings: tuple[Location, ...] = ()

    @classmethod
    def decode(cls, custody: bytes | None, sightings: bytes | None) -> Whereabouts:
        return cls(
            Location.decode(custody) if custody else None,
            tuple(Location.decode(line) for line in sightings.split(b"\n") if line) if sightings else (),
        )

    def __bool__(self) -> bool:
        return self.custody is not None or bool(self.sightings)


@dataclass(frozen=True, slots=True)
class Product:
    gtin: str
    owner_partner_id: str
    name: str
    state: PackState
    created_at: str
    # Master data by name (ndc, dosage_form, strength, net_content, manufacturer, ...).
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommissionOutcome:
    """Per-pack outcome: ``stored``, ``unchanged`` (same data already there) or ``conflict``."""

    status: str
    existing_lot: str = ""
    existing_expiry: str = ""


class NewPack(NamedTuple):
    """A pack to commission (a named tuple: one is made per pack of an upload)."""

    gtin: str
    serial: str
    lot: str
    expiry: str
    line: str = ""
    commissioned_at: float = 0.0

    def value(self) -> bytes:
        return PackValue(
            PackState.ACTIVE, self.expiry, self.lot, self.line, int(self.commissioned_at // 60)
        ).encode()


#: Separators of the lines ``PackRepository.record_events`` sends: fields by US, events by RS.
#: JSON escapes both, and serials, places and record codes never hold them (``event_lines``
#: checks).
EVENT_FIELD_SEPARATOR, EVENT_SEPARATOR = b"\x1f", b"\x1e"
FIELDS_PER_EVENT = 5


def event_lines(lines: list[bytes]) -> bytes:
    """The argument ``pack_record_events.lua`` reads: each line holds bucket, record code,
    serial, place and history entry, separated by US; lines are separated by RS."""
    joined = EVENT_SEPARATOR.join(lines)
    if (
        joined.count(EVENT_FIELD_SEPARATOR) != (FIELDS_PER_EVENT - 1) * len(lines)
        or joined.count(EVENT_SEPARATOR) != len(lines) - 1
    ):
        raise InvalidInput(
            "Failed to record pack events: expected serials and places without the control "
            "characters US and RS.",
            code="pack.serial",
            field="serial",
        )
    return joined


class EventLines:
    """The lines of a batch of events (``event_lines``), with each history entry the bytes
    ``orjson.dumps(event.as_dict())`` gives: events alike but for their time share one
    template, so an entry costs a time stamp and a join."""

    __slots__ = ("_stamp", "_templates")

    def __init__(self) -> None:
        self._stamp = UtcSeconds()
        self._templates: dict[tuple[str, str, str, str, str, str], tuple[bytes, bytes]] = {}

    def entry(self, event: PackEventData) -> bytes:
        key = (event.event, event.partner_id, event.gln, event.detail, event.outcome, event.record)
        template = self._templates.get(key)
        if template is None:
            # "at" is a string JSON writes as it is: an empty one marks where each time goes.
            before, _, after = orjson.dumps(event.as_dict(lambda _at: "")).partition(b',"at":""')
            template = self._templates[key] = (before + b',"at":"', b'"' + after)
        return template[0] + self._stamp(event.at).encode() + template[1]

    def line(self, bucket: bytes, serial: bytes, event: PackEventData) -> bytes:
        fields = (bucket, event.record.encode(), serial, event.place.encode(), self.entry(event))
        return EVENT_FIELD_SEPARATOR.join(fields)
