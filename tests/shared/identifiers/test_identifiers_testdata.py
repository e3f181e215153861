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
    """The form-specific reader for the case's input_format (parse() for scans)."""
    return {
        "raw": identifiers.parse_element_string,
        "scan": identifiers.parse,
        "hri": identifiers.parse_hri,
        "dl": identifiers.parse_digital_link,
        "dl-scan": identifiers.parse,
    }[case["input_format"]]


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
    if case["input_format"] == "hri":
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
        if case["input_format"] != "dl":  # a DL reader rejects a bare GTIN that parse() accepts
            with pytest.raises(IdentifierError):
                identifiers.parse(case["input"], today=today)
        return
    assert identifiers.parse(case["input"], today=today) == expected


@pytest.mark.parametrize("case", load("check_digits.json"))
def test_shared_check_digit_vector_is_validated_as_expected(case: dict[str, Any]) -> None:
    text, kind = case["input"], case["type"]
    digits = text.isascii() and text.isdigit()
    if "expected_check_digit" in case and digits:
        assert identifiers.check_digit(text[:-1]) == case["expected_check_digit"]
    if kind == "GLN":
        if case["valid"]:
            assert identifiers.validate_gln(text) == text
        else:
            with pytest.raises(IdentifierError) as caught:
                identifiers.validate_gln(text)
            assert caught.value.code.startswith("gln.")
    elif kind == "SSCC":
        if case["valid"]:
            assert identifiers.parse_hri(f"(00){text}").ais == {"00": text}
        else:
            with pytest.raises(IdentifierError) as caught:
                identifiers.parse_hri(f"(00){text}")
            assert caught.value.code == "value.check_digit"
    elif case["valid"]:
        assert identifiers.validate_gtin(text) == text.zfill(14)
    else:
        with pytest.raises(IdentifierError) as caught:
            identifiers.validate_gtin(text)
        assert caught.value.code.startswith("gtin.")
