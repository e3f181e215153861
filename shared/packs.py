"""Pack states and records: the vocabulary shared by verifier and recall-status."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import NamedTuple

from verinet.errors import InvalidInput

LINE_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def validate_line(line: str, field: str = "line") -> str:
    """A production line id: up to 32 letters, digits, '.', '_' or '-'; empty means unknown."""
    if line and (len(line) > 32 or not set(line) <= LINE_CHARACTERS):
        raise InvalidInput(
            f"Failed to read line {line!r}: expected up to 32 letters, digits, '.', '_' or '-'.",
            code="line.format",
            field=field,
        )
    return line


class PackState(enum.Enum):
    """EU FMD pack states (Delegated Regulation 2016/161), plus the illegitimate flag."""

    ACTIVE = "active"
    SUPPLIED = "supplied"
    DESTROYED = "destroyed"
    STOLEN = "stolen"
    SAMPLE = "sample"
    FREE_SAMPLE = "free_sample"
    EXPORTED = "exported"
    LOCKED = "locked"
    CHECKED_OUT = "checked_out"
    EXPIRED = "expired"
    RECALLED = "recalled"
    WITHDRAWN = "withdrawn"
    ILLEGITIMATE = "illegitimate"

    @property
    def stored(self) -> str:
        """The one-character code a pack record stores."""
        return _STORED_CODE[self]

    @classmethod
    def from_stored(cls, code: str) -> PackState:
        return _STATE_BY_CODE[code]


_STORED_CODE = {
    PackState.ACTIVE: "A",
    PackState.SUPPLIED: "S",
    PackState.DESTROYED: "D",
    PackState.STOLEN: "T",
    PackState.SAMPLE: "M",
    PackState.FREE_SAMPLE: "F",
    PackState.EXPORTED: "X",
    PackState.LOCKED: "L",
    PackState.CHECKED_OUT: "C",
    PackState.EXPIRED: "E",
    PackState.RECALLED: "R",
    PackState.WITHDRAWN: "W",
    PackState.ILLEGITIMATE: "I",
}
_STATE_BY_CODE = {code: state for state, code in _STORED_CODE.items()}
#: The state of each stored one-character code (``PackState.from_stored`` as a plain lookup,
#: for loops over every pack of a bulk call).
STATE_BY_STORED_CODE: Mapping[str, PackState] = _STATE_BY_CODE

#: Pack-level states that take a pack out of the supply chain (decommissioned).
DECOMMISSIONED_STATES = frozenset(
    {
        PackState.SUPPLIED,
        PackState.DESTROYED,
        PackState.STOLEN,
        PackState.SAMPLE,
        PackState.FREE_SAMPLE,
        PackState.EXPORTED,
        PackState.LOCKED,
        PackState.CHECKED_OUT,
        PackState.ILLEGITIMATE,
    }
)


class PackRecord(NamedTuple):
    """What the repository holds for one commissioned pack, with batch and product state.

    A named tuple, not a frozen dataclass: bulk calls make one per pack, and a tuple is
    several times cheaper to create."""

    gtin: str
    serial: str
    lot: str
    expiry: str
    pack_state: PackState
    lot_state: PackState = PackState.ACTIVE
    product_state: PackState = PackState.ACTIVE
    owner_partner_id: str = ""
