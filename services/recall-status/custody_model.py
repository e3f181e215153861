"""The custody model: an EPCIS event as custody needs it, who holds a unit, the outcome of a
capture and its refusals, and which business steps set which pack state. Values only; the
rules that check events are :mod:`verinet.recall_status.custody`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verinet.callers import Caller
from verinet.errors import ErrorKind, VerinetError
from verinet.packs import PackState

#: Business steps that change a pack's state, and the state they set. ``decommissioning``
#: takes its state from the disposition (:data:`STATE_BY_DISPOSITION`).
STATE_BY_STEP = {
    "destroying": PackState.DESTROYED,
    "dispensing": PackState.SUPPLIED,
    "retail_selling": PackState.SUPPLIED,
    "sampling": PackState.SAMPLE,
}
STATE_BY_DISPOSITION = {
    "dispensed": PackState.SUPPLIED,
    "retail_sold": PackState.SUPPLIED,
    "destroyed": PackState.DESTROYED,
    "disposed": PackState.DESTROYED,
    "stolen": PackState.STOLEN,
}
CUSTODY_STEPS = frozenset({"shipping", "receiving"})
SUPPORTED_STEPS = frozenset(
    {"commissioning", "packing", "unpacking", "decommissioning", *CUSTODY_STEPS, *STATE_BY_STEP}
)


def target_state(biz_step: str, disposition: str) -> PackState | None:
    """The pack state an event sets, or ``None`` when it sets none (or names none)."""
    if biz_step == "decommissioning":
        return STATE_BY_DISPOSITION.get(disposition)
    return STATE_BY_STEP.get(biz_step)


def split_unit(key: str) -> tuple[str, str]:
    """``<GTIN-14><serial>`` -> (gtin, serial)."""
    return key[:14], key[14:]


#: The partner submitting the document (its id, roles and GLNs): the shared caller value.
Actor = Caller


@dataclass(frozen=True, slots=True)
class Party:
    """A source or destination: ``owning_party``, ``possessing_party`` or ``location``."""

    type: str
    gln: str


@dataclass(frozen=True, slots=True)
class CustodyEvent:
    """An EPCIS event reduced to what custody needs (the gateway reads and checks the JSON)."""

    index: int
    event_id: str
    event_hash: bytes
    type: str
    action: str
    biz_step: str
    disposition: str
    event_time: float
    location_gln: str
    units: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()
    parent: str = ""
    sources: tuple[Party, ...] = ()
    destinations: tuple[Party, ...] = ()
    biz_transactions: tuple[str, ...] = ()
    lot: str = ""
    expiry: str = ""
    notes: tuple[str, ...] = ()  # facts kept with the history entry (a DSCSA shipment's statement)


@dataclass(frozen=True, slots=True)
class Refusal:
    index: int
    event_id: str
    code: str
    message: str
    kind: str  # invalid, forbidden or conflict


@dataclass
class CaptureOutcome:
    applied: bool
    events: int = 0
    duplicates: int = 0
    unit_events: int = 0
    commissioned: int = 0
    state_changes: int = 0
    refused: int = 0
    refusals: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Custody:
    """Who holds a unit, or who shipped it where. ``status`` H (held) or T (in transit)."""

    status: str
    partner_id: str
    gln: str
    destinations: tuple[str, ...] = ()

    def encode(self) -> str:
        text = f"{self.status}|{self.partner_id}|{self.gln}"
        return text + "|" + ",".join(self.destinations) if self.status == "T" else text

    @classmethod
    def decode(cls, raw: bytes) -> Custody:
        status, partner, gln, *rest = raw.decode().split("|", 3)
        return cls(status, partner, gln, tuple(d for d in (rest[0] if rest else "").split(",") if d))


class Refused(VerinetError):
    """One event's refusal; the capture collects them and writes nothing. ``kind`` is invalid,
    forbidden or conflict."""

    def __init__(self, code: str, message: str, kind: str = "conflict") -> None:
        super().__init__(message, code=code)
        self.kind = ErrorKind(kind)


@dataclass(slots=True)
class HistoryEntry:
    """One event's history entry for a list of units (the entry is shared, not copied);
    ``record`` is its record code (``pack_values.RECORD_CODES``), ``extra`` more entry fields."""

    event: str
    partner_id: str
    gln: str
    at: float
    detail: str
    units: list[str]
    record: str
    extra: dict[str, Any] = field(default_factory=dict)
