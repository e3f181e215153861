"""The coupon AIs (8110) and (8112) are read field by field, and a fault is named where it starts.

Values are built here from their fields (GS1 US coupon data structures, the Syntax Dictionary's
``couponcode`` and ``couponposoffer`` rules), so each case says which field it breaks.
"""

from __future__ import annotations

import datetime as dt

import pytest

from verinet.errors import IdentifierError
from verinet.identifiers import parse_hri

TODAY = dt.date(2026, 6, 30)

# (8110): GS1 Company Prefix (VLI 0 -> 6 digits), offer code, save value (VLI 2), first purchase
# requirement (VLI 1), its code and family code.
BASE = "0" + "614141" + "123456" + "2" + "75" + "1" + "1" + "0" + "123"
SECOND = "1" + "0" + "1" + "2" + "1" + "456" + "9"  # rules code, requirement, code, family, no GCP
THIRD = "2" + "1" + "3" + "4" + "789" + "0" + "614142"  # requirement, code, family, GCP
EXPIRES = "3" + "261231"
STARTS = "4" + "260101"
SERIAL = "5" + "0" + "000123"
RETAILER = "6" + "1" + "0614141"
MISC = "9" + "0" + "1" + "0" + "1"


def coupon(value: str) -> str:
    return parse_hri(f"(8110){value}", today=TODAY).ais["8110"]


def refused(text: str) -> IdentifierError:
    with pytest.raises(IdentifierError) as caught:
        parse_hri(text, today=TODAY)
    return caught.value


@pytest.mark.parametrize(
    "value",
    [
        BASE,
        BASE + SECOND,
        BASE + SECOND + THIRD,
        BASE + SECOND + EXPIRES + STARTS + SERIAL + RETAILER + MISC,
        BASE + EXPIRES + MISC,
        BASE + STARTS,
        BASE + SERIAL + RETAILER,
        "6" + "061414112345" + "123456" + "5" + "12345" + "5" + "99999" + "9" + "000",
    ],
    ids=["base", "second purchase", "third purchase", "every other part", "expiry and flags", "start date", "serial and retailer", "longest fields"],
)
def test_a_coupon_code_that_follows_the_structure_is_read(value: str) -> None:
    assert coupon(value) == value


@pytest.mark.parametrize(
    ("value", "position", "expected"),
    [
        (BASE[:5] + "A" + BASE[6:], 5, "only digits in coupon data, got 'A'"),
        ("7" + BASE[1:], 0, "a GS1 Company Prefix length indicator of 0, 1, 2, 3, 4, 5, 6, got '7'"),
        (BASE[:10], 7, "an offer code of 6 digits, got 3"),
        (BASE[:13] + "0" + BASE[14:], 13, "a save value length indicator of 1, 2, 3, 4, 5, got '0'"),
        (BASE[:18] + "5" + BASE[19:], 18, "a first purchase requirement code of 0, 1, 2, 3, 4, 9, got '5'"),
        (BASE + "1" + "4", 23, "an additional purchase rules code of 0, 1, 2, 3, got '4'"),
        (BASE + SECOND[:-1] + "7", 30, "a second purchase GS1 Company Prefix length indicator of 0, 1, 2, 3, 4, 5, 6, 9, got '7'"),
        (BASE + "3" + "261331", 23, "an expiration date with a month of 01-12, got 13"),
        (BASE + "3" + "260631" + "4" + "260101", 23, "an expiration date with a day of 01-30 for 2026-06, got 31"),
        (BASE + "3" + "260101" + "4" + "260102", 30, "a start date no later than the expiration date 2026-01-01, got 2026-01-02"),
        (BASE + STARTS + EXPIRES, 29, "the end of the coupon data, got 7 more digits"),
        (BASE + "6" + "8" + "0614141", 23, "a retailer GS1 Company Prefix or GLN length indicator of 1, 2, 3, 4, 5, 6, 7, got '8'"),
        (BASE + "9" + "3", 23, "a save value code of 0, 1, 2, 5, 6, got '3'"),
        (BASE + "9" + "012", 26, "a don't-multiply flag of 0, 1, got the end of the value"),
        (BASE + "8", 22, "the end of the coupon data, got 1 more digit"),
    ],
    ids=[
        "a letter", "company prefix length", "short offer code", "save value length", "requirement code",
        "rules code", "second company prefix length", "month 13", "31 June", "start after expiry",
        "parts out of order", "retailer length", "save value code", "cut-off flags", "unknown part",
    ],
)
def test_a_coupon_code_fault_is_named_where_it_starts(value: str, position: int, expected: str) -> None:
    error = refused(f"(8110){value}")
    assert error.code == "value.format"
    assert error.ai == "8110"
    assert error.position == 6 + position
    assert f"expected {expected} at position {6 + position}" in str(error)


PAPERLESS = "1" + "0" + "614141" + "123456" + "2" + "00000123"


def test_a_paperless_coupon_that_follows_the_structure_is_read() -> None:
    assert parse_hri(f"(8112){PAPERLESS}", today=TODAY).ais == {"8112": PAPERLESS}


@pytest.mark.parametrize(
    ("value", "position", "expected"),
    [
        ("2" + PAPERLESS[1:], 0, "a coupon format code of 0, 1, got '2'"),
        (PAPERLESS[:1] + "7" + PAPERLESS[2:], 1, "a funder ID length indicator of 0, 1, 2, 3, 4, 5, 6, got '7'"),
        (PAPERLESS[:-1], 15, "a serial number of 8 digits, got 7"),
        (PAPERLESS + "0", 23, "the end of the coupon data, got 1 more digit"),
    ],
    ids=["format code", "funder length", "short serial", "excess digit"],
)
def test_a_paperless_coupon_fault_is_named_where_it_starts(value: str, position: int, expected: str) -> None:
    error = refused(f"(8112){value}")
    assert (error.code, error.position) == ("value.format", 6 + position)
    assert f"expected {expected}" in str(error)


def test_a_package_type_must_be_on_the_code_list() -> None:
    sscc = "(00)095060001343520017"
    assert parse_hri(f"{sscc}(7041)BX", today=TODAY).ais["7041"] == "BX"
    assert parse_hri(f"{sscc}(7041)RB1", today=TODAY).ais["7041"] == "RB1"
    for wrong in ("0", "bx", "ZZZ"):
        error = refused(f"{sscc}(7041){wrong}")
        assert error.code == "value.format"
        assert f"expected a GS1 PackageTypeCode, got {wrong!r}" in str(error)


def test_a_cpid_is_one_to_thirty_characters_after_a_company_prefix() -> None:
    """The Syntax Dictionary writes (8010) as Y..30 with a 4-digit GS1 Company Prefix (gse
    dl.c test_dl_generateDLuri uses 0200); biip's own pattern asked for 5 characters."""
    assert parse_hri("(8010)0200", today=TODAY).ais == {"8010": "0200"}
    assert refused("(8010)020").code == "value.format"
    assert refused("(8010)" + "1234" + "A" * 27).code == "value.too_long"
