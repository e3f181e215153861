"""Every case of the shared GS1 test vectors (/work/shared/testdata/gs1), as the README defines.

Valid cases must give the same fields; invalid ones an IdentifierError. A case with an
``association_note`` may be rejected, but only with ``ai.association``, and then the same element
string after a GTIN must give the expected fields. ``as_of_year`` sets the current year.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from verinet import identifiers
from verinet.errors import IdentifierError

TESTDATA = Path(__file__).parents[3].parent / "shared" / "testdata" / "gs1"
if not TESTDATA.is_dir():
    raise FileNotFoundError(f"GS1 test vectors not found at {TESTDATA}: is /work/shared missing?")

# A GTIN to put in front of stand-alone date AIs (association_note cases).
CARRIER_GTIN = "09506000134352"


def load(name: str) -> list[Any]:
    cases = json.loads((TESTDATA / name).read_text(encoding="utf-8"))
    assert isinstance(cases, list) and cases, f"{name} holds no cases"
    stem = name.removesuffix(".json")
    return [
        pytest.param(case, id=f"{stem}-{i}-{case['input'][:40]!r}") for i, case in enumerate(cases)
    ]


def today_for(case: dict[str, Any]) -> dt.date | None:
    return dt.date(case["as_of_year"], 6, 30) if "as_of_year" in case else None


def reader_for(case: dict[str, Any]) -> Any:
    """The form-specific reader for the case's input_format; parse(), which detects the form,
    for scans and for any format the README does not name (a bare GTIN, say)."""
    return {
        "raw": identifiers.parse_element_string,
        "hri": identifiers.parse_hri,
        "dl": identifiers.parse_digital_link,
    }.get(case.get("input_format", ""), identifiers.parse)


def assert_matches(pi: identifiers.ProductIdentifier, expect: dict[str, Any]) -> None:
    assert pi.gtin == expect["gtin"]
    assert pi.serial == expect["serial"]
    assert pi.lot == expect["lot"]
    expiry = expect["expiry"]
    assert (pi.expiry_date.isoformat() if pi.expiry_date else None) == expiry
    if "symbology" in expect:
        assert pi.symbology == expect["symbology"]
    fields = (("01", "gtin"), ("10", "lot"), ("21", "serial"), ("17", "expiry"))
    expected_ais = {ai for ai, key in fields if expect[key]}
    for key, value in expect.items():
        if key.startswith("ai_") and key.endswith("_date"):
            ai = key[3:-5]
            assert pi.dates[ai].isoformat() == value
        elif key.startswith("ai_"):
            ai = key[3:]
            expected_ais.add(ai)
            assert pi.ais[ai] == value
    assert set(pi.ais) == expected_ais
    if "ignored_query_params" in expect:
        ignored = [k if v == "" else f"{k}={v}" for k, v in pi.extra_query.items()]
        assert ignored == expect["ignored_query_params"]


def with_carrier_gtin(case: dict[str, Any]) -> str:
    text: str = case["input"]
    if case.get("input_format") == "hri":
        return f"(01){CARRIER_GTIN}{text}"
    return f"01{CARRIER_GTIN}{text}"


@pytest.mark.parametrize("case", load("element_strings.json") + load("digital_link.json"))
def test_shared_vector_is_read_as_expected(case: dict[str, Any]) -> None:
    today = today_for(case)
    read = reader_for(case)
    if not case["valid"]:
        with pytest.raises(IdentifierError) as caught:
            read(case["input"], today=today)
        assert caught.value.code in identifiers.ERROR_CODES
        return
    expect = case["expect"]
    try:
        pi = read(case["input"], today=today)
    except IdentifierError as error:
        if "association_note" not in case:
            raise
        assert error.code == "ai.association", error
        pi = read(with_carrier_gtin(case), today=today)
        expect = {**expect, "gtin": CARRIER_GTIN}
    assert_matches(pi, expect)


@pytest.mark.parametrize("case", load("element_strings.json") + load("digital_link.json"))
def test_shared_vector_reads_the_same_through_form_detection(case: dict[str, Any]) -> None:
    """parse() must agree with the form-specific reader wherever the latter accepts the input."""
    today = today_for(case)
    try:
        expected = reader_for(case)(case["input"], today=today)
    except IdentifierError:
        if case.get("input_format") != "dl":  # a DL reader rejects a bare GTIN that parse() accepts
            with pytest.raises(IdentifierError):
                identifiers.parse(case["input"], today=today)
        return
    assert identifiers.parse(case["input"], today=today) == expected


# GS1 keys a check-digit vector may name, read as the AI that carries each (GLN and GTIN have
# their own validators). A kind not listed is held to the mod-10 check digit alone.
KEY_AIS = {
    "SSCC": "00",
    "GSIN": "402",
    "GSRN": "8018",
    "GSRNP": "8017",
    "GDTI": "253",
    "GCN": "255",
}


def assert_refused(read: Any, text: str, *prefixes: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        read(text)
    assert caught.value.code.startswith(prefixes), caught.value


@pytest.mark.parametrize("case", load("check_digits.json"))
def test_shared_check_digit_vector_is_validated_as_expected(case: dict[str, Any]) -> None:
    text, kind, valid = case["input"], case.get("type"), case["valid"]
    digits = text.isascii() and text.isdigit()
    if "expected_check_digit" in case and digits:
        assert identifiers.check_digit(text[:-1]) == case["expected_check_digit"]
    if kind == "GLN":
        if valid:
            assert identifiers.validate_gln(text) == text
        else:
            assert_refused(identifiers.validate_gln, text, "gln.")
    elif kind in KEY_AIS:
        ai = KEY_AIS[kind]
        if valid:
            assert identifiers.parse_hri(f"({ai}){text}").ais == {ai: text}
        else:
            assert_refused(identifiers.parse_hri, f"({ai}){text}", "value.")
    elif kind is None or kind.startswith("GTIN"):
        if valid:
            assert identifiers.validate_gtin(text) == text.zfill(14)
        else:
            assert_refused(identifiers.validate_gtin, text, "gtin.")
    else:
        assert digits or not valid
        assert (digits and identifiers.check_digit(text[:-1]) == int(text[-1])) == valid


def test_a_check_digit_vector_of_a_key_read_through_its_ai_fails_on_the_check_digit() -> None:
    """A wrong last digit of an SSCC is named as such, not as some other fault."""
    assert_refused(identifiers.parse_hri, "(00)123456789012345670", "value.check_digit")
