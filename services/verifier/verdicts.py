"""LMS verdicts for hosted packs (ARCHITECTURE.md, "Verdicts for hosted packs").

Order of evaluation: an unknown (gtin, serial) is ``No_match_GTIN_Serial`` and nothing else is
looked at; then lot and expiry are compared (expiry ``YYMM00`` as text and as end of month);
then the pack's own state before its batch or product: a decommissioned pack (supplied,
destroyed, stolen, exported, ...) is never verified, whatever its lot, so a dispensed pack
never reads as saleable to a wholesaler checking a return. Its ``additionalInfo`` is
``Suspect`` (stolen) or ``Illegitimate`` when the pack is flagged, else ``Recalled`` when its
batch is recalled or its product withdrawn. An active pack is verified, with ``Recalled`` or
``Expired`` when its batch or product says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from verinet.identifiers import expiry_matches, parse_expiry
from verinet.lms_vocabulary import (
    EXPIRED,
    ILLEGITIMATE,
    NO_MATCH_EXPIRY,
    NO_MATCH_LOT,
    NO_MATCH_LOT_EXPIRY,
    NO_MATCH_SERIAL,
    NOT_FOR_REDISTRIBUTION,
    RECALLED,
    SUSPECT,
)
from verinet.packs import DECOMMISSIONED_STATES, PackRecord, PackState
from verinet.timestamps import utc_z_ms

#: Reasons that mean the question's data did not match a pack: a failed check is recorded as
#: an attempt, never as a sighting (README "Custody, sightings and visibility").
FAILED_CHECK_REASONS = frozenset({NO_MATCH_SERIAL, NO_MATCH_LOT, NO_MATCH_EXPIRY, NO_MATCH_LOT_EXPIRY})


@dataclass(frozen=True, slots=True)
class LmsVerdict:
    verified: bool
    failure_reason: str | None = None
    additional_info: str | None = None

    @property
    def failed_check(self) -> bool:
        return self.failure_reason in FAILED_CHECK_REASONS

    @property
    def outcome(self) -> str:
        """The verdict in one word, as a pack's history records it."""
        return self.failure_reason or "verified"

    def data(self) -> dict[str, object]:
        out: dict[str, object] = {"verified": self.verified}
        if self.failure_reason:
            out["verificationFailureReason"] = self.failure_reason
        if self.additional_info:
            out["additionalInfo"] = self.additional_info
        return out


def lms_verdict(record: PackRecord | None, lot: str, expiry: str, today: dt.date) -> LmsVerdict:
    if record is None:
        return LmsVerdict(False, NO_MATCH_SERIAL)
    lot_ok = record.lot == lot
    expiry_ok = expiry_matches(record.expiry, expiry)
    if not lot_ok and not expiry_ok:
        return LmsVerdict(False, NO_MATCH_LOT_EXPIRY)
    if not lot_ok:
        return LmsVerdict(False, NO_MATCH_LOT)
    if not expiry_ok:
        return LmsVerdict(False, NO_MATCH_EXPIRY)
    state = record.pack_state
    recalled = PackState.WITHDRAWN in (record.product_state, state) or PackState.RECALLED in (
        record.lot_state,
        state,
    )
    if state in DECOMMISSIONED_STATES:
        flag = _FLAGS.get(state) or (RECALLED if recalled else None)
        return LmsVerdict(False, NOT_FOR_REDISTRIBUTION, flag)
    if recalled:
        return LmsVerdict(True, None, RECALLED)
    if parse_expiry(record.expiry, today=today) < today:
        return LmsVerdict(True, None, EXPIRED)
    return LmsVerdict(True)


#: A flag on the pack itself tells more than its batch's recall: it stays.
_FLAGS = {PackState.STOLEN: SUSPECT, PackState.ILLEGITIMATE: ILLEGITIMATE}


def timestamp(now: dt.datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as LMS examples show."""
    return utc_z_ms(now)


def lms_body(
    verdict: LmsVerdict, responder_gln: str, corr_uuid: str, now: dt.datetime, extra: Mapping[str, str] | None = None
) -> bytes:
    body: dict[str, object] = {
        "verificationTimestamp": timestamp(now),
        "responderGLN": responder_gln,
        "data": verdict.data(),
    }
    if corr_uuid:
        body["corrUUID"] = corr_uuid
    for name, value in (extra or {}).items():
        body.setdefault(name, value)  # never an LMS member
    return orjson.dumps(body)


def connectivity_body(responder_gln: str) -> bytes:
    return orjson.dumps({"responderGLN": responder_gln})
