"""Verdict precedence (ARCHITECTURE.md, "Verdicts for hosted packs"): the pack's own state
first, then its batch or product, for LMS and FMD alike.

The table is written by hand from the issue and ARCHITECTURE.md, never from the code: a
decommissioned pack is never verified whatever its lot, and says ``Recalled`` when its lot is
recalled (or its product withdrawn) unless a flag on the pack says more (stolen: ``Suspect``);
FMD answers carry the pack's own state and the batch status as separate fields.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import REPO_ROOT
from verinet.callers import Caller
from verinet.lifecycle import ALERT_CODES, NMVS_CODES, Operation, decide
from verinet.packs import PackRecord, PackState
from verinet.verifier.verdicts import lms_verdict

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
FUTURE_EXPIRY = "281231"
PAST_EXPIRY = "260930"

#: pack state, batch status -> LMS verified, verificationFailureReason, additionalInfo, and the
#: FMD verify code. "-" is an absent field. NFR is Not_for_re-distribution; INACTIVE is
#: VERINET_PACK_INACTIVE; the NMVS codes lose their NMVS_NC_ / NMVS_FE_ prefix.
PRECEDENCE = """
pack          batch      verified  reason  info          fmd
active        active     true      -       -             OK
active        recalled   true      -       Recalled      LOT_01
active        withdrawn  true      -       Recalled      LOT_08
active        expired    true      -       Expired       PCK_02
supplied      active     false     NFR     -             INACTIVE
supplied      recalled   false     NFR     Recalled      INACTIVE
supplied      withdrawn  false     NFR     Recalled      INACTIVE
supplied      expired    false     NFR     -             INACTIVE
destroyed     recalled   false     NFR     Recalled      INACTIVE
exported      recalled   false     NFR     Recalled      INACTIVE
sample        recalled   false     NFR     Recalled      INACTIVE
free_sample   recalled   false     NFR     Recalled      INACTIVE
checked_out   recalled   false     NFR     Recalled      INACTIVE
locked        recalled   false     NFR     Recalled      INACTIVE
locked        expired    false     NFR     -             INACTIVE
stolen        active     false     NFR     Suspect       INACTIVE
stolen        recalled   false     NFR     Suspect       INACTIVE
stolen        withdrawn  false     NFR     Suspect       INACTIVE
illegitimate  recalled   false     NFR     Illegitimate  INACTIVE
"""

FMD_CODES = {
    "OK": "OK",
    "INACTIVE": "VERINET_PACK_INACTIVE",
    "LOT_01": "NMVS_FE_LOT_01",
    "LOT_08": "NMVS_FE_LOT_08",
    "PCK_02": "NMVS_NC_PCK_02",
}


def rows() -> list[list[str]]:
    header, *body = (line.split() for line in PRECEDENCE.strip().splitlines())
    assert header == ["pack", "batch", "verified", "reason", "info", "fmd"]
    return body


def stored(pack: str, batch: str) -> PackRecord:
    return PackRecord(
        gtin="00614141000012",
        serial="SN1",
        lot="LOT1",
        expiry=PAST_EXPIRY if batch == "expired" else FUTURE_EXPIRY,
        pack_state=PackState(pack),
        lot_state=PackState.RECALLED if batch == "recalled" else PackState.ACTIVE,
        product_state=PackState.WITHDRAWN if batch == "withdrawn" else PackState.ACTIVE,
    )


def absent(cell: str) -> str | None:
    return None if cell == "-" else cell


@pytest.mark.parametrize(("pack", "batch", "verified", "reason", "info", "fmd"), rows(), ids=[f"{r[0]}-in-{r[1]}-batch" for r in rows()])
def test_lms_answers_the_pack_state_before_its_batch_as_the_table_says(
    pack: str, batch: str, verified: str, reason: str, info: str, fmd: str
) -> None:
    record = stored(pack, batch)
    verdict = lms_verdict(record, record.lot, record.expiry, NOW.date())
    expected_reason = "Not_for_re-distribution" if reason == "NFR" else absent(reason)
    assert (verdict.verified, verdict.failure_reason, verdict.additional_info) == (
        verified == "true",
        expected_reason,
        absent(info),
    )


@pytest.mark.parametrize(("pack", "batch", "verified", "reason", "info", "fmd"), rows(), ids=[f"{r[0]}-in-{r[1]}-batch" for r in rows()])
def test_fmd_verify_carries_the_pack_state_and_the_batch_status_apart_as_the_table_says(
    pack: str, batch: str, verified: str, reason: str, info: str, fmd: str
) -> None:
    record = stored(pack, batch)
    decision = decide(
        Operation.VERIFY,
        record=record,
        caller=Caller("p1", roles=("wholesaler",), location_gln="0860000100007"),
        now=NOW,
        lot=record.lot,
        expiry=record.expiry,
    )
    assert (decision.ok, decision.state_after, decision.batch_status, decision.code) == (
        fmd == "OK",
        PackState(pack),
        PackState(batch),
        FMD_CODES[fmd],
    )
    assert not decision.alert


def test_the_table_covers_every_decommissioned_state_in_a_recalled_batch() -> None:
    recalled = {PackState(pack) for pack, batch, *_ in rows() if batch == "recalled"}
    assert recalled >= {state for state in PackState if state.value in _DECOMMISSIONED_NAMES}


_DECOMMISSIONED_NAMES = {
    "supplied", "destroyed", "stolen", "sample", "free_sample", "exported", "locked",
    "checked_out", "illegitimate",
}


def readme_code_table() -> set[str]:
    """The codes README.md lists in its table of pack-operation codes."""
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index("| code | meaning | alert |")
    table = text[start : text.index("\n\n", start)]
    return {
        code
        for row in table.splitlines()[2:]
        for code in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])
    }


def test_readme_lists_exactly_the_codes_pack_operations_return() -> None:
    assert readme_code_table() == set(NMVS_CODES)


def test_readme_marks_exactly_the_alert_codes_as_raising_an_alert() -> None:
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index("| code | meaning | alert |")
    rows = text[start : text.index("\n\n", start)].splitlines()[2:]
    alerting = {code for row in rows if row.split("|")[3].strip() == "yes" for code in re.findall(r"`([A-Z0-9_]+)`", row.split("|")[1])}
    assert alerting == set(ALERT_CODES)
