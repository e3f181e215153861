"""The LMS verdict table of ARCHITECTURE.md, state by state."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from verinet.packs import PackRecord, PackState
from verinet.verifier.verdicts import LmsVerdict, lms_body, lms_verdict

TODAY = dt.date(2026, 11, 25)


def record(state: PackState = PackState.ACTIVE, **kwargs: object) -> PackRecord:
    base = {"gtin": "00614141000012", "serial": "S", "lot": "L1", "expiry": "281231", "pack_state": state}
    base.update(kwargs)
    return PackRecord(**base)  # type: ignore[arg-type]


def test_an_unknown_pack_is_no_match_gtin_serial_whatever_its_lot() -> None:
    assert lms_verdict(None, "ANY", "000000", TODAY) == LmsVerdict(False, "No_match_GTIN_Serial")


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (PackState.ACTIVE, LmsVerdict(True)),
        (PackState.SUPPLIED, LmsVerdict(False, "Not_for_re-distribution")),
        (PackState.DESTROYED, LmsVerdict(False, "Not_for_re-distribution")),
        (PackState.EXPORTED, LmsVerdict(False, "Not_for_re-distribution")),
        (PackState.SAMPLE, LmsVerdict(False, "Not_for_re-distribution")),
        (PackState.FREE_SAMPLE, LmsVerdict(False, "Not_for_re-distribution")),
        (PackState.CHECKED_OUT, LmsVerdict(False, "Not_for_re-distribution")),
        (PackState.LOCKED, LmsVerdict(False, "Not_for_re-distribution")),
        (PackState.STOLEN, LmsVerdict(False, "Not_for_re-distribution", "Suspect")),
        (PackState.ILLEGITIMATE, LmsVerdict(False, "Not_for_re-distribution", "Illegitimate")),
        (PackState.RECALLED, LmsVerdict(True, None, "Recalled")),
    ],
)
def test_each_pack_state_gives_its_lms_verdict(state: PackState, expected: LmsVerdict) -> None:
    assert lms_verdict(record(state), "L1", "281231", TODAY) == expected


def test_a_recalled_batch_or_withdrawn_product_verifies_with_recalled() -> None:
    recalled = record(lot_state=PackState.RECALLED)
    withdrawn = record(product_state=PackState.WITHDRAWN)
    assert lms_verdict(recalled, "L1", "281231", TODAY) == LmsVerdict(True, None, "Recalled")
    assert lms_verdict(withdrawn, "L1", "281231", TODAY) == LmsVerdict(True, None, "Recalled")


def test_a_pack_past_its_expiry_verifies_with_expired() -> None:
    expired = record(expiry="261124")
    assert lms_verdict(expired, "L1", "261124", TODAY) == LmsVerdict(True, None, "Expired")
    last_day = record(expiry="261125")
    assert lms_verdict(last_day, "L1", "261125", TODAY) == LmsVerdict(True)


def test_a_stolen_pack_stays_suspect_even_in_a_recalled_batch() -> None:
    stolen = record(PackState.STOLEN, lot_state=PackState.RECALLED)
    assert lms_verdict(stolen, "L1", "281231", TODAY).additional_info == "Suspect"


def test_lot_and_expiry_are_checked_before_the_state() -> None:
    assert lms_verdict(record(PackState.STOLEN), "L2", "281231", TODAY).failure_reason == "No_match_GTIN_Serial_Lot"


def test_the_body_has_lms_fields_in_order_and_omits_an_absent_corr_uuid() -> None:
    now = dt.datetime(2026, 11, 25, 9, 30, 1, 250_000, tzinfo=dt.UTC)
    body = orjson.loads(lms_body(LmsVerdict(True), "0614141000005", "", now))
    assert body == {
        "verificationTimestamp": "2026-11-25T09:30:01.250Z",
        "responderGLN": "0614141000005",
        "data": {"verified": True},
    }
